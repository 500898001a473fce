//! A whole network in one thread: validators on commonware's deterministic runtime and
//! simulated network, driven by the synthetic workload, with faults from a seed.
//!
//! One seed fixes everything: link latency and drops, which validator is partitioned
//! away and when, which one crashes and restarts from its storage, and the workload.
//! The checks (every honest validator has the same finalized digest at every height;
//! every round finalizes or expires by its deadline; conservation holds; the same seed
//! gives the same event log) are in [`Report::check`].

use crate::app::{Limits, NodeApp};
use crate::engine::{self, App, Channels, QUOTA_PER_SECOND, SharedApp, channels, lock};
use crate::error::{NodeError, Result};
use crate::store::Store;
use crate::testnet::{Testnet, TestnetSpec};
use crate::workload::{Behaviour, Workload};
use commonware_codec::DecodeExt as _;
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock, Handle, Quota, Runner, Supervisor as _, deterministic};
use commonware_utils::ordered::Set;
use commonware_utils::{NZU32, NZUsize};
use poq_core::rng::{Xoshiro256PlusPlus, below, chance};
use poq_ledger::{Event, Hash, Keypair};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What one simulated run does.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSpec {
    /// The seed of everything.
    pub seed: u64,
    /// Rounds the workload submits.
    pub rounds: u64,
    /// Rounds submitted per block.
    pub rounds_per_block: u64,
    /// The network.
    pub testnet: TestnetSpec,
    /// Whether to draw faults (latency spread, drops, a partition, a crash) from the
    /// seed; without, links are uniform and nothing fails.
    pub faults: bool,
}

impl SimSpec {
    /// The spec the tests use: 4 validators, 12 evaluators of which four are Byzantine
    /// (withhold, switch, replay, withhold), K = 7, faults on.
    pub fn standard(seed: u64) -> Self {
        let mut evaluators = vec![Behaviour::Honest; 12];
        evaluators[1] = Behaviour::Withhold;
        evaluators[4] = Behaviour::Switch;
        evaluators[7] = Behaviour::Replay;
        evaluators[10] = Behaviour::Withhold;
        SimSpec {
            seed,
            rounds: 40,
            rounds_per_block: 2,
            testnet: TestnetSpec {
                evaluators,
                ..TestnetSpec::default()
            },
            faults: true,
        }
    }
}

/// The faults a seed drew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// Link latency (ms) and jitter (ms).
    pub latency: (u64, u64),
    /// Per-message delivery probability in percent.
    pub delivery: u64,
    /// (validator, start ms, duration ms) cut off from the others.
    pub partition: Option<(usize, u64, u64)>,
    /// (validator, the height after which it crashes, ms down).
    pub crash: Option<(usize, u64, u64)>,
    /// A validator that proposes junk and replays (not the one that crashes).
    pub byzantine_proposer: Option<usize>,
}

/// What a run observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The spec.
    pub spec: SimSpec,
    /// The faults drawn.
    pub faults: Faults,
    /// Per validator, its chained digest at every height it reached.
    pub digests: Vec<Vec<Hash>>,
    /// Every (height, event) the first validator's ledger produced.
    pub events: Vec<(u64, Event)>,
    /// Per validator, its final conservation check (total, supply).
    pub money: Vec<(i128, u64)>,
    /// The first validator's rejection counts.
    pub rejected: std::collections::BTreeMap<poq_ledger::Reason, u64>,
    /// The deterministic runtime's digest of everything that happened.
    pub audit: String,
    /// Simulated milliseconds the run took.
    pub sim_ms: u64,
}

