//! The one error type of `poq-core`.
//!
//! Every variant carries the offending value, so a caller can print a message that
//! names exactly what was wrong without re-deriving it.

use crate::id::{EvaluatorId, NodeId, RoundId};
use thiserror::Error;

/// Everything that can go wrong in the pure core.
#[derive(Debug, Clone, PartialEq, Error)]
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
    #[error("scorer {scorer} failed: {reason}")]
    ScorerFailed {
        /// The scorer's name.
        scorer: String,
        /// What went wrong, with the offending value.
        reason: String,
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
