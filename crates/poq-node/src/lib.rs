//! A poq network node.
//!
//! - [`config`], [`files`], [`init`], [`run`]: `poq node init` and `poq node run`.
//! - [`bench`]: rounds per second and round latency of a real loopback network.
//! - [`app`]: the validator's application (store and mempool) behind the engine.
//! - [`engine`]: the BFT engine (commonware simplex and marshal), the only module that
//!   uses commonware.
//! - [`store`]: the durable ledger (redb), one atomic write per finalized block.
//! - [`history`]: each round's record (receipt, committee, signed commits and reveals,
//!   outcome), kept by the store.
//! - [`testnet`]: a whole network's genesis and keys from one seed.
//! - [`workload`]: synthetic participants (gateway, inference nodes, evaluators, some
//!   Byzantine) for the simulation, the crash loop and the benchmark.
//! - [`simulation`]: a whole network in one thread on the deterministic runtime, with
//!   seeded faults.
//! - [`mempool`]: transactions waiting for a block, admitted by the ledger's own check.
//! - [`rpc`]: a validator's HTTP API (submit transactions, read the ledger, wait for a
//!   height); [`client`]: its client, with failover between validators.
//! - [`gateway`]: the OpenAI-compatible gateway (chat completions with the round's proof,
//!   the poq API, Prometheus metrics, the dashboard); [`content`]: the bytes of a round
//!   and the hashes a receipt signs.
//! - [`inference`]: the inference worker (synthetic, in-process GGUF, or an upstream).
//! - [`evaluator`]: the evaluator worker (a poq-ml scorer for several identities, with
//!   poq-core's attacks for demos).
//! - [`reply`]: the OpenAI-style error answers every server gives.
//! - [`error`]: the node's errors.

pub mod app;
pub mod bench;
pub mod client;
pub mod config;
pub mod content;
pub mod engine;
pub mod error;
pub mod evaluator;
pub mod files;
pub mod gateway;
pub mod history;
pub mod inference;
pub mod init;
pub mod mempool;
pub mod reply;
pub mod rpc;
pub mod run;
pub mod simulation;
pub mod store;
pub mod testnet;
pub mod workload;

pub use error::{NodeError, Result};
pub use store::Store;
