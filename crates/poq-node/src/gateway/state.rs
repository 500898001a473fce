//! The gateway's shared state and its follower (the loop that keeps up with the ledger).

use super::content_store::ContentStore;
use super::metrics::Metrics;
use super::pool::{Pool, Worker};
use crate::client::NodeClient;
use crate::history::RoundRecord;
use poq_ledger::{Hash, Keypair, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How a gateway runs.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The inference workers' URLs.
    pub inference: Vec<String>,
    /// Blocks a receipt stays submittable.
    pub ttl: u64,
    /// The longest an inference call may take.
    pub inference_timeout: Duration,
    /// The longest a request may wait for its round to close (`poq.wait`).
    pub max_wait: Duration,
    /// The largest request body.
    pub max_body: usize,
    /// The most tokens a request may ask for.
    pub max_tokens: u32,
    /// Labels of keys for the dashboard (e.g. "honest", "malicious: boosting").
    pub labels: BTreeMap<PublicKey, String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            inference: Vec::new(),
            ttl: 64,
            inference_timeout: Duration::from_secs(120),
            max_wait: Duration::from_secs(60),
            max_body: 1 << 20,
            max_tokens: 1024,
            labels: BTreeMap::new(),
        }
    }
}

/// One trust sample: the height and every evaluator's weight per task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustSample {
    /// The height.
    pub height: u64,
    /// key → task → weight.
    pub trust: BTreeMap<PublicKey, BTreeMap<String, f64>>,
}

/// The most trust samples kept.
pub const MAX_TRUST_SAMPLES: usize = 720;
/// The most submitted rounds the follower watches for their close.
pub const MAX_WATCHED: usize = 100_000;

/// The gateway.
#[derive(Clone)]
pub struct Gateway {
    pub(super) key: Arc<Keypair>,
    pub(super) network: Hash,
    pub(super) node: NodeClient,
    pub(super) http: reqwest::Client,
    pub(super) config: Arc<GatewayConfig>,
    pub(super) pool: Arc<Mutex<Pool>>,
    pub(super) content: ContentStore,
    pub(super) metrics: Arc<Metrics>,
    pub(super) height: Arc<AtomicU64>,
    /// Whether the follower has reached a ledger node once (`height` is real).
    pub(super) synced: Arc<std::sync::atomic::AtomicBool>,
    pub(super) counter: Arc<AtomicU64>,
    pub(super) trust: Arc<Mutex<VecDeque<TrustSample>>>,
    /// request → its waiter, for rounds this gateway submitted and has not seen close.
    pub(super) watched: Arc<Mutex<HashMap<Hash, Waiter>>>,
}

/// What the follower tells the requests waiting on a round.
#[derive(Debug)]
pub(super) struct Waiter {
    since: Instant,
    record: watch::Sender<Option<RoundRecord>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Gateway {
    /// A gateway signing with `key` on `network`, talking to the nodes of `node`,
    /// storing content in `content`.
    pub fn new(key: Keypair, network: Hash, node: NodeClient, content: ContentStore, config: GatewayConfig) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_default();
        Self {
            key: Arc::new(key),
            network,
            node,
            http,
            config: Arc::new(config),
            pool: Arc::new(Mutex::new(Pool::default())),
            content,
            metrics: Arc::new(Metrics::default()),
            height: Arc::new(AtomicU64::new(0)),
            synced: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            counter: Arc::new(AtomicU64::new(0)),
            trust: Arc::new(Mutex::new(VecDeque::new())),
            watched: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The gateway's key.
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// The workers known.
    pub fn workers(&self) -> Vec<Worker> {
        lock(&self.pool).workers().to_vec()
    }

    pub(super) fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        lock(&self.pool)
    }

    pub(super) fn trust_samples(&self) -> Vec<TrustSample> {
        lock(&self.trust).iter().cloned().collect()
    }

    /// Starts following the round of `request` (submitted at `since`).
    pub(super) fn watch(&self, request: Hash, since: Instant) {
        let mut w = lock(&self.watched);
        if w.len() < MAX_WATCHED {
            let (record, _) = watch::channel(None);
            w.insert(request, Waiter { since, record });
        }
    }

