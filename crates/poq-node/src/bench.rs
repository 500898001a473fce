//! `poq node bench`: finalized rounds per second and round latency of a real network on
//! this machine: validators on the tokio runtime over authenticated p2p on 127.0.0.1,
//! one process, the synthetic workload (no model time) submitting to validator 0.
//!
//! Latency is from the moment the workload hands a round's submission to validator 0 to
//! the moment validator 0 has applied (durably) the block that closes the round.

use crate::app::{Finalized, NodeApp};
use crate::engine::{self, App as _, lock};
use crate::error::{NodeError, Result};
use crate::run::consensus_key_public;
use crate::simulation::consensus_key;
use crate::store::Store;
use crate::testnet::{Testnet, TestnetSpec};
use crate::workload::Workload;
use commonware_p2p::Address;
use commonware_runtime::{Clock as _, Runner as _, Spawner as _, Supervisor as _, tokio as cw_tokio};
use commonware_utils::ordered::Map;
use poq_ledger::{Event, Hash};
use serde::Serialize;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// The network (validators, evaluators, K, heights).
    pub testnet: TestnetSpec,
    /// Rounds to run.
    pub rounds: u64,
    /// Rounds submitted per finalized block (the offered load).
    pub rounds_per_block: u64,
    /// Validator i listens on 127.0.0.1:(base_port + i).
    pub base_port: u16,
    /// Tokio worker threads.
    pub threads: usize,
    /// Leader timeout in ms.
    pub leader_timeout_ms: u64,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Validators.
    pub validators: usize,
    /// K.
    pub committee_size: usize,
    /// Rounds closed (finalized or expired).
    pub rounds: u64,
    /// Of which finalized.
    pub finalized: u64,
    /// Seconds from the first submission to the last close.
    pub seconds: f64,
    /// Closed rounds per second.
    pub rounds_per_second: f64,
    /// Transactions applied per second (every kind).
    pub txs_per_second: f64,
    /// Blocks per second.
    pub blocks_per_second: f64,
    /// Round latency percentiles, in milliseconds.
    pub latency_ms_p50: f64,
    /// 99th percentile.
    pub latency_ms_p99: f64,
    /// Rejected transactions on validator 0, by reason.
    pub rejected: std::collections::BTreeMap<String, u64>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Runs the benchmark under `dir` (stores and journals go there).
