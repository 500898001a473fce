//! `poq node run`: one validator process on the tokio runtime and the authenticated
//! p2p network (only the genesis' validator keys may connect), over its directory.

use crate::app::NodeApp;
use crate::config::NodeConfig;
use crate::engine::{self, App as _, lock};
use crate::error::{NodeError, Result};
use crate::files::{read_genesis, read_key, read_participants};
use crate::rpc::{self, NodeApi};
use crate::simulation::consensus_key;
use crate::store::Store;
use crate::workload::Workload;
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::Address;
use commonware_runtime::{Clock as _, Runner as _, Spawner as _, Supervisor as _, tokio as cw_tokio};
use commonware_utils::ordered::Map;
use poq_ledger::Hash;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::info;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The last applied height.
    pub height: u64,
    /// The chained digest there.
    pub digest: Hash,
}

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The node's directory.
    pub dir: PathBuf,
    /// Its configuration (already overridden by flags).
    pub config: NodeConfig,
    /// Stop (exit 0) once this height is applied.
    pub stop_at: Option<u64>,
}

fn resolve(dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { dir.join(p) }
}

/// Runs the validator until a signal, `stop_at`, or a fatal error.
pub fn run(opts: RunOptions) -> Result<RunSummary> {
    let dir = opts.dir.clone();
    let config = opts.config.clone();
    let genesis = read_genesis(&resolve(&dir, &config.genesis))?;
    let key = read_key(&dir.join("key"))?;
    if !genesis.validators.contains(&key.public()) {
        return Err(NodeError::Config {
            path: dir.join("key"),
            reason: format!("key {} is not one of the genesis' validators", key.public()),
        });
    }
    for p in &config.peers {
        if !genesis.validators.contains(&p.key) {
            return Err(NodeError::Config {
                path: dir.join("node.toml"),
                reason: format!("peer {} is not one of the genesis' validators", p.key),
            });
        }
    }
    // Fail early and clearly when the port is taken (the engine binds it later).
    drop(
        std::net::TcpListener::bind(config.listen).map_err(|source| NodeError::Io {
            path: PathBuf::from(config.listen.to_string()),
            source,
        })?,
    );
    let api_listener = match config.api {
        Some(addr) => Some(std::net::TcpListener::bind(addr).map_err(|source| NodeError::Io {
            path: PathBuf::from(addr.to_string()),
            source,
        })?),
        None => None,
    };
    let store = Store::open_or_create(&dir.join("ledger.redb"), &genesis)?;
    let network_id = *store.ledger().network();
    info!(height = store.ledger().height(), digest = %store.ledger().digest(), network = %network_id, "store opened");
    let workload = match &config.workload {
        Some(w) => Some(Workload::new(
            read_participants(&resolve(&dir, &w.participants))?,
            w.seed,
            w.rounds_per_block,
            w.rounds,
        )),
        None => None,
    };
    let app = Arc::new(Mutex::new(NodeApp::new(store, config.limits())));
    let signer = consensus_key(&key)?;
    let peers: Vec<(PublicKey, Address)> = config
        .peers
        .iter()
        .map(|p| Ok((consensus_key_public(&p.key)?, Address::from(p.address))))
        .collect::<Result<_>>()?;
    let peers = Map::try_from(peers).map_err(|_| NodeError::Config {
        path: dir.join("node.toml"),
        reason: "a peer key appears twice".into(),
    })?;
    if peers.len() != genesis.validators.len() {
        return Err(NodeError::Config {
            path: dir.join("node.toml"),
            reason: format!(
                "peers lists {} validators, the genesis has {}: list every validator",
                peers.len(),
                genesis.validators.len()
            ),
        });
    }
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = cw_tokio::Config::new()
        .with_storage_directory(dir.join("consensus"))
        .with_worker_threads(config.threads);
    let app_run = app.clone();
    let _n = genesis.validators.len();
    let result: Result<()> = cw_tokio::Runner::new(runtime).start(|context| async move {
        let stop_signal = stop.clone();
        let (height_tx, height_rx) = tokio::sync::watch::channel(lock(&app_run).last_finalized());
        let (api_stop, api_stopped) = tokio::sync::oneshot::channel::<()>();
        if let Some(listener) = api_listener {
            let api = NodeApi::new(app_run.clone(), height_rx);
            let served = listener
                .set_nonblocking(true)
                .and_then(|()| tokio::net::TcpListener::from_std(listener));
            match served {
                Ok(listener) => {
                    info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "API listening");
                    tokio::spawn(async move {
                        if let Err(e) = rpc::serve(listener, api, async move { let _ = api_stopped.await; }).await {
                            tracing::error!(error = %e, "the API server stopped");
                        }
                    });
                }
                Err(e) => tracing::error!(error = %e, "the API listener"),
            }
        }
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            stop_signal.store(true, Ordering::SeqCst);
        });
        engine::start_authenticated(
            context.child("validator"),
            engine::Endpoint {
                signer,
                listen: config.listen,
                peers,
                network: network_id,
                partition_prefix: "poq".into(),
                leader_timeout: Duration::from_millis(config.leader_timeout_ms),
                certification_timeout: Duration::from_millis(config.certification_timeout_ms),
            },
            app_run.clone(),
        );
        let mut work = workload;
        let mut last_seen = u64::MAX;
        let mut last_status = Instant::now();
        let result = loop {
            context.sleep(Duration::from_millis(20)).await;
            let mut a = lock(&app_run);
            if let Some(e) = a.take_fatal() {
                break Err(e);
            }
            let height = a.last_finalized();
            height_tx.send_if_modified(|h| std::mem::replace(h, height) != height);
            if let Some(w) = work.as_mut()
                && height != last_seen
            {
                last_seen = height;
                let txs = w.txs(a.store().ledger());
                for tx in txs {
                    let _ = a.submit(tx);
                }
            }
            if last_status.elapsed() >= Duration::from_secs(5) {
                last_status = Instant::now();
                let l = a.store().ledger();
                info!(
                    height,
                    open_rounds = l.state().rounds.len(),
                    closed = l.protocol().book().inference_rounds.iter().sum::<u64>(),
                    mempool = a.mempool().len(),
                    "status"
                );
            }
            if opts.stop_at.is_some_and(|h| height >= h) || stop.load(Ordering::SeqCst) {
                break Ok(());
            }
        };
        let _ = api_stop.send(());
        lock(&app_run).stopping();
        let _ = context.stop(0, Some(Duration::from_secs(5))).await;
        result
    });
    result?;
    let a = lock(&app);
    let l = a.store().ledger();
    Ok(RunSummary {
        height: l.height(),
        digest: *l.digest(),
    })
}

/// The engine's public key of a ledger public key (the same ed25519 key).
pub fn consensus_key_public(k: &poq_ledger::PublicKey) -> Result<PublicKey> {
    use commonware_codec::DecodeExt as _;
    PublicKey::decode(k.0.to_vec()).map_err(|e| NodeError::Engine {
        reason: format!("{k} is not an ed25519 public key: {e}"),
    })
}
