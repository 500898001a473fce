//! A node's configuration file (TOML) and its directory layout.
//!
//! ```text
//!   D/                      a node's directory (`poq node run --dir D`)
//!     node.toml             this file
//!     key                   the node's ed25519 secret seed (64 hex digits; mode 0600)
//!     ../genesis.json       the network's genesis (path set by `genesis`)
//!     ledger.redb           the ledger store
//!     consensus/            the engine's journals and archives
//! ```
//!
//! Every key has a default (below) and a flag of `poq node run` that overrides it.

use crate::app::Limits;
use crate::error::{NodeError, Result};
use poq_ledger::PublicKey;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A validator the node connects to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// Its consensus key (as in the genesis).
    pub key: PublicKey,
    /// Where it listens.
    pub address: SocketAddr,
}

/// The synthetic workload a node may run in-process (for local networks, the crash
/// test and the benchmark).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// The participants' keys (written by `poq node init`).
    pub participants: PathBuf,
    /// Rounds submitted per finalized block.
    pub rounds_per_block: u64,
    /// Rounds in all (absent: no limit).
    pub rounds: Option<u64>,
    /// Its seed.
    pub seed: u64,
}

/// A node's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The genesis file, relative to the node's directory.
    pub genesis: PathBuf,
    /// The p2p listen address.
    pub listen: SocketAddr,
    /// Every validator, this one included.
    pub peers: Vec<Peer>,
    /// Milliseconds to wait for a leader's proposal (default 500).
    #[serde(default = "default_leader_timeout")]
    pub leader_timeout_ms: u64,
    /// Milliseconds to wait for a view's certificate (default 1000; above the leader
    /// timeout).
    #[serde(default = "default_certification_timeout")]
    pub certification_timeout_ms: u64,
    /// Transactions the mempool holds (default 100000).
    #[serde(default = "default_mempool_txs")]
    pub mempool_txs: usize,
    /// Bytes the mempool holds (default 64 MiB).
    #[serde(default = "default_mempool_bytes")]
    pub mempool_bytes: usize,
    /// Transactions a proposed block carries at most (default 4096).
    #[serde(default = "default_block_txs")]
    pub block_txs: usize,
    /// Tokio worker threads (default 2).
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// The in-process synthetic workload, if any.
    #[serde(default)]
    pub workload: Option<WorkloadConfig>,
    /// Where the node's HTTP API listens (absent: no API).
    #[serde(default)]
    pub api: Option<SocketAddr>,
}

fn default_leader_timeout() -> u64 {
    500
}
fn default_certification_timeout() -> u64 {
    1_000
}
fn default_mempool_txs() -> usize {
    Limits::default().mempool_txs
}
fn default_mempool_bytes() -> usize {
    Limits::default().mempool_bytes
}
fn default_block_txs() -> usize {
    Limits::default().block_txs
}
fn default_threads() -> usize {
    2
}

impl NodeConfig {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| NodeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let c: NodeConfig = toml::from_str(&text).map_err(|e| NodeError::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        c.validate().map_err(|reason| NodeError::Config {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(c)
    }

    /// Checks the values that have a valid range.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.leader_timeout_ms == 0 {
            return Err("leader_timeout_ms = 0: must be at least 1".into());
        }
        if self.certification_timeout_ms <= self.leader_timeout_ms {
            return Err(format!(
                "certification_timeout_ms = {} must exceed leader_timeout_ms = {}",
                self.certification_timeout_ms, self.leader_timeout_ms
            ));
        }
        for (name, v) in [
            ("mempool_txs", self.mempool_txs),
            ("mempool_bytes", self.mempool_bytes),
            ("block_txs", self.block_txs),
            ("threads", self.threads),
        ] {
            if v == 0 {
                return Err(format!("{name} = 0: must be at least 1"));
            }
        }
        if self.peers.is_empty() {
            return Err("peers is empty: list every validator, this one included".into());
        }
        if let Some(w) = &self.workload
            && w.rounds_per_block == 0
        {
            return Err("workload.rounds_per_block = 0: must be at least 1".into());
        }
        Ok(())
    }

    /// The app's limits.
    pub fn limits(&self) -> Limits {
        Limits {
            mempool_txs: self.mempool_txs,
            mempool_bytes: self.mempool_bytes,
            block_txs: self.block_txs,
            ..Limits::default()
        }
    }

    /// Writes the configuration as TOML.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self).map_err(|e| NodeError::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        write_file(path, text.as_bytes(), false)
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename (never a partial
/// file); `secret` files get mode 0600.
pub fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    let io = |source| NodeError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write as _;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}
