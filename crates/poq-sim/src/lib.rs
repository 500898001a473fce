//! # poq-sim: the Proof-of-Quality simulator
//!
//! Reproduces the published Proof-of-Quality experiments and extends them, driving every
//! round through `poq_core::protocol::Protocol`, the same state machine a node runs: the
//! protocol draws committees, updates trust and pays; the simulator only supplies the
//! world (answers and honest scores), the attackers and the statistics.
//!
//! - [`scenario`]: every parameter in a TOML file with documented defaults;
//! - [`world`]: where rounds come from: a synthetic world ([`world::SyntheticWorld`]) or
//!   logged real records ([`replay::ReplayWorld`]);
//! - [`cell`]: one Monte Carlo cell (attack × ρ × K × defense × missing-report rule ×
//!   reward scaling), paired across defenses; [`play`]: its round loop, through
//!   `poq_core::protocol::Protocol`; [`defense`]: the named rule + trust pairs;
//! - [`sweep`]: the grid of cells, in parallel, deterministic for any thread count;
//! - [`experiment`]: one experiment per published figure and table, each computed into
//!   a typed, serializable result ([`experiment::rewards::RewardsResult`], …);
//! - [`report`]: the results as files: CSV, PNG figures ([`report::plot`], also reachable
//!   as [`plot`]), `report.md` and `results.json`;
//! - [`audit`]: evaluator reliability and model quality against latency, from logs.
//!
//! Determinism: every random stream is derived from the scenario's seed and a label
//! naming what it drives (`world/<rep>/<K>`, `beacon/<rep>/<K>`, `attack/...`), never from thread identity
//! or run order, and results are collected in grid order.

// Library code never unwraps; tests may.
#![deny(clippy::unwrap_used)]

pub mod audit;
pub mod cell;
pub mod defense;
pub mod error;
pub mod experiment;
pub mod play;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod sweep;
pub mod world;

pub use error::{Result, SimError};
pub use report::plot;
