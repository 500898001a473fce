//! What applying a block did: the effects a node stores and serves.

use crate::digest::Hash;
use crate::error::Rejection;
use crate::key::PublicKey;
use poq_core::round::{Expiry, Outcome};
use poq_core::{EvaluatorId, NodeId, RoundId};
use serde::{Deserialize, Serialize};

/// One effect of a block, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// A key registered.
    Registered {
        /// The key.
        key: PublicKey,
        /// Its evaluator id, if it evaluates.
        evaluator: Option<EvaluatorId>,
        /// Its inference node id, if it answers.
        node: Option<NodeId>,
    },
    /// Micro-units moved between accounts.
    Transferred {
        /// The payer.
        from: PublicKey,
        /// The recipient.
        to: PublicKey,
        /// Micro-units.
        amount: u64,
    },
    /// A bond was released.
    Unbonded {
        /// The key.
        key: PublicKey,
        /// Micro-units.
        amount: u64,
    },
    /// A round was submitted; its committee is drawn at the end of block `draw_at`.
    Submitted {
        /// The round.
        round: RoundId,
        /// The gateway.
        gateway: PublicKey,
        /// The inference node.
        node: PublicKey,
        /// The draw height.
        draw_at: u64,
    },
    /// A round's committee was drawn.
    Drawn {
        /// The round.
        round: RoundId,
        /// The seed's beacon (the digest of the block it was drawn at).
        beacon: Hash,
        /// The members, in committee order.
        members: Vec<PublicKey>,
        /// The last commit height.
        commit_until: u64,
        /// The last reveal height.
        reveal_until: u64,
    },
    /// A member committed.
    Committed {
        /// The round.
        round: RoundId,
        /// The member.
        evaluator: PublicKey,
    },
    /// Every member committed: reveals open at `reveal_from`.
    CommitsComplete {
        /// The round.
        round: RoundId,
        /// The first reveal height.
        reveal_from: u64,
        /// The last reveal height.
        reveal_until: u64,
    },
    /// A member revealed.
    Revealed {
        /// The round.
        round: RoundId,
        /// The member.
        evaluator: PublicKey,
        /// Its score.
        score: f64,
        /// Its cost.
        cost: f64,
    },
    /// A round finalized; `payouts` are the balance changes in micro-units.
    Finalized {
        /// The protocol's outcome.
        outcome: Outcome,
        /// (key, micro-units) per node paid or slashed, in outcome order.
        payouts: Vec<(PublicKey, i64)>,
    },
    /// A round expired below its quorum; the fee went back to the gateway.
    Expired {
        /// The protocol's expiry.
        expiry: Expiry,
        /// (key, micro-units) per member slashed (empty unless slashing is on).
        payouts: Vec<(PublicKey, i64)>,
    },
    /// A spot-check round's reference answer, verified against its commitment.
    ReferenceRevealed {
        /// The round.
        round: RoundId,
        /// The reference answer.
        reference: String,
    },
    /// A spot-check round's reference was not revealed in time.
    ReferenceWithheld {
        /// The round.
        round: RoundId,
        /// The gateway that should have revealed it.
        gateway: PublicKey,
    },
}

/// A transaction the block carried that the ledger rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// Its position in the block.
    pub index: usize,
    /// Its hash (of the wire bytes as carried).
    pub tx: Hash,
    /// Why.
    pub rejection: Rejection,
}

/// The result of applying one block.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The block's height.
    pub height: u64,
    /// The block's digest.
    pub block: Hash,
    /// The state digest after it, chained over the previous one.
    pub digest: Hash,
    /// What happened, in order.
    pub events: Vec<Event>,
    /// What was rejected, in block order.
    pub rejected: Vec<Rejected>,
}
