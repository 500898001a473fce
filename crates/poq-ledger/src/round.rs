//! A round as the ledger holds it: by block heights, with its commits and reveals.
//!
//! ```text
//!  Submit at h ──► draw at end of block h+k (seed: that block's digest and the round id)
//!       commits in (h+k, h+k+C] ──► reveals from the block after the last commit, or
//!       after h+k+C, for R blocks ──► closed at the end of the reveal window's last
//!       block, or as soon as every committed member has revealed
//! ```
//!
//! Reveals never overlap commits: a member who could read others' scores before
//! committing could copy them.

use crate::digest::Hash;
use crate::key::PublicKey;
use crate::tx::Receipt;
use poq_core::{EvaluatorId, RoundId};
use serde::{Deserialize, Serialize};

/// One revealed report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revealed {
    /// The score in [0, 10].
    pub score: f64,
    /// The evaluator's raw cost.
    pub cost: f64,
}

/// A round between its submission and its close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerRound {
    /// Its id (equal to the protocol's).
    pub id: RoundId,
    /// The gateway that submitted it and paid the fee.
    pub gateway: PublicKey,
    /// The inference node's receipt.
    pub receipt: Receipt,
    /// For a spot-check round, the commitment to its reference answer.
    pub reference: Option<Hash>,
    /// The height it was submitted at.
    pub submitted: u64,
    /// The fee held for it.
    pub fee: u64,
    /// The treasury's reserve held for its payouts.
    pub reserve: u64,
    /// The committee is drawn at the end of this block.
    pub draw_at: u64,
    /// The committee, in the protocol's order (empty until drawn).
    pub committee: Vec<EvaluatorId>,
    /// The committee's keys, in the same order.
    pub members: Vec<PublicKey>,
    /// The last height that accepts commits.
    pub commit_until: u64,
    /// The first height that accepts reveals.
    pub reveal_from: u64,
    /// The last height that accepts reveals.
    pub reveal_until: u64,
    /// Commitments, by committee position.
    pub commits: Vec<Option<Hash>>,
    /// Reveals, by committee position.
    pub reveals: Vec<Option<Revealed>>,
}

impl LedgerRound {
    /// Whether the committee has been drawn.
    pub fn drawn(&self) -> bool {
        !self.members.is_empty()
    }

    /// The committee position of `key`.
    pub fn position(&self, key: &PublicKey) -> Option<usize> {
        self.members.iter().position(|m| m == key)
    }

    /// Whether a commit at `height` is inside the commit window.
    pub fn accepts_commit(&self, height: u64) -> bool {
        self.drawn() && height > self.draw_at && height <= self.commit_until && height < self.reveal_from
    }

    /// Whether a reveal at `height` is inside the reveal window.
    pub fn accepts_reveal(&self, height: u64) -> bool {
        self.drawn() && height >= self.reveal_from && height <= self.reveal_until
    }

    /// Commits received.
    pub fn committed(&self) -> usize {
        self.commits.iter().filter(|c| c.is_some()).count()
    }

    /// Reveals received.
    pub fn revealed(&self) -> usize {
        self.reveals.iter().filter(|r| r.is_some()).count()
    }

    /// Whether the round closes at the end of block `height`.
    pub fn closes_at(&self, height: u64) -> bool {
        self.drawn()
            && (height >= self.reveal_until || (height >= self.reveal_from && self.revealed() == self.committed()))
    }
}
