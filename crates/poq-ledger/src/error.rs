//! Errors: a malformed encoding, a rejected transaction, a block or genesis that cannot
//! apply.
//!
//! A rejected transaction ([`Rejection`]) is an ordinary outcome, not a failure: the
//! block it came in still applies, the rejection is counted by its [`Reason`] and the
//! state is exactly as if the transaction had not been there. A [`LedgerError`] is a
//! block (or genesis) that cannot apply at all, with the state unchanged.

use crate::digest::Hash;
use crate::key::PublicKey;
use crate::kind::Kind;
use poq_core::{CoreError, RoundId, Task};
use serde::{Deserialize, Serialize};

/// A byte string that is not the canonical encoding of a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// It ended early.
    #[error("{what} at byte {offset}: needs {need} bytes, {have} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes left.
        have: usize,
    },
    /// A length above its limit.
    #[error("{what} is {len} long, the limit is {max}")]
    TooLong {
        /// The field.
        what: &'static str,
        /// Its declared length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A tag (or boolean) out of range.
    #[error("{what} has tag {tag}, which no value has")]
    BadTag {
        /// The field.
        what: &'static str,
        /// The tag read.
        tag: u8,
    },
    /// A string that is not UTF-8.
    #[error("{what} is not UTF-8")]
    NotUtf8 {
        /// The field.
        what: &'static str,
    },
    /// A value with more than one encoding, in a non-canonical one.
    #[error("{what} is not in canonical form")]
    NotCanonical {
        /// The field and the rule.
        what: &'static str,
    },
    /// Bytes after the value.
    #[error("{extra} bytes after the end of the value")]
    Trailing {
        /// How many.
        extra: usize,
    },
}

/// Why a transaction was rejected, without its details: what the ledger counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reason {
    /// Not a canonical encoding.
    Malformed,
    /// A field over its size limit.
    Oversized,
    /// The signature (or the receipt's) does not verify.
    BadSignature,
    /// The signer (or the receipt's node) has no account or lacks the role.
    UnknownKey,
    /// Seen before (same transaction or same receipt).
    Replayed,
    /// Past its expiry height, or an expiry too far ahead.
    Expired,
    /// A registration that cannot be accepted.
    BadRegistration,
    /// A balance, bond or treasury too small, or an amount of zero.
    Funds,
    /// A submission that cannot open a round.
    BadSubmission,
    /// A round that does not exist or is not in the phase the transaction needs.
    WrongPhase,
    /// From a key not on the round's committee.
    NotMember,
    /// A second commit, reveal or reference for the same round and key.
    Duplicate,
    /// A reveal (or reference) that does not match its commitment.
    Mismatch,
    /// A score or cost out of range.
    OutOfRange,
}

impl Reason {
    /// Every reason, in order.
    pub const ALL: [Reason; 14] = [
        Reason::Malformed,
        Reason::Oversized,
        Reason::BadSignature,
        Reason::UnknownKey,
        Reason::Replayed,
        Reason::Expired,
        Reason::BadRegistration,
        Reason::Funds,
        Reason::BadSubmission,
        Reason::WrongPhase,
        Reason::NotMember,
        Reason::Duplicate,
        Reason::Mismatch,
        Reason::OutOfRange,
    ];

    /// The name metrics and logs use.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::Oversized => "oversized",
            Reason::BadSignature => "bad-signature",
            Reason::UnknownKey => "unknown-key",
            Reason::Replayed => "replayed",
            Reason::Expired => "expired",
            Reason::BadRegistration => "bad-registration",
            Reason::Funds => "funds",
            Reason::BadSubmission => "bad-submission",
            Reason::WrongPhase => "wrong-phase",
            Reason::NotMember => "not-member",
            Reason::Duplicate => "duplicate",
            Reason::Mismatch => "mismatch",
            Reason::OutOfRange => "out-of-range",
        }
    }
}