    /// The round of `request` as the follower last saw it, as it changes (`None` if the
    /// gateway does not follow it).
    pub(super) fn subscribe(&self, request: &Hash) -> Option<watch::Receiver<Option<RoundRecord>>> {
        lock(&self.watched).get(request).map(|w| w.record.subscribe())
    }

    /// Asks each worker URL for its identity; returns how many answered.
    pub async fn discover(&self) -> usize {
        let mut found = 0;
        for url in &self.config.inference {
            let url = url.trim_end_matches('/').to_string();
            let r = self
                .http
                .get(format!("{url}/v1/poq/identity"))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            let Ok(r) = r else { continue };
            let Ok(body) = r.bytes().await else { continue };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
                continue;
            };
            let (Some(key), Some(model)) = (v["key"].as_str().and_then(PublicKey::from_hex), v["model"].as_str())
            else {
                continue;
            };
            lock(&self.pool).upsert(Worker {
                url,
                key,
                model: model.to_string(),
            });
            found += 1;
        }
        found
    }
}

/// The follower: keeps the height, the ledger's counters, the workers' reward history
/// and the trust samples current, and tells the requests waiting on the gateway's own
/// rounds when those land and close (one `changes` call per block for all of them).
/// Returns when `stop` is set.
pub async fn follow(gw: Gateway, stop: Arc<std::sync::atomic::AtomicBool>) {
    let mut last_sample = 0u64;
    let mut cursor: Option<u64> = None;
    let mut last_discover = Instant::now() - Duration::from_secs(60);
    while !stop.load(Ordering::Relaxed) {
        if last_discover.elapsed() >= Duration::from_secs(5) || gw.pool().workers().len() < gw.config.inference.len() {
            gw.discover().await;
            last_discover = Instant::now();
        }
        let h = gw.height.load(Ordering::Relaxed);
        let status = match gw.node.wait(h + 1, Duration::from_millis(500)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "the ledger is unreachable");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        gw.height.store(status.height, Ordering::Relaxed);
        gw.synced.store(true, Ordering::Relaxed);
        let m = &gw.metrics;
        m.height.set(status.height as i64);
        m.rounds_finalized.set(status.rounds_finalized as i64);
        m.rounds_expired.set(status.rounds_expired as i64);
        for (reason, n) in &status.rejected {
            m.rejected
                .get_or_create(&super::metrics::ReasonLabel { reason: reason.clone() })
                .set(*n);
        }
        if status.height >= last_sample + 5 || last_sample == 0 {
            last_sample = status.height;
            if let Ok(nodes) = gw.node.nodes().await {
                let mut sample = TrustSample {
                    height: status.height,
                    trust: BTreeMap::new(),
                };
                let mut pool = gw.pool();
                for n in nodes {
                    if !n.trust.is_empty() {
                        sample.trust.insert(n.key, n.trust.clone());
                    }
                    if n.roles.inference.is_some() && n.rounds > 0 {
                        pool.set_history(n.key, n.rewards / n.rounds as f64);
                    }
                }
                drop(pool);
                let mut t = lock(&gw.trust);
                t.push_back(sample);
                while t.len() > MAX_TRUST_SAMPLES {
                    t.pop_front();
                }
            }
        }
        // Tell the waiters what the new blocks did to their rounds.
        let mut at = *cursor.get_or_insert(status.height);
        while at < status.height {
            let Ok(c) = gw.node.changes(at).await else { break };
            if c.height <= at {
                break;
            }
            at = c.height;
            let mut w = lock(&gw.watched);
            for r in c.submitted {
                if let Some(x) = w.get(&r.receipt.request) {
                    x.record.send_replace(Some(r));
                }
            }
            for r in c.closed {
                if let Some(x) = w.remove(&r.receipt.request) {
                    m.finalize_seconds.observe(x.since.elapsed().as_secs_f64());
                    x.record.send_replace(Some(r));
                }
            }
            // Rounds that never landed (their receipt expired) are forgotten in time.
            w.retain(|_, x| x.since.elapsed() < Duration::from_secs(900));
        }
        cursor = Some(at);
    }
}