impl Report {
    /// Checks agreement, deadlines and conservation; a message naming the seed on
    /// failure.
    pub fn check(&self) -> std::result::Result<(), String> {
        let seed = self.spec.seed;
        let min = self.digests.iter().map(Vec::len).min().unwrap_or(0);
        for (v, d) in self.digests.iter().enumerate() {
            if d[..min] != self.digests[0][..min] {
                let h = (0..min).find(|&h| d[h] != self.digests[0][h]).unwrap_or(0) + 1;
                return Err(format!(
                    "seed {seed}: validator {v} disagrees with validator 0 at height {h}"
                ));
            }
        }
        let p = &self.spec.testnet.params;
        let mut submitted = std::collections::BTreeMap::new();
        let mut closed = std::collections::BTreeMap::new();
        for (h, e) in &self.events {
            match e {
                Event::Submitted { round, draw_at, .. } => {
                    submitted.insert(*round, *draw_at);
                }
                Event::Finalized { outcome, .. } => {
                    closed.insert(outcome.round, *h);
                }
                Event::Expired { expiry, .. } => {
                    closed.insert(expiry.round, *h);
                }
                _ => {}
            }
        }
        if submitted.len() as u64 != self.spec.rounds {
            return Err(format!(
                "seed {seed}: {} of {} rounds were submitted",
                submitted.len(),
                self.spec.rounds
            ));
        }
        for (round, draw_at) in &submitted {
            let deadline = draw_at + p.commit_blocks + p.reveal_blocks;
            match closed.get(round) {
                None => return Err(format!("seed {seed}: {round} never closed (deadline {deadline})")),
                Some(&h) if h > deadline => {
                    return Err(format!(
                        "seed {seed}: {round} closed at {h}, after its deadline {deadline}"
                    ));
                }
                _ => {}
            }
        }
        for (v, (total, supply)) in self.money.iter().enumerate() {
            if *total != *supply as i128 {
                return Err(format!(
                    "seed {seed}: validator {v} counts {total} micro-units, the supply is {supply}"
                ));
            }
        }
        Ok(())
    }

    /// Rounds that finalized and expired.
    pub fn closed(&self) -> (usize, usize) {
        let f = self
            .events
            .iter()
            .filter(|(_, e)| matches!(e, Event::Finalized { .. }))
            .count();
        let x = self
            .events
            .iter()
            .filter(|(_, e)| matches!(e, Event::Expired { .. }))
            .count();
        (f, x)
    }
}

fn draw_faults(spec: &SimSpec, rng: &mut Xoshiro256PlusPlus) -> Faults {
    if !spec.faults {
        return Faults {
            latency: (10, 0),
            delivery: 100,
            partition: None,
            crash: None,
            byzantine_proposer: None,
        };
    }
    let n = spec.testnet.validators;
    let latency = (5 + below(rng, 46), below(rng, 11));
    let delivery = 95 + below(rng, 6);
    let partition = chance(rng, 0.5).then(|| {
        (
            below(rng, n as u64) as usize,
            500 + below(rng, 2_000),
            2_000 + below(rng, 8_000),
        )
    });
    let crash = chance(rng, 0.7).then(|| {
        (
            below(rng, n as u64) as usize,
            3 + below(rng, 10),
            500 + below(rng, 5_000),
        )
    });
    // At most f = (n - 1) / 3 faulty validators at once: a Byzantine proposer only if it
    // is the one that crashes, or the network tolerates two.
    let byzantine_proposer = (n >= 4 && chance(rng, 0.5))
        .then(|| below(rng, n as u64) as usize)
        .filter(|&b| crash.is_none_or(|(c, _, _)| c == b || n >= 7));
    Faults {
        latency,
        delivery,
        partition,
        crash,
        byzantine_proposer,
    }
}

/// The commonware key of a ledger keypair (the same ed25519 key).
pub fn consensus_key(k: &Keypair) -> Result<PrivateKey> {
    PrivateKey::decode(k.seed().to_vec()).map_err(|e| NodeError::Engine {
        reason: format!("a validator seed is not an ed25519 key: {e}"),
    })
}

type SimSender = simulated::Sender<PublicKey, deterministic::Context>;
type SimReceiver = simulated::Receiver<PublicKey>;

