//! Identities: evaluators, inference nodes and rounds as distinct types, so an
//! evaluator id can never be passed where a round id is expected.
//!
//! Evaluators and inference nodes are dense indices into the protocol's registry (0..N,
//! in registration order): all per-node state lives in `Vec`s indexed by them, so no
//! hash-map iteration order can reach a result.

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident($inner:ty), $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The id as an index into per-node `Vec`s.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl From<$inner> for $name {
            fn from(v: $inner) -> Self {
                Self(v)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id!(
    /// A registered evaluator: its index in the pool (0..N).
    EvaluatorId(u32),
    "e"
);
id!(
    /// A registered inference node: its index among the inference nodes.
    NodeId(u32),
    "node "
);
id!(
    /// A round, numbered from 0 in the order the protocol opened them.
    RoundId(u64),
    "round "
);
