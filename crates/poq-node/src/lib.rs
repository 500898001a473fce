//! A poq network node.
//!
//! - [`config`], [`files`], [`init`], [`run`]: `poq node init` and `poq node run`.
//! - [`bench`]: rounds per second and round latency of a real loopback network.
//! - [`app`]: the validator's application (store and mempool) behind the engine.
//! - [`engine`]: the BFT engine (commonware simplex and marshal), the only module that
//!   uses commonware.
//! - [`store`]: the durable ledger (redb), one atomic write per finalized block.
//! - [`testnet`]: a whole network's genesis and keys from one seed.
//! - [`workload`]: synthetic participants (gateway, inference nodes, evaluators, some
//!   Byzantine) for the simulation, the crash loop and the benchmark.
//! - [`simulation`]: a whole network in one thread on the deterministic runtime, with
//!   seeded faults.
//! - [`mempool`]: transactions waiting for a block, admitted by the ledger's own check.
//! - [`error`]: the node's errors.

pub mod app;
pub mod bench;
pub mod config;
pub mod engine;
pub mod error;
pub mod files;
pub mod init;
pub mod mempool;
pub mod run;
pub mod simulation;
pub mod store;
pub mod testnet;
pub mod workload;

pub use error::{NodeError, Result};
pub use store::Store;
