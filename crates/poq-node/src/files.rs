//! The files `poq node init` writes and `poq node run` reads: the genesis, key files,
//! and the synthetic participants of a local network.

use crate::config::write_file;
use crate::error::{NodeError, Result};
use crate::workload::{Actors, Behaviour};
use poq_ledger::digest::{from_hex, to_hex};
use poq_ledger::{Genesis, Keypair};
use serde::{Deserialize, Serialize};
use std::path::Path;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NodeError + '_ {
    move |source| NodeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn config_err(path: &Path, reason: impl Into<String>) -> NodeError {
    NodeError::Config {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads a genesis (JSON) and checks it.
pub fn read_genesis(path: &Path) -> Result<Genesis> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let g: Genesis = serde_json::from_slice(&bytes).map_err(|e| config_err(path, e.to_string()))?;
    g.validate().map_err(|e| config_err(path, e.to_string()))?;
    Ok(g)
}

/// Writes a genesis (JSON).
pub fn write_genesis(path: &Path, g: &Genesis) -> Result<()> {
    let json = serde_json::to_vec_pretty(g).map_err(|e| config_err(path, e.to_string()))?;
    write_file(path, &json, false)
}

/// Reads a key file: 64 hex digits, the ed25519 secret seed.
pub fn read_key(path: &Path) -> Result<Keypair> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    from_hex::<32>(text.trim())
        .map(|s| Keypair::from_seed(&s))
        .ok_or_else(|| config_err(path, "not 64 hex digits (an ed25519 secret seed)"))
}

/// Writes a key file (mode 0600).
pub fn write_key(path: &Path, key: &Keypair) -> Result<()> {
    write_file(path, format!("{}\n", to_hex(&key.seed())).as_bytes(), true)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeEntry {
    seed: String,
    model: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvaluatorEntry {
    seed: String,
    behaviour: Behaviour,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParticipantsFile {
    gateway: String,
    nodes: Vec<NodeEntry>,
    evaluators: Vec<EvaluatorEntry>,
}

/// Writes the synthetic participants' secret keys (mode 0600).
pub fn write_participants(path: &Path, a: &Actors) -> Result<()> {
    let f = ParticipantsFile {
        gateway: to_hex(&a.gateway.seed()),
        nodes: a
            .nodes
            .iter()
            .map(|(k, m)| NodeEntry {
                seed: to_hex(&k.seed()),
                model: m.clone(),
            })
            .collect(),
        evaluators: a
            .evaluators
            .iter()
            .map(|(k, b)| EvaluatorEntry {
                seed: to_hex(&k.seed()),
                behaviour: *b,
            })
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&f).map_err(|e| config_err(path, e.to_string()))?;
    write_file(path, &json, true)
}

/// Reads the synthetic participants.
pub fn read_participants(path: &Path) -> Result<Actors> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let f: ParticipantsFile = serde_json::from_slice(&bytes).map_err(|e| config_err(path, e.to_string()))?;
    let key = |s: &str| {
        from_hex::<32>(s)
            .map(|s| Keypair::from_seed(&s))
            .ok_or_else(|| config_err(path, format!("{s:?} is not a 64-hex-digit seed")))
    };
    Ok(Actors {
        gateway: key(&f.gateway)?,
        nodes: f
            .nodes
            .iter()
            .map(|n| Ok((key(&n.seed)?, n.model.clone())))
            .collect::<Result<_>>()?,
        evaluators: f
            .evaluators
            .iter()
            .map(|e| Ok((key(&e.seed)?, e.behaviour)))
            .collect::<Result<_>>()?,
    })
}