async fn register(
    oracle: &Oracle<PublicKey, deterministic::Context>,
    pk: &PublicKey,
) -> Result<Channels<SimSender, SimReceiver>> {
    let control = oracle.control(pk.clone());
    let quota = Quota::per_second(NZU32!(QUOTA_PER_SECOND));
    let mut out = Vec::new();
    for ch in [
        channels::VOTES,
        channels::CERTIFICATES,
        channels::RESOLVER,
        channels::BROADCAST,
        channels::BACKFILL,
        channels::MEMPOOL,
    ] {
        out.push(control.register(ch, quota).await.map_err(|e| NodeError::Engine {
            reason: format!("registering channel {ch}: {e}"),
        })?);
    }
    let mut it = out.into_iter();
    let mut next = || {
        it.next().ok_or_else(|| NodeError::Engine {
            reason: "channel".into(),
        })
    };
    Ok(Channels {
        votes: next()?,
        certificates: next()?,
        resolver: next()?,
        broadcast: next()?,
        backfill: next()?,
        mempool: next()?,
    })
}

/// A validator's app in the simulation: honest, or a Byzantine proposer that adds junk
/// bytes and a replayed old transaction to every block it proposes (validators vote on
/// a block's shape, so such blocks finalize; every node must reject the junk alike).
enum SimApp {
    Honest(NodeApp),
    Byzantine { app: NodeApp, old: Vec<Vec<u8>> },
}

impl SimApp {
    fn inner(&self) -> &NodeApp {
        match self {
            SimApp::Honest(a) | SimApp::Byzantine { app: a, .. } => a,
        }
    }

    fn inner_mut(&mut self) -> &mut NodeApp {
        match self {
            SimApp::Honest(a) | SimApp::Byzantine { app: a, .. } => a,
        }
    }
}

impl App for SimApp {
    fn propose(&mut self, height: u64, exclude: &std::collections::HashSet<Hash>) -> Vec<Vec<u8>> {
        match self {
            SimApp::Honest(a) => a.propose(height, exclude),
            SimApp::Byzantine { app, old } => {
                let mut txs = app.propose(height, exclude);
                txs.push(format!("junk from a Byzantine proposer at {height}").into_bytes());
                if let Some(tx) = old.first() {
                    txs.push(tx.clone());
                }
                txs
            }
        }
    }
    fn verify(&self, block: &poq_ledger::Block) -> bool {
        self.inner().verify(block)
    }
    fn finalized(&mut self, block: &poq_ledger::Block) -> Result<()> {
        if let SimApp::Byzantine { old, .. } = self
            && old.is_empty()
            && let Some(tx) = block.txs.first()
        {
            old.push(tx.clone());
        }
        self.inner_mut().finalized(block)
    }
    fn last_finalized(&self) -> u64 {
        self.inner().last_finalized()
    }
    fn relayed(&mut self, bytes: Vec<u8>, tx: poq_ledger::Tx) {
        self.inner_mut().relayed(bytes, tx)
    }
    fn outbound(&mut self) -> Vec<Vec<u8>> {
        self.inner_mut().outbound()
    }
    fn fatal(&mut self, error: NodeError) {
        self.inner_mut().fatal(error)
    }
}

struct Validator {
    signer: PrivateKey,
    byzantine: bool,
    app: Option<SharedApp<SimApp>>,
    handle: Option<Handle<()>>,
    incarnation: u64,
    path: std::path::PathBuf,
}

fn sim_app(app: NodeApp, byzantine: bool) -> SimApp {
    if byzantine {
        SimApp::Byzantine { app, old: Vec::new() }
    } else {
        SimApp::Honest(app)
    }
}

