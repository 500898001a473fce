//! The one error type of `poq-core`.
//!
//! Every variant carries the offending value, so a caller can print a message that
//! names exactly what was wrong without re-deriving it.

use crate::id::{EvaluatorId, NodeId, RoundId};
use thiserror::Error;

/// Everything that can go wrong in the pure core.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A metric was asked to score a prediction against no reference at all.
    #[error("no references given: at least one reference text is required")]
    NoReferences,
    /// A consensus rule was given no scores.
    #[error("no scores given: a consensus needs at least one score")]
    EmptyScores,
    /// A score is NaN or infinite.
    #[error("score #{index} is {value}: scores must be finite numbers in [0, 10]")]
    ScoreNotFinite {
        /// Position of the score in its list.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A score lies outside [0, 10].
    #[error("score #{index} is {value}: scores must lie in [0, 10]")]
    ScoreOutOfRange {
        /// Position of the score in its list.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A weight is not a finite positive number.
    #[error("weight #{index} is {value}: weights must be finite and > 0")]
    InvalidWeight {
        /// Position of the weight in its list.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Scores and weights differ in length.
    #[error("{scores} scores but {weights} weights: give one weight per score")]
    WeightCountMismatch {
        /// Number of scores.
        scores: usize,
        /// Number of weights.
        weights: usize,
    },
    /// A weighted rule was called without weights.
    #[error("rule {rule} needs weights, none were given")]
    MissingWeights {
        /// Name of the rule.
        rule: &'static str,
    },
    /// A configuration value is outside its allowed range.
    #[error("parameter {name} = {value} is invalid: {reason}")]
    InvalidParameter {
        /// Name of the parameter, as in configuration files.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// A committee of `k` cannot be drawn from a pool of `n`.
    #[error("cannot draw a committee of {k} from a pool of {n} evaluators (need 1 <= k <= n)")]
    CommitteeSize {
        /// Requested committee size.
        k: usize,
        /// Pool size.
        n: usize,
    },
    /// An evaluator id is outside the registered pool.
    #[error("evaluator {evaluator} is not registered (pool has {pool} evaluators)")]
    UnknownEvaluator {
        /// The evaluator id.
        evaluator: EvaluatorId,
        /// Pool size.
        pool: usize,
    },
    /// A committee lists the same evaluator twice.
    #[error("evaluator {evaluator} appears twice in the committee of {round}")]
    DuplicateMember {
        /// The evaluator id.
        evaluator: EvaluatorId,
        /// The round.
        round: RoundId,
    },
    /// A report came from an evaluator outside the round's committee.
    #[error("evaluator {evaluator} is not in the committee of {round}")]
    NotInCommittee {
        /// The evaluator id.
        evaluator: EvaluatorId,
        /// The round.
        round: RoundId,
    },
    /// An evaluator reported twice in one round.
    #[error("evaluator {evaluator} already reported in {round}")]
    DuplicateReport {
        /// The evaluator id.
        evaluator: EvaluatorId,
        /// The round.
        round: RoundId,
    },
    /// A report's score is NaN, infinite or outside [0, 10].
    #[error("evaluator {evaluator} reported score {value} in {round}: scores must be finite and in [0, 10]")]
    InvalidReport {
        /// The evaluator id.
        evaluator: EvaluatorId,
        /// The round.
        round: RoundId,
        /// The offending score.
        value: f64,
    },
    /// A cost is NaN, infinite or negative.
    #[error("cost {value} is invalid: costs must be finite and >= 0")]
    InvalidCost {
        /// The offending cost.
        value: f64,
    },
    /// Too few reports arrived to finalize the round.
    #[error("{round} has {got} reports but needs {need} to finalize")]
    QuorumNotReached {
        /// The round.
        round: RoundId,
        /// Reports received.
        got: usize,
        /// Reports required.
        need: usize,
    },
    /// The round was already closed (finalized or expired): it takes no more reports and
    /// pays only once.
    #[error("{round} is already closed (finalized or expired)")]
    RoundClosed {
        /// The round.
        round: RoundId,
    },
    /// A scorer could not score an item (a model failed, a judge's reply had no grade).
    #[error("scorer {scorer} failed: {source}")]
    ScorerFailed {
        /// The scorer's name.
        scorer: String,
        /// What went wrong, naming the offending value; shared so that the error stays
        /// `Clone`, and exposed as the error's source so that its chain can be walked.
        #[source]
        source: std::sync::Arc<dyn std::error::Error + Send + Sync>,
    },
    /// An inference node id is not registered.
    #[error("{node} is not registered ({nodes} inference nodes)")]
    UnknownNode {
        /// The node id.
        node: NodeId,
        /// Registered inference nodes.
        nodes: usize,
    },
    /// No open round has this id (never opened, or already finalized or expired).
    #[error("{round} is not open")]
    UnknownRound {
        /// The round.
        round: RoundId,
    },
    /// A round that reached its quorum must be finalized, not expired.
    #[error("{round} has {got} reports, reaching its quorum of {need}: finalize it instead of expiring it")]
    QuorumReached {
        /// The round.
        round: RoundId,
        /// Reports received.
        got: usize,
        /// Reports required.
        need: usize,
    },
    /// A gold truth was revealed for a round that is not awaiting one: never
    /// finalized, already revealed, or older than the reveal window.
    #[error("{round} cannot be revealed: it is not among the last {window} finalized rounds awaiting a truth")]
    NotRevealable {
        /// The round.
        round: RoundId,
        /// The reveal window (finalized rounds kept).
        window: usize,
    },
    /// A revealed gold truth is not a score.
    #[error("the truth revealed for {round} is {value}: a truth must be a finite score in [0, 10]")]
    InvalidTruth {
        /// The round.
        round: RoundId,
        /// The value given.
        value: f64,
    },
    /// The trust policy tracks a different number of evaluators than the registry holds.
    #[error("the trust policy tracks {trust} evaluators but {registered} are registered")]
    PoolMismatch {
        /// Evaluators the trust policy tracks.
        trust: usize,
        /// Evaluators registered.
        registered: usize,
    },
    /// An evaluator registered for no task.
    #[error("evaluator registration #{index} names no task: an evaluator must score at least one task")]
    NoTasks {
        /// Position of the registration.
        index: usize,
    },
    /// A snapshot does not describe a consistent protocol state.
    #[error("invalid snapshot: {reason}")]
    InvalidSnapshot {
        /// What is inconsistent, naming the offending value.
        reason: String,
    },
    /// A name (rule, policy, attack) is not known.
    #[error("unknown {kind} {name:?}; expected one of: {expected}")]
    UnknownName {
        /// What kind of name it is ("rule", "trust policy", "attack").
        kind: &'static str,
        /// The name as given.
        name: String,
        /// The accepted names, comma separated.
        expected: &'static str,
    },
}

/// Result alias for the core.
pub type Result<T> = std::result::Result<T, CoreError>;

/// Equality as a derive would give it, except that [`CoreError::ScorerFailed`] compares
/// its source by message (a `dyn Error` has no equality of its own). The match on `self`
/// has no catch-all, so a new variant cannot be forgotten here.
impl PartialEq for CoreError {
    fn eq(&self, other: &Self) -> bool {
        use CoreError as E;
        match self {
            E::NoReferences => matches!(other, E::NoReferences),
            E::EmptyScores => matches!(other, E::EmptyScores),
            E::ScoreNotFinite { index, value } => {
                matches!(other, E::ScoreNotFinite { index: i, value: v } if i == index && v == value)
            }
            E::ScoreOutOfRange { index, value } => {
                matches!(other, E::ScoreOutOfRange { index: i, value: v } if i == index && v == value)
            }
            E::InvalidWeight { index, value } => {
                matches!(other, E::InvalidWeight { index: i, value: v } if i == index && v == value)
            }
            E::WeightCountMismatch { scores, weights } => {
                matches!(other, E::WeightCountMismatch { scores: s, weights: w } if s == scores && w == weights)
            }
            E::MissingWeights { rule } => matches!(other, E::MissingWeights { rule: r } if r == rule),
            E::InvalidParameter { name, value, reason } => matches!(
                other,
                E::InvalidParameter { name: n, value: v, reason: r } if n == name && v == value && r == reason
            ),
            E::CommitteeSize { k, n } => matches!(other, E::CommitteeSize { k: k2, n: n2 } if k2 == k && n2 == n),
            E::UnknownEvaluator { evaluator, pool } => {
                matches!(other, E::UnknownEvaluator { evaluator: e, pool: p } if e == evaluator && p == pool)
            }
            E::DuplicateMember { evaluator, round } => {
                matches!(other, E::DuplicateMember { evaluator: e, round: r } if e == evaluator && r == round)
            }
            E::NotInCommittee { evaluator, round } => {
                matches!(other, E::NotInCommittee { evaluator: e, round: r } if e == evaluator && r == round)
            }
            E::DuplicateReport { evaluator, round } => {
                matches!(other, E::DuplicateReport { evaluator: e, round: r } if e == evaluator && r == round)
            }
            E::InvalidReport {
                evaluator,
                round,
                value,
            } => matches!(
                other,
                E::InvalidReport { evaluator: e, round: r, value: v } if e == evaluator && r == round && v == value
            ),
            E::InvalidCost { value } => matches!(other, E::InvalidCost { value: v } if v == value),
            E::QuorumNotReached { round, got, need } => matches!(
                other,
                E::QuorumNotReached { round: r, got: g, need: n } if r == round && g == got && n == need
            ),
            E::RoundClosed { round } => matches!(other, E::RoundClosed { round: r } if r == round),
            E::NotRevealable { round, window } => {
                matches!(other, E::NotRevealable { round: r, window: w } if r == round && w == window)
            }
            E::InvalidTruth { round, value } => {
                matches!(other, E::InvalidTruth { round: r, value: v } if r == round && v == value)
            }
            E::UnknownNode { node, nodes } => {
                matches!(other, E::UnknownNode { node: n, nodes: c } if n == node && c == nodes)
            }
            E::UnknownRound { round } => matches!(other, E::UnknownRound { round: r } if r == round),
            E::QuorumReached { round, got, need } => matches!(
                other,
                E::QuorumReached { round: r, got: g, need: n } if r == round && g == got && n == need
            ),
            E::PoolMismatch { trust, registered } => {
                matches!(other, E::PoolMismatch { trust: t, registered: g } if t == trust && g == registered)
            }
            E::NoTasks { index } => matches!(other, E::NoTasks { index: i } if i == index),
            E::InvalidSnapshot { reason } => matches!(other, E::InvalidSnapshot { reason: r } if r == reason),
            E::ScorerFailed { scorer, source } => matches!(
                other,
                E::ScorerFailed { scorer: s, source: src } if s == scorer && src.to_string() == source.to_string()
            ),
            E::UnknownName { kind, name, expected } => matches!(
                other,
                E::UnknownName { kind: k, name: n, expected: x } if k == kind && n == name && x == expected
            ),
        }
    }
}
