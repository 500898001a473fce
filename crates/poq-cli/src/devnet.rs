//! `poq devnet`: a whole network on this machine, one process per node, on 127.0.0.1.
//!
//! ```text
//!   DIR/devnet.json        what the network is (ports, roles, who is malicious): resumed from
//!   DIR/genesis.json       the genesis
//!   DIR/validator-<i>/     each validator (key, node.toml, ledger.redb, consensus/)
//!   DIR/gateway/           the gateway's key and content store
//!   DIR/inference-<i>/     each inference node's key
//!   DIR/evaluators-<j>/    each evaluator process's identity keys and state
//!   DIR/labels.json        key → honest / malicious, for the dashboard
//!   DIR/logs/<name>.log    every child's output
//!   DIR/report.md, report.json, trust.png   after --requests N
//! ```
//!
//! Every child is started with explicit peer addresses (no discovery); the devnet stops
//! them all (SIGTERM, then SIGKILL after 10 s) on Ctrl-C or SIGTERM, or once the
//! requests are done. It restarts nothing by itself.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use poq_core::Task;
use poq_core::trust::TrustKind;
use poq_ledger::tx::EvaluatorRole;
use poq_ledger::{Keypair, Params, PublicKey};
use poq_node::config::{NodeConfig, Peer};
use poq_node::files::{write_genesis, write_key};
use poq_node::testnet::{Testnet, TestnetSpec};
use poq_node::workload::Behaviour;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `poq devnet`.
#[derive(Args, Debug)]
pub struct DevnetArgs {
    /// The network's directory (created, or resumed when it holds a devnet).
    #[arg(long)]
    dir: PathBuf,
    /// Validators.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Evaluator identities.
    #[arg(long, default_value_t = 12)]
    evaluators: usize,
    /// The fraction of evaluators that attack.
    #[arg(long, default_value_t = 0.25)]
    malicious: f64,
    /// Their attack (none, noise, boosting, sabotage, intermittent, collusion, …).
    #[arg(long, default_value = "boosting")]
    attack: String,
    /// Synthetic inference and lexical scorers (no model needed); the default runs
    /// SmolLM2-135M-Instruct and Gemma-3-270M answering, the MiniLM bi-encoder and the
    /// lexical scorers scoring.
    #[arg(long)]
    synthetic: bool,
    /// The scorer of each evaluator process, comma separated (identities are dealt to
    /// the processes in turn). Default: bi-encoder ×3 (real) or lexical-f1,
    /// lexical-rougeL, lexical-f1 (--synthetic).
    #[arg(long, value_delimiter = ',')]
    scorers: Vec<String>,
    /// The gateway's port (0: any free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Drive this many prompts of the project's QA set through the gateway, show the
    /// rounds live, write DIR/report.md, and stop.
    #[arg(long)]
    requests: Option<usize>,
    /// With --requests N: measure instead of report: the gateway's overhead over a
    /// direct inference call (p50), then finalized rounds per second and
    /// request-to-finalized latency with N requests; writes DIR/bench.json.
    #[arg(long, requires = "requests")]
    bench: bool,
    /// Prompts in flight at once while driving requests.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// K: evaluators per round.
    #[arg(long, default_value_t = 7)]
    committee: usize,
    /// The trust policy (none, published, calibrated).
    #[arg(long, default_value = "calibrated")]
    trust: String,
    /// The seed of keys (absent: the operating system's randomness).
    #[arg(long)]
    seed: Option<u64>,
    /// Model cache directory (default: $POQ_CACHE_DIR, else $XDG_CACHE_HOME/poq).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Write the network into DIR and exit, starting nothing (DIR/devnet.json lists each
    /// process's `poq` arguments, to run them by hand or under another supervisor).
    #[arg(long)]
    init_only: bool,
}

/// One child process of the devnet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildSpec {
    /// Its name (and log file's).
    pub name: String,
    /// Its arguments to `poq`.
    pub args: Vec<String>,
}

/// What `DIR/devnet.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Devnet {
    /// The gateway's URL.
    pub gateway: String,
    /// The validators' API URLs.
    pub apis: Vec<String>,
    /// The processes, in start order.
    pub children: Vec<ChildSpec>,
    /// Key → label.
    pub labels: BTreeMap<PublicKey, String>,
    /// Whether it runs synthetic models.
    pub synthetic: bool,
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("finding a free port on 127.0.0.1")?
        .local_addr()?
        .port())
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn path_arg(p: &Path) -> String {
    p.display().to_string()
}

