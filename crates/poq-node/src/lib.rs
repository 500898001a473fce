//! A poq network node.
//!
//! - [`store`]: the durable ledger (redb), one atomic write per finalized block.
//! - [`testnet`]: a whole network's genesis and keys from one seed.
//! - [`workload`]: synthetic participants (gateway, inference nodes, evaluators, some
//!   Byzantine) for the simulation, the crash loop and the benchmark.
//! - [`error`]: the node's errors.

pub mod error;
pub mod store;
pub mod testnet;
pub mod workload;

pub use error::{NodeError, Result};
pub use store::Store;
