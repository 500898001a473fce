//! A transaction's kind.

use serde::{Deserialize, Serialize};

/// A transaction's kind (its tag on the wire and in the signed message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// [`Body::Register`].
    Register = 0,
    /// [`Body::Submit`].
    Submit = 1,
    /// [`Body::Commit`].
    Commit = 2,
    /// [`Body::Reveal`].
    Reveal = 3,
    /// [`Body::RevealReference`].
    RevealReference = 4,
    /// [`Body::Transfer`].
    Transfer = 5,
    /// [`Body::Unbond`].
    Unbond = 6,
}

impl Kind {
    /// The kind of a wire tag.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => Kind::Register,
            1 => Kind::Submit,
            2 => Kind::Commit,
            3 => Kind::Reveal,
            4 => Kind::RevealReference,
            5 => Kind::Transfer,
            6 => Kind::Unbond,
            _ => return None,
        })
    }
}