/// Writes a new devnet under `dir`.
fn create(a: &DevnetArgs, dir: &Path) -> Result<Devnet> {
    if !(0.0..1.0).contains(&a.malicious) {
        bail!("--malicious {} is not in [0, 1)", a.malicious);
    }
    let attack = poq_core::attack::Attack::from_name(&a.attack).map_err(|e| anyhow::anyhow!("--attack: {e}"))?;
    let trust = TrustKind::from_name(&a.trust).map_err(|e| anyhow::anyhow!("--trust: {e}"))?;
    if a.committee > a.evaluators {
        bail!("--committee {} exceeds --evaluators {}", a.committee, a.evaluators);
    }
    let seed = match a.seed {
        Some(s) => poq_ledger::Hash::of("poq/devnet/seed", &[&s.to_le_bytes()]).0,
        None => crate::node::os_seed()?,
    };
    let models: Vec<(&str, f64)> = if a.synthetic {
        vec![("synthetic", 0.9), ("synthetic", 0.5)]
    } else {
        vec![("smollm2-135m-instruct", 0.0), ("gemma3-270m", 0.0)]
    };
    // Scorers per evaluator process. On real QA only the bi-encoder carries signal (r =
    // 0.82 with token F1); a committee that mixes it with uninformative scorers is the
    // case agreement-based trust cannot sort out (see "Not done yet"), so the real
    // devnet runs it everywhere by default.
    let scorers: Vec<&str> = if !a.scorers.is_empty() {
        for s in &a.scorers {
            poq_ml::registry::EvaluatorName::from_name(s).map_err(|e| anyhow::anyhow!("--scorers: {e}"))?;
        }
        a.scorers.iter().map(String::as_str).collect()
    } else if a.synthetic {
        vec!["lexical-f1", "lexical-rougeL", "lexical-f1"]
    } else {
        vec!["bi-encoder", "bi-encoder", "bi-encoder"]
    };
    let spec = TestnetSpec {
        network: "poq-devnet".into(),
        validators: a.validators,
        nodes: models.len(),
        evaluators: vec![Behaviour::Honest; a.evaluators],
        committee_size: a.committee,
        params: Params {
            draw_delay: 1,
            // Blocks come many times a second; a real model answers in seconds and
            // scores in fractions of one on a loaded CPU, so the windows (and the life
            // of a receipt, below) are long enough for the slowest honest participant.
            // A round closes as soon as every member has revealed.
            commit_blocks: if a.synthetic { 40 } else { 600 },
            reveal_blocks: if a.synthetic { 20 } else { 300 },
            max_ttl: if a.synthetic { 256 } else { 20_000 },
            ..Params::default()
        },
        trust,
    };
    let mut net = Testnet::new(&spec, &seed);
    let n_malicious = (a.evaluators as f64 * a.malicious).round() as usize;
    // Evaluator i runs in process i % P; the last n_malicious identities attack.
    let procs = scorers.len().min(a.evaluators.max(1));
    let scorer_of = |i: usize| scorers[i % procs];
    let mut labels = BTreeMap::new();
    for acc in &mut net.genesis.accounts {
        if let Some(i) = net.actors.nodes.iter().position(|(k, _)| k.public() == acc.key) {
            acc.roles.inference = Some(models[i].0.to_string());
            labels.insert(acc.key, format!("inference: {}", models[i].0));
        }
        if let Some(i) = net.actors.evaluators.iter().position(|(k, _)| k.public() == acc.key) {
            acc.roles.evaluator = Some(EvaluatorRole {
                scorer: scorer_of(i).to_string(),
                tasks: vec![Task::Qa, Task::Summarization],
            });
            let malicious = i >= a.evaluators - n_malicious && !matches!(attack, poq_core::attack::Attack::None);
            labels.insert(
                acc.key,
                if malicious {
                    format!("malicious: {}", a.attack)
                } else {
                    "honest".to_string()
                },
            );
        }
    }
    labels.insert(net.actors.gateway.public(), "gateway".into());
    net.genesis.validate()?;
    std::fs::create_dir_all(dir.join("logs")).with_context(|| format!("creating {}", dir.display()))?;
    let genesis = dir.join("genesis.json");
    write_genesis(&genesis, &net.genesis)?;
    let p2p: Vec<u16> = (0..a.validators).map(|_| free_port()).collect::<Result<_>>()?;
    let api: Vec<u16> = (0..a.validators).map(|_| free_port()).collect::<Result<_>>()?;
    let peers: Vec<Peer> = net
        .validators
        .iter()
        .zip(&p2p)
        .map(|(k, p)| Peer {
            key: k.public(),
            address: addr(*p),
        })
        .collect();
    let apis: Vec<String> = api.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    let mut children = Vec::new();
    for (i, key) in net.validators.iter().enumerate() {
        let d = dir.join(format!("validator-{i}"));
        std::fs::create_dir_all(&d)?;
        write_key(&d.join("key"), key)?;
        let config = NodeConfig {
            genesis: PathBuf::from("../genesis.json"),
            listen: addr(p2p[i]),
            peers: peers.clone(),
            leader_timeout_ms: 500,
            certification_timeout_ms: 1_000,
            mempool_txs: 100_000,
            mempool_bytes: 64 << 20,
            block_txs: 4_096,
            threads: 1,
            workload: None,
            api: Some(addr(api[i])),
        };
        config.write(&d.join("node.toml"))?;
        children.push(ChildSpec {
            name: format!("validator-{i}"),
            args: vec!["node".into(), "run".into(), "--dir".into(), path_arg(&d)],
        });
    }
    let mut inference_urls = Vec::new();
    for (i, ((key, _), (model, quality))) in net.actors.nodes.iter().zip(&models).enumerate() {
        let d = dir.join(format!("inference-{i}"));
        std::fs::create_dir_all(&d)?;
        write_key(&d.join("key"), key)?;
        let port = free_port()?;
        inference_urls.push(format!("http://127.0.0.1:{port}"));
        let mut args = vec![
            "worker".into(),
            "inference".into(),
            "--key".into(),
            path_arg(&d.join("key")),
            "--genesis".into(),
            path_arg(&genesis),
            "--listen".into(),
            addr(port).to_string(),
            "--backend".into(),
            model.to_string(),
            "--quality".into(),
            quality.to_string(),
        ];
        if let Some(c) = &a.cache_dir {
            args.extend(["--cache-dir".into(), path_arg(c)]);
        }
        children.push(ChildSpec {
            name: format!("inference-{i}"),
            args,
        });
    }
    let gateway_port = if a.port == 0 { free_port()? } else { a.port };
    let gateway = format!("http://127.0.0.1:{gateway_port}");
    for p in 0..procs {
        let d = dir.join(format!("evaluators-{p}"));
        std::fs::create_dir_all(&d)?;
        let mut keys = Vec::new();
        let mut malicious = Vec::new();
        for (i, (k, _)) in net.actors.evaluators.iter().enumerate().filter(|(i, _)| i % procs == p) {
            let f = d.join(format!("key-{i}"));
            write_key(&f, k)?;
            if labels.get(&k.public()).is_some_and(|l| l.starts_with("malicious")) {
                malicious.push(keys.len().to_string());
            }
            keys.push(path_arg(&f));
        }
        let mut args = vec![
            "worker".into(),
            "evaluator".into(),
            "--key".into(),
            keys.join(","),
            "--scorer".into(),
            scorers[p].to_string(),
            "--attack".into(),
            a.attack.clone(),
            "--genesis".into(),
            path_arg(&genesis),
            "--node".into(),
            apis[p % apis.len()..]
                .iter()
                .chain(&apis[..p % apis.len()])
                .cloned()
                .collect::<Vec<_>>()
                .join(","),
            "--gateway".into(),
            gateway.clone(),
            "--state".into(),
            path_arg(&d.join("state.json")),
            "--seed".into(),
            (p + 1).to_string(),
        ];
        if !malicious.is_empty() {
            args.extend(["--malicious".into(), malicious.join(",")]);
        }
        if let Some(c) = &a.cache_dir {
            args.extend(["--cache-dir".into(), path_arg(c)]);
        }
        children.push(ChildSpec {
            name: format!("evaluators-{p}"),
            args,
        });
    }
    let gd = dir.join("gateway");
    std::fs::create_dir_all(&gd)?;
    write_key(&gd.join("key"), &net.actors.gateway)?;
    let labels_path = dir.join("labels.json");
    std::fs::write(&labels_path, serde_json::to_vec_pretty(&labels)?)?;
    children.push(ChildSpec {
        name: "gateway".into(),
        args: vec![
            "gateway".into(),
            "--dir".into(),
            path_arg(&gd),
            "--genesis".into(),
            path_arg(&genesis),
            "--listen".into(),
            addr(gateway_port).to_string(),
            "--node".into(),
            apis.join(","),
            "--inference".into(),
            inference_urls.join(","),
            "--labels".into(),
            path_arg(&labels_path),
            "--ttl".into(),
            (if a.synthetic { 64 } else { 10_000 }).to_string(),
        ],
    });
    // The faucet's key is not needed by any process: the genesis funds the gateway.
    let _: &Keypair = &net.faucet;
    let devnet = Devnet {
        gateway,
        apis,
        children,
        labels,
        synthetic: a.synthetic,
    };
    let tmp = dir.join("devnet.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&devnet)?)?;
    std::fs::rename(&tmp, dir.join("devnet.json"))?;
    Ok(devnet)
}

/// Starts `spec` as a child of this process, its output appended to DIR/logs.
pub fn spawn(exe: &Path, dir: &Path, spec: &ChildSpec) -> Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("logs").join(format!("{}.log", spec.name)))?;
    Command::new(exe)
        .args(&spec.args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .env(
            "POQ_LOG",
            std::env::var("POQ_LOG").unwrap_or_else(|_| "warn,poq_node=info,poq=info".into()),
        )
        .spawn()
        .with_context(|| format!("starting {}", spec.name))
}