/// A rejected transaction, with the values that made it so.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Not a canonical encoding.
    #[error("malformed transaction: {0}")]
    Malformed(DecodeError),
    /// The signature does not verify on this network.
    #[error("bad signature on {kind:?} transaction {tx} by {signer}")]
    BadSignature {
        /// The transaction.
        tx: Hash,
        /// Its kind.
        kind: Kind,
        /// The claimed signer.
        signer: PublicKey,
    },
    /// The receipt's signature does not verify.
    #[error("bad receipt signature by inference node {node}")]
    BadReceiptSignature {
        /// The claimed node.
        node: PublicKey,
    },
    /// The key has no account, or not the role the transaction needs.
    #[error("{key} is not registered as {role}")]
    UnknownKey {
        /// The key.
        key: PublicKey,
        /// The role needed ("an account", "a gateway", "an inference node").
        role: &'static str,
    },
    /// The same transaction (or receipt) was already applied.
    #[error("{what} {hash} was already applied")]
    Replayed {
        /// "transaction" or "receipt".
        what: &'static str,
        /// Its hash.
        hash: Hash,
    },
    /// Past its expiry height.
    #[error("expired at height {expires}, this block is {height}")]
    Expired {
        /// The expiry height.
        expires: u64,
        /// The block's height.
        height: u64,
    },
    /// An expiry further ahead than the genesis allows.
    #[error("expiry {expires} is more than {max_ttl} blocks after height {height}")]
    TtlTooLong {
        /// The expiry height.
        expires: u64,
        /// The block's height.
        height: u64,
        /// The genesis' limit.
        max_ttl: u64,
    },
    /// The key is registered already.
    #[error("{key} is already registered")]
    AlreadyRegistered {
        /// The key.
        key: PublicKey,
    },
    /// A registration with no role, an empty name or no tasks.
    #[error("registration of {key}: {reason}")]
    BadRegistration {
        /// The key.
        key: PublicKey,
        /// What is wrong.
        reason: &'static str,
    },
    /// A bond below the genesis minimum for the roles.
    #[error("bond {bond} is below the minimum {min} for these roles")]
    BondTooSmall {
        /// The bond offered (or left after unbonding).
        bond: u64,
        /// The minimum.
        min: u64,
    },
    /// The signer's balance (or bond) does not cover the amount.
    #[error("{key} has {have} micro-units, needs {need}")]
    InsufficientFunds {
        /// The key.
        key: PublicKey,
        /// What it needs.
        need: u64,
        /// What it has.
        have: i64,
    },
    /// The treasury cannot reserve a round's largest payout.
    #[error("the treasury has {have} micro-units free, a round reserves {need}")]
    TreasuryShort {
        /// The reserve.
        need: u64,
        /// What is free.
        have: u64,
    },
    /// An amount of zero, or a transfer to oneself.
    #[error("invalid amount {amount}: {reason}")]
    InvalidAmount {
        /// The amount.
        amount: u64,
        /// Why.
        reason: &'static str,
    },
    /// The receipt's model is not the one the node registered.
    #[error("receipt names model {receipt:?}, {node} registered {registered:?}")]
    ModelMismatch {
        /// The node.
        node: PublicKey,
        /// Its registered model.
        registered: String,
        /// The receipt's.
        receipt: String,
    },
    /// Fewer evaluators registered for the task than a committee seats.
    #[error("{eligible} evaluators are registered for {task}, a committee seats {committee}")]
    NotEnoughEvaluators {
        /// The task.
        task: Task,
        /// Registered for it.
        eligible: usize,
        /// K.
        committee: usize,
    },
    /// No such round.
    #[error("{round} does not exist")]
    UnknownRound {
        /// The round.
        round: RoundId,
    },
    /// The round closed already.
    #[error("{round} has closed")]
    RoundClosed {
        /// The round.
        round: RoundId,
    },
    /// The round is not in the phase the transaction needs.
    #[error("{round}: a {kind:?} at height {height} is outside its window ({window})")]
    WrongPhase {
        /// The round.
        round: RoundId,
        /// The transaction's kind.
        kind: Kind,
        /// The block's height.
        height: u64,
        /// The window, in words with heights.
        window: String,
    },
    /// The signer is not on the round's committee.
    #[error("{key} is not on the committee of {round}")]
    NotMember {
        /// The round.
        round: RoundId,
        /// The key.
        key: PublicKey,
    },
    /// A second commit, reveal or reference.
    #[error("{key} already sent a {kind:?} for {round}")]
    Duplicate {
        /// The round.
        round: RoundId,
        /// The key.
        key: PublicKey,
        /// The kind.
        kind: Kind,
    },
    /// A reveal without a commit.
    #[error("{key} reveals for {round} without having committed")]
    NoCommit {
        /// The round.
        round: RoundId,
        /// The key.
        key: PublicKey,
    },
    /// A reveal (or reference) that does not hash to its commitment.
    #[error("{key}'s {kind:?} for {round} does not match its commitment")]
    Mismatch {
        /// The round.
        round: RoundId,
        /// The key.
        key: PublicKey,
        /// The kind.
        kind: Kind,
    },
    /// A score that is not finite or not in [0, 10].
    #[error("score {score} is not a finite number in [0, 10]")]
    ScoreOutOfRange {
        /// The score.
        score: f64,
    },
    /// A cost that is not finite or negative.
    #[error("{what} {cost} is not a finite number ≥ 0")]
    CostOutOfRange {
        /// "evaluator cost" or "inference cost".
        what: &'static str,
        /// The cost.
        cost: f64,
    },
}

