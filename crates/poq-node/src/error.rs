//! The node's errors.

use poq_ledger::{Hash, LedgerError};
use std::path::PathBuf;

/// Why a node operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The store's database failed.
    #[error("store {path}: {source}")]
    Store {
        /// The store's file.
        path: PathBuf,
        /// The database's error.
        #[source]
        source: Box<redb::Error>,
    },
    /// There is no store where one was expected.
    #[error("no store at {path} (run `poq node init` first)")]
    MissingStore {
        /// The expected file.
        path: PathBuf,
    },
    /// A store exists where a new one was to be created.
    #[error("a store exists at {path} already")]
    StoreExists {
        /// The file.
        path: PathBuf,
    },
    /// The store's content is not what this node wrote.
    #[error("store {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store belongs to another network.
    #[error("store {path} belongs to network {store}, the genesis is network {genesis}")]
    WrongNetwork {
        /// The file.
        path: PathBuf,
        /// The store's network id.
        store: Hash,
        /// The genesis' network id.
        genesis: Hash,
    },
    /// Replaying the stored blocks did not give the stored digests.
    #[error("store {path}: replaying block {height} gives digest {replayed}, the store holds {stored}")]
    DigestMismatch {
        /// The file.
        path: PathBuf,
        /// The height.
        height: u64,
        /// What the replay computed.
        replayed: Hash,
        /// What the store holds.
        stored: Hash,
    },
    /// The ledger refused a block or the genesis.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration, genesis or key file is invalid.
    #[error("{path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The consensus engine failed.
    #[error("consensus engine: {reason}")]
    Engine {
        /// What failed.
        reason: String,
    },
    /// A request to another process's HTTP API failed.
    #[error("{url}: {reason}")]
    Client {
        /// The URL (or path) asked.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A worker (inference, evaluator, gateway) could not do its job.
    #[error("{role}: {reason}")]
    Worker {
        /// The role.
        role: &'static str,
        /// What failed.
        reason: String,
    },
}

/// A result with [`NodeError`].
pub type Result<T> = std::result::Result<T, NodeError>;