/// Sends SIGTERM to every child, then SIGKILL to those still running after `grace`.
pub fn stop_all(children: &mut [(String, Child)], grace: Duration) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    for (_, c) in children.iter() {
        let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    for (name, c) in children.iter_mut() {
        loop {
            match c.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                _ => {
                    eprintln!("{name} did not stop in {grace:?}: killing it");
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
            }
        }
    }
}

/// Waits until the gateway is healthy (it reached a ledger node and knows an inference
/// worker), up to `timeout`.
async fn wait_ready(http: &reqwest::Client, gateway: &str, timeout: Duration, stop: &AtomicBool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        if let Ok(r) = http
            .get(format!("{gateway}/health"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the gateway at {gateway} did not come up within {timeout:?} (see the logs under the devnet's logs/)")
}

/// Runs `poq devnet`.
pub fn run(a: &DevnetArgs) -> Result<()> {
    let dir = std::path::absolute(&a.dir).with_context(|| format!("{}", a.dir.display()))?;
    let devnet: Devnet = if dir.join("devnet.json").exists() {
        let d: Devnet = serde_json::from_slice(&std::fs::read(dir.join("devnet.json"))?)
            .with_context(|| format!("{}/devnet.json", dir.display()))?;
        eprintln!("resuming the devnet in {}", dir.display());
        d
    } else {
        create(a, &dir)?
    };
    if a.init_only {
        println!("{}", dir.join("devnet.json").display());
        return Ok(());
    }
    let exe = std::env::current_exe().context("finding the poq binary")?;
    let mut children = Vec::new();
    for c in &devnet.children {
        children.push((c.name.clone(), spawn(&exe, &dir, c)?));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let result = rt.block_on(async {
        let s = stop.clone();
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            s.store(true, Ordering::SeqCst);
        });
        let http = reqwest::Client::builder().build()?;
        let ready = if devnet.synthetic { Duration::from_secs(120) } else { Duration::from_secs(900) };
        wait_ready(&http, &devnet.gateway, ready, &stop).await?;
        println!("gateway: {}", devnet.gateway);
        match a.requests {
            Some(n) if a.bench => crate::bench::bench(&http, &devnet.gateway, devnet.synthetic, &dir, n, a.concurrency).await,
            Some(n) => crate::drive::drive(&http, &devnet.gateway, devnet.synthetic, &dir, n, a.concurrency, &stop).await,
            None => {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    for (name, c) in children.iter_mut() {
                        if let Ok(Some(status)) = c.try_wait() {
                            eprintln!("{name} exited ({status}); see {}/logs/{name}.log", dir.display());
                        }
                    }
                    children.retain_mut(|(_, c)| matches!(c.try_wait(), Ok(None)));
                }
                Ok(())
            }
        }
    });
    stop_all(&mut children, Duration::from_secs(10));
    result
}