impl Rejection {
    /// The counted reason.
    pub fn reason(&self) -> Reason {
        match self {
            Rejection::Malformed(DecodeError::TooLong { .. }) => Reason::Oversized,
            Rejection::Malformed(_) => Reason::Malformed,
            Rejection::BadSignature { .. } | Rejection::BadReceiptSignature { .. } => Reason::BadSignature,
            Rejection::UnknownKey { .. } => Reason::UnknownKey,
            Rejection::Replayed { .. } => Reason::Replayed,
            Rejection::Expired { .. } | Rejection::TtlTooLong { .. } => Reason::Expired,
            Rejection::AlreadyRegistered { .. } | Rejection::BadRegistration { .. } => Reason::BadRegistration,
            Rejection::BondTooSmall { .. }
            | Rejection::InsufficientFunds { .. }
            | Rejection::TreasuryShort { .. }
            | Rejection::InvalidAmount { .. } => Reason::Funds,
            Rejection::ModelMismatch { .. } | Rejection::NotEnoughEvaluators { .. } => Reason::BadSubmission,
            Rejection::UnknownRound { .. }
            | Rejection::RoundClosed { .. }
            | Rejection::WrongPhase { .. }
            | Rejection::NoCommit { .. } => Reason::WrongPhase,
            Rejection::NotMember { .. } => Reason::NotMember,
            Rejection::Duplicate { .. } => Reason::Duplicate,
            Rejection::Mismatch { .. } => Reason::Mismatch,
            Rejection::ScoreOutOfRange { .. } | Rejection::CostOutOfRange { .. } => Reason::OutOfRange,
        }
    }
}

/// A block or genesis that cannot apply (the state is unchanged).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// A block that is not the next height.
    #[error("block at height {got}, the ledger expects {expected}")]
    HeightGap {
        /// The next height.
        expected: u64,
        /// The block's.
        got: u64,
    },
    /// A block whose parent is not the last applied block.
    #[error("block {height} names parent {got}, the last applied block is {expected}")]
    ParentMismatch {
        /// The block's height.
        height: u64,
        /// The last applied block's digest.
        expected: Hash,
        /// The block's parent.
        got: Hash,
    },
    /// A block over [`crate::limits::MAX_BLOCK_TXS`] or [`crate::limits::MAX_BLOCK_BYTES`].
    #[error(
        "block {height} carries {count} transactions in {bytes} bytes, the limits are {} and {}",
        crate::limits::MAX_BLOCK_TXS,
        crate::limits::MAX_BLOCK_BYTES
    )]
    TooLarge {
        /// The block's height.
        height: u64,
        /// Its transactions.
        count: usize,
        /// Its encoded size.
        bytes: usize,
    },
    /// An invalid genesis value.
    #[error("genesis: {field} = {value}: {reason}")]
    Genesis {
        /// The field.
        field: &'static str,
        /// Its value, as written.
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The protocol refused a value (in genesis or a restored state).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A restored state that breaks an invariant.
    #[error("invalid ledger state: {reason}")]
    InvalidState {
        /// The invariant and the values.
        reason: String,
    },
}