/// Runs one simulated network under `dir` (each validator's ledger store is a file
/// there; the engine's journals live in the runtime's simulated storage).
pub fn run(spec: &SimSpec, dir: &Path) -> Result<Report> {
    let spec = spec.clone();
    let dir = dir.to_path_buf();
    let cfg = deterministic::Config::new()
        .with_seed(spec.seed)
        .with_timeout(Some(Duration::from_secs(3_600)));
    deterministic::Runner::new(cfg).start(|context| async move {
        let mut rng = Xoshiro256PlusPlus::from_u64(spec.seed ^ 0x5eed_fa17);
        let faults = draw_faults(&spec, &mut rng);
        let seed_bytes = Hash::of("poq/simulation/seed", &[&spec.seed.to_le_bytes()]).0;
        let net = Testnet::new(&spec.testnet, &seed_bytes);
        let network_id = *poq_ledger::Ledger::genesis(&net.genesis)?.network();
        let signers = net.validators.iter().map(consensus_key).collect::<Result<Vec<_>>>()?;
        let participants = Set::from_iter_dedup(signers.iter().map(|s| s.public_key()));
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: engine::MAX_MESSAGE_SIZE,
                max_peers_per_set: NZUsize!(spec.testnet.validators.max(1)),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            participants.iter().cloned(),
        )
        .await;
        network.start();
        let link = Link {
            latency: Duration::from_millis(faults.latency.0),
            jitter: Duration::from_millis(faults.latency.1),
            success_rate: commonware_utils::Probability::new(faults.delivery, 100).ok_or_else(|| {
                NodeError::Engine {
                    reason: format!("delivery {}% is not a probability", faults.delivery),
                }
            })?,
        };
        let link_all = async |except: Option<usize>, add: bool| -> Result<()> {
            for (i, a) in signers.iter().enumerate() {
                for (j, b) in signers.iter().enumerate() {
                    if i == j || (except.is_some() && except != Some(i) && except != Some(j)) {
                        continue;
                    }
                    let (a, b) = (a.public_key(), b.public_key());
                    let r = if add {
                        oracle.add_link(a, b, link.clone()).await
                    } else {
                        oracle.remove_link(a, b).await
                    };
                    r.map_err(|e| NodeError::Engine {
                        reason: format!("simulated link {i}->{j}: {e}"),
                    })?;
                }
            }
            Ok(())
        };
        link_all(None, true).await?;
        let mut validators = Vec::new();
        for (i, signer) in signers.iter().enumerate() {
            let path = dir.join(format!("validator-{i}.redb"));
            let store = Store::create(&path, &net.genesis)?;
            let byzantine = faults.byzantine_proposer == Some(i);
            validators.push(Validator {
                signer: signer.clone(),
                byzantine,
                app: Some(Arc::new(Mutex::new(sim_app(
                    NodeApp::new(store, Limits::default()),
                    byzantine,
                )))),
                handle: None,
                incarnation: 0,
                path,
            });
        }
        let start = async |v: &mut Validator, i: usize| -> Result<()> {
            let pk = v.signer.public_key();
            let channels = register(&oracle, &pk).await?;
            let cfg = engine::Config {
                signer: v.signer.clone(),
                participants: participants.clone(),
                network: network_id,
                partition_prefix: format!("validator-{i}"),
                blocker: oracle.control(pk.clone()),
                peer_provider: oracle.manager(),
                mailbox_size: 1024,
                leader_timeout: Duration::from_millis(500),
                certification_timeout: Duration::from_millis(1_000),
                timeout_retry: Duration::from_millis(2_000),
                fetch_timeout: Duration::from_millis(500),
                view_retention: 16,
            };
            let ctx = context
                .child("validator")
                .with_attribute("index", i)
                .with_attribute("incarnation", v.incarnation);
            let app = v.app.clone().ok_or_else(|| NodeError::Engine {
                reason: format!("validator {i} has no app"),
            })?;
            v.handle = Some(engine::start(ctx, cfg, app, channels));
            Ok(())
        };
        for (i, v) in validators.iter_mut().enumerate() {
            start(v, i).await?;
        }
        let mut work = Workload::new(net.actors.clone(), spec.seed, spec.rounds_per_block, Some(spec.rounds));
        let mut last_seen = 0;
        let mut crashed: Option<(usize, u64)> = None;
        let mut crash_done = false;
        let mut partitioned = false;
        let mut partition_done = false;
        let started = context.current();
        let elapsed_ms = |ctx: &deterministic::Context| {
            ctx.current()
                .duration_since(started)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        };
        let deadline_ms = 600_000;
        loop {
            context.sleep(Duration::from_millis(25)).await;
            let now = elapsed_ms(&context);
            for v in &validators {
                if let Some(app) = &v.app
                    && let Some(e) = lock(app).inner_mut().take_fatal()
                {
                    return Err(e);
                }
            }
            // Faults.
            if let Some((victim, at, dur)) = faults.partition {
                if !partitioned && !partition_done && now >= at {
                    link_all(Some(victim), false).await?;
                    partitioned = true;
                } else if partitioned && now >= at + dur {
                    link_all(Some(victim), true).await?;
                    partitioned = false;
                    partition_done = true;
                }
            }
            if let Some((victim, after, down)) = faults.crash {
                let height = validators[victim].app.as_ref().map_or(0, |a| lock(a).last_finalized());
                if crashed.is_none() && !crash_done && height >= after {
                    let v = &mut validators[victim];
                    if let Some(h) = v.handle.take() {
                        h.abort();
                        let _ = h.await;
                    }
                    // The app (with its mempool) dies with the process; the store's
                    // file stays.
                    v.app = None;
                    crashed = Some((victim, now));
                } else if let Some((victim, at)) = crashed
                    && now >= at + down
                {
                    let v = &mut validators[victim];
                    let store = Store::open(&v.path, &net.genesis)?;
                    v.app = Some(Arc::new(Mutex::new(sim_app(
                        NodeApp::new(store, Limits::default()),
                        v.byzantine,
                    ))));
                    v.incarnation += 1;
                    start(v, victim).await?;
                    crashed = None;
                    crash_done = true;
                }
            }
            // The participants act on the most advanced finalized ledger, and send to
            // that validator (the relay spreads it).
            let live: Vec<usize> = (0..validators.len()).filter(|&i| validators[i].app.is_some()).collect();
            let Some(&best) = live
                .iter()
                .max_by_key(|&&i| validators[i].app.as_ref().map_or(0, |a| lock(a).last_finalized()))
            else {
                continue;
            };
            let (height, txs) = {
                let app = validators[best].app.as_ref().map(|a| lock(a));
                let Some(app) = app else { continue };
                let ledger = app.inner().store().ledger();
                if ledger.height() > last_seen {
                    last_seen = ledger.height();
                    (ledger.height(), work.txs(ledger))
                } else {
                    (ledger.height(), Vec::new())
                }
            };
            // A client submits to the node it read the state from.
            if let Some(app) = &validators[best].app {
                let mut app = lock(app);
                for tx in txs {
                    let _ = app.inner_mut().submit(tx);
                }
            }
            // Done when every round closed everywhere and every validator caught up.
            let all_closed = work.submitted() == spec.rounds
                && validators.iter().all(|v| {
                    v.app.as_ref().is_some_and(|a| {
                        let a = lock(a);
                        let l = a.inner().store().ledger();
                        l.state().rounds.is_empty() && l.height() >= height
                    })
                });
            if all_closed && crashed.is_none() && !partitioned {
                break;
            }
            if now > deadline_ms {
                return Err(NodeError::Engine {
                    reason: format!(
                        "seed {}: the network did not finish within {deadline_ms} simulated ms",
                        spec.seed
                    ),
                });
            }
        }
        let sim_ms = elapsed_ms(&context);
        let mut digests = Vec::new();
        let mut money = Vec::new();
        let mut events = Vec::new();
        let mut rejected = std::collections::BTreeMap::new();
        for (i, v) in validators.iter_mut().enumerate() {
            if let Some(h) = v.handle.take() {
                h.abort();
                let _ = h.await;
            }
            let Some(app) = v.app.take() else { continue };
            let app = lock(&app);
            let store = app.inner().store();
            let mut d = Vec::new();
            for h in 1..=store.ledger().height() {
                d.push(store.digest_at(h)?.ok_or_else(|| NodeError::Corrupt {
                    path: v.path.clone(),
                    reason: format!("no digest at height {h}"),
                })?);
            }
            digests.push(d);
            money.push((store.ledger().total(), store.ledger().state().supply));
            if i == 0 {
                rejected = store.ledger().rejected().clone();
                for h in 1..=store.ledger().height() {
                    let json = store.events_json(h)?.unwrap_or_default();
                    let evs: Vec<Event> = serde_json::from_slice(&json).map_err(|e| NodeError::Corrupt {
                        path: v.path.clone(),
                        reason: format!("events at {h}: {e}"),
                    })?;
                    events.extend(evs.into_iter().map(|e| (h, e)));
                }
            }
        }
        Ok(Report {
            spec: spec.clone(),
            faults,
            digests,
            events,
            money,
            rejected,
            audit: context.auditor().state(),
            sim_ms,
        })
    })
}
