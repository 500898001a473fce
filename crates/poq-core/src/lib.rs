//! # poq-core: the pure Proof-of-Quality core
//!
//! Everything a round of cost-aware, adversary-robust Proof of Quality needs, as pure
//! functions and one state machine, with no IO, no clock, no async runtime and no global
//! random source:
//!
//! - [`metrics`]: ground-truth proxies (SQuAD v1.1 EM and token F1, ROUGE-1/2/L/Lsum),
//!   bit-compatible with the Python references;
//! - [`aggregate`]: the consensus rules (mean, median, trimmed mean, weighted mean,
//!   weighted median), each with its breakdown point;
//! - [`trust`]: trust policies behind one trait: the published multiplicative rule,
//!   reproduced with its flaw, ours, the CRH and CATD truth-discovery baselines, and
//!   gold-anchored competence learned from revealed spot-checks;
//! - [`record`]: the logged record format shared by collection, replay and audits;
//! - [`reward`]: linear quality-minus-cost rewards for inference and evaluator nodes
//!   (formulas only; balances live in [`protocol::RewardBook`]);
//! - [`committee`]: K-of-N committee sampling from a 32-byte seed with a generator
//!   implemented here ([`rng`]), so committees are identical on every platform;
//! - [`attack`]: the nine malicious-evaluator behaviours as pure transforms;
//! - [`round`]: the round state machine: reports in, an [`round::Outcome`] out;
//! - [`protocol`]: the one owner of everything between rounds (registry, trust state,
//!   reward book, public history, committee seeds, open rounds, finalized rounds awaiting
//!   a gold truth), with snapshots and a canonical state digest; the simulator and the
//!   node drive it alike;
//! - [`scorer`]: the [`scorer::Scorer`] trait every evaluator implements, and the
//!   lexical scorers;
//! - [`stats`]: correlation, error and detection AUC for alignment reports.
//!
//! ## Design decisions
//!
//! - **Time is a round number, randomness an argument.** Functions that draw take
//!   `&mut impl Rng`; the simulator and the node seed them. The same seed gives the same
//!   bytes on every platform and thread count.
//! - **One owner between rounds.** A [`round::Round`] knows one round; a
//!   [`protocol::Protocol`] opens every round, feeds trust, books rewards and keeps the
//!   history. Nothing else decides trust or pays, so a simulator and a node that feed
//!   it the same inputs reach the same state, bit for bit ([`protocol::Protocol::state_digest`]).
//! - **Evaluators are dense indices** ([`EvaluatorId`]) into a registered pool, and all
//!   per-evaluator state lives in `Vec`s: no hash-map iteration order can leak into a
//!   result.
//! - **Bad input is an error, never a clamp.** Scores must be finite and in [0, 10];
//!   weights finite and positive; every rejection names the offending value
//!   ([`CoreError`]).
//! - **Floating-point operation order is fixed** where a reference implementation
//!   defines it (the metrics), so results match bit for bit.

// Library and binary code never unwraps; tests may.
#![deny(clippy::unwrap_used)]

pub mod aggregate;
pub mod attack;
pub mod committee;
pub mod encoding;
pub mod error;
pub mod id;
pub mod metrics;
pub mod params;
pub mod protocol;
pub mod record;
pub mod reward;
pub mod rng;
pub mod round;
pub mod scorer;
pub mod stats;
pub mod task;
pub mod trust;

pub use error::{CoreError, Result};
pub use id::{EvaluatorId, NodeId, RoundId};
pub use task::Task;

/// The lowest score an evaluator may report.
pub const SCORE_MIN: f64 = 0.0;
/// The highest score an evaluator may report.
pub const SCORE_MAX: f64 = 10.0;
