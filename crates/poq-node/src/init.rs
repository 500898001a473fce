//! `poq node init`: a local network's directory, one sub-directory per validator.
//!
//! ```text
//!   D/genesis.json          the network's genesis
//!   D/participants.json     the synthetic gateway, inference nodes and evaluators (secret)
//!   D/validator-<i>/        node.toml and key of validator i
//! ```

use crate::config::{NodeConfig, Peer, WorkloadConfig};
use crate::error::{NodeError, Result};
use crate::files::{write_genesis, write_key, write_participants};
use crate::testnet::{Testnet, TestnetSpec};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// What `poq node init` writes.
#[derive(Debug, Clone)]
pub struct InitSpec {
    /// The network.
    pub testnet: TestnetSpec,
    /// The seed every key is derived from.
    pub seed: [u8; 32],
    /// Validator i listens on 127.0.0.1:(base_port + i).
    pub base_port: u16,
    /// If set, validator 0 runs the synthetic workload: (rounds per block, rounds).
    pub workload: Option<(u64, Option<u64>)>,
    /// If set, validator i serves its HTTP API on 127.0.0.1:(api_base_port + i).
    pub api_base_port: Option<u16>,
}

/// Writes the network under `dir` (which must not hold a genesis yet); returns the
/// validators' directories.
pub fn init(dir: &Path, spec: &InitSpec) -> Result<Vec<PathBuf>> {
    let genesis_path = dir.join("genesis.json");
    if genesis_path.exists() {
        return Err(NodeError::Config {
            path: genesis_path,
            reason: "exists already: this directory holds a network (choose another --dir)".into(),
        });
    }
    if spec.testnet.validators == 0 {
        return Err(NodeError::Config {
            path: dir.to_path_buf(),
            reason: "--validators 0: a network needs at least one".into(),
        });
    }
    if usize::from(spec.base_port) + spec.testnet.validators > usize::from(u16::MAX) {
        return Err(NodeError::Config {
            path: dir.to_path_buf(),
            reason: format!(
                "--base-port {} leaves no room for {} validators",
                spec.base_port, spec.testnet.validators
            ),
        });
    }
    if let Some(b) = spec.api_base_port
        && usize::from(b) + spec.testnet.validators > usize::from(u16::MAX)
    {
        return Err(NodeError::Config {
            path: dir.to_path_buf(),
            reason: format!(
                "--api-base-port {b} leaves no room for {} validators",
                spec.testnet.validators
            ),
        });
    }
    let net = Testnet::new(&spec.testnet, &spec.seed);
    net.genesis.validate()?;
    std::fs::create_dir_all(dir).map_err(|source| NodeError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    write_genesis(&genesis_path, &net.genesis)?;
    write_participants(&dir.join("participants.json"), &net.actors)?;
    let addr = |i: usize| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), spec.base_port + i as u16);
    let peers: Vec<Peer> = net
        .validators
        .iter()
        .enumerate()
        .map(|(i, k)| Peer {
            key: k.public(),
            address: addr(i),
        })
        .collect();
    let mut dirs = Vec::new();
    for (i, key) in net.validators.iter().enumerate() {
        let d = dir.join(format!("validator-{i}"));
        std::fs::create_dir_all(&d).map_err(|source| NodeError::Io {
            path: d.clone(),
            source,
        })?;
        write_key(&d.join("key"), key)?;
        let config = NodeConfig {
            genesis: PathBuf::from("../genesis.json"),
            listen: addr(i),
            peers: peers.clone(),
            leader_timeout_ms: 500,
            certification_timeout_ms: 1_000,
            mempool_txs: 100_000,
            mempool_bytes: 64 << 20,
            block_txs: 4_096,
            threads: 2,
            workload: (i == 0)
                .then_some(spec.workload)
                .flatten()
                .map(|(rounds_per_block, rounds)| WorkloadConfig {
                    participants: PathBuf::from("../participants.json"),
                    rounds_per_block,
                    rounds,
                    seed: 1,
                }),
            api: spec
                .api_base_port
                .map(|b| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), b + i as u16)),
        };
        config.write(&d.join("node.toml"))?;
        dirs.push(d);
    }
    Ok(dirs)
}