pub fn run(spec: &BenchSpec, dir: &Path) -> Result<BenchReport> {
    let net = Testnet::new(&spec.testnet, &[7; 32]);
    let n = net.validators.len();
    let addr = |i: usize| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), spec.base_port + i as u16);
    let mut apps = Vec::new();
    for i in 0..n {
        let store = Store::create(&dir.join(format!("validator-{i}.redb")), &net.genesis)?;
        apps.push(Arc::new(Mutex::new(NodeApp::new(store, Default::default()))));
    }
    let (obs_tx, obs_rx) = mpsc::sync_channel::<Finalized>(100_000);
    lock(&apps[0]).observe(obs_tx);
    let network_id = *lock(&apps[0]).store().ledger().network();
    let keys = net
        .genesis
        .validators
        .iter()
        .map(consensus_key_public)
        .collect::<Result<Vec<_>>>()?;
    let peers = Map::try_from(
        keys.iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), Address::from(addr(i))))
            .collect::<Vec<_>>(),
    )
    .map_err(|_| NodeError::Engine {
        reason: "duplicate validator keys".into(),
    })?;
    let signers = net.validators.iter().map(consensus_key).collect::<Result<Vec<_>>>()?;
    let runtime = cw_tokio::Config::new()
        .with_storage_directory(dir.join("consensus"))
        .with_worker_threads(spec.threads);
    let spec2 = spec.clone();
    let apps2 = apps.clone();
    let actors = net.actors.clone();
    cw_tokio::Runner::new(runtime).start(|context| async move {
        for (i, signer) in signers.into_iter().enumerate() {
            engine::start_authenticated(
                context.child("validator").with_attribute("index", i),
                engine::Endpoint {
                    signer,
                    listen: addr(i),
                    peers: peers.clone(),
                    network: network_id,
                    partition_prefix: format!("validator-{i}"),
                    leader_timeout: Duration::from_millis(spec2.leader_timeout_ms),
                    certification_timeout: Duration::from_millis(spec2.leader_timeout_ms * 2),
                },
                apps2[i].clone(),
            );
        }
        let mut work = Workload::new(actors, 1, spec2.rounds_per_block, Some(spec2.rounds));
        let mut last_seen = u64::MAX;
        let mut submitted_at: HashMap<Hash, Instant> = HashMap::new();
        let mut round_request: HashMap<poq_core::RoundId, Hash> = HashMap::new();
        let mut latencies = Vec::new();
        let (mut closed, mut finalized, mut txs, mut blocks) = (0u64, 0u64, 0u64, 0u64);
        let mut first: Option<Instant> = None;
        let mut last = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(600);
        let result = loop {
            context.sleep(Duration::from_millis(5)).await;
            {
                let mut a = lock(&apps2[0]);
                if let Some(e) = a.take_fatal() {
                    break Err(e);
                }
                let height = a.last_finalized();
                if height != last_seen {
                    last_seen = height;
                    let now = Instant::now();
                    for tx in work.txs(a.store().ledger()) {
                        if let Ok(poq_ledger::Tx {
                            body: poq_ledger::Body::Submit { receipt, .. },
                            ..
                        }) = poq_ledger::Tx::decode(&tx)
                        {
                            submitted_at.insert(receipt.request, now);
                            first.get_or_insert(now);
                        }
                        let _ = a.submit(tx);
                    }
                }
            }
            while let Ok(f) = obs_rx.try_recv() {
                let now = Instant::now();
                blocks += 1;
                txs += f.block.txs.len() as u64 - f.applied.rejected.len() as u64;
                for e in &f.applied.events {
                    match e {
                        Event::Submitted { round, .. } => {
                            let a = lock(&apps2[0]);
                            if let Some(r) = a.store().ledger().round(*round) {
                                round_request.insert(*round, r.receipt.request);
                            }
                        }
                        Event::Finalized { outcome, .. } => {
                            finalized += 1;
                            closed += 1;
                            if let Some(t) = round_request.get(&outcome.round).and_then(|r| submitted_at.get(r)) {
                                latencies.push(now.duration_since(*t).as_secs_f64() * 1e3);
                            }
                            last = now;
                        }
                        Event::Expired { expiry, .. } => {
                            closed += 1;
                            if let Some(t) = round_request.get(&expiry.round).and_then(|r| submitted_at.get(r)) {
                                latencies.push(now.duration_since(*t).as_secs_f64() * 1e3);
                            }
                            last = now;
                        }
                        _ => {}
                    }
                }
            }
            if closed >= spec2.rounds {
                break Ok(());
            }
            if Instant::now() > deadline {
                break Err(NodeError::Engine {
                    reason: format!("only {closed} of {} rounds closed in 600 s", spec2.rounds),
                });
            }
        };
        let _ = context.stop(0, Some(Duration::from_secs(5))).await;
        result?;
        latencies.sort_by(f64::total_cmp);
        let seconds = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
        let rejected = lock(&apps2[0])
            .store()
            .ledger()
            .rejected()
            .iter()
            .map(|(r, n)| (r.name().to_string(), *n))
            .collect();
        Ok(BenchReport {
            validators: n,
            committee_size: spec2.testnet.committee_size,
            rounds: closed,
            finalized,
            seconds,
            rounds_per_second: closed as f64 / seconds,
            txs_per_second: txs as f64 / seconds,
            blocks_per_second: blocks as f64 / seconds,
            latency_ms_p50: percentile(&latencies, 0.5),
            latency_ms_p99: percentile(&latencies, 0.99),
            rejected,
        })
    })
}
