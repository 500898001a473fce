//! `poq gateway` and `poq worker inference|evaluator`: the processes of a network's
//! roles, each over the HTTP API of one or more validators.

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use poq_core::attack::Attack;
use poq_ledger::{Ledger, PublicKey};
use poq_node::client::NodeClient;
use poq_node::evaluator::{EvaluatorWorker, Identity};
use poq_node::files::{read_genesis, read_key};
use poq_node::gateway::content_store::ContentStore;
use poq_node::gateway::{Gateway, GatewayConfig};
use poq_node::inference::{Backend, InferenceWorker};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `poq gateway`.
#[derive(Args, Debug)]
pub struct GatewayArgs {
    /// The gateway's directory: its key (D/key) and content store (D/content.redb).
    #[arg(long)]
    dir: PathBuf,
    /// The network's genesis.
    #[arg(long)]
    genesis: PathBuf,
    /// Where to serve the API and the dashboard.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Validators' API URLs (comma separated; the gateway fails over between them).
    #[arg(long, value_delimiter = ',', required = true)]
    node: Vec<String>,
    /// Inference workers' URLs (comma separated).
    #[arg(long, value_delimiter = ',', required = true)]
    inference: Vec<String>,
    /// A JSON object key → label ("honest", "malicious: boosting") for the dashboard.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Seconds an inference call may take before the client gets 504.
    #[arg(long, default_value_t = 120)]
    inference_timeout_s: u64,
    /// Blocks a receipt stays submittable.
    #[arg(long, default_value_t = 64)]
    ttl: u64,
}

/// `poq worker` subcommands.
#[derive(Subcommand, Debug)]
pub enum WorkerCommand {
    /// Serve one model as an OpenAI-compatible inference node that signs receipts.
    ///
    /// --backend synthetic (deterministic answers from the project's QA set; --quality
    /// sets how often they are right), a model of the registry (smollm2-135m-instruct,
    /// gemma3-270m; fetched into the cache when missing), or upstream (--upstream-url,
    /// --upstream-model, $POQ_UPSTREAM_KEY).
    Inference(InferenceArgs),
    /// Score rounds for one or more evaluator identities, committing and revealing
    /// through the ledger.
    Evaluator(EvaluatorArgs),
}

/// `poq worker inference`.
#[derive(Args, Debug)]
pub struct InferenceArgs {
    /// The node's key file.
    #[arg(long)]
    key: PathBuf,
    /// The network's genesis.
    #[arg(long)]
    genesis: PathBuf,
    /// Where to listen.
    #[arg(long)]
    listen: SocketAddr,
    /// synthetic, smollm2-135m-instruct, gemma3-270m, or upstream.
    #[arg(long, default_value = "synthetic")]
    backend: String,
    /// The synthetic backend's probability of a right answer.
    #[arg(long, default_value_t = 0.8)]
    quality: f64,
    /// The upstream's base URL.
    #[arg(long)]
    upstream_url: Option<String>,
    /// The upstream's model.
    #[arg(long)]
    upstream_model: Option<String>,
    /// Model cache directory (default: $POQ_CACHE_DIR, else $XDG_CACHE_HOME/poq).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

/// `poq worker evaluator`.
#[derive(Args, Debug)]
pub struct EvaluatorArgs {
    /// Identity key files (comma separated).
    #[arg(long, value_delimiter = ',', required = true)]
    key: Vec<PathBuf>,
    /// Of those, the ones (by position, comma separated) that apply --attack.
    #[arg(long, value_delimiter = ',')]
    malicious: Vec<usize>,
    /// The attack of the malicious identities (none, noise, boosting, sabotage, …).
    #[arg(long, default_value = "none")]
    attack: String,
    /// The scorer (bi-encoder, bi-encoder-mpnet, cross-encoder, lexical-f1,
    /// lexical-rougeL, judge, judge-qwen).
    #[arg(long)]
    scorer: String,
    /// The scorer's model directory (cross-encoder; optional for the bi-encoder).
    #[arg(long)]
    model_dir: Option<PathBuf>,
    /// The network's genesis.
    #[arg(long)]
    genesis: PathBuf,
    /// Validators' API URLs (comma separated).
    #[arg(long, value_delimiter = ',', required = true)]
    node: Vec<String>,
    /// The gateway's URL (where it serves the content of its rounds).
    #[arg(long)]
    gateway: String,
    /// The state file (pledges survive a restart).
    #[arg(long)]
    state: PathBuf,
    /// Seed of the attack's draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Model cache directory (default: $POQ_CACHE_DIR, else $XDG_CACHE_HOME/poq).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}

fn network_of(genesis: &Path) -> Result<poq_ledger::Hash> {
    let g = read_genesis(genesis)?;
    Ok(*Ledger::genesis(&g)
        .map_err(|e| anyhow!("{}: {e}", genesis.display()))?
        .network())
}

/// Sets `stop` on Ctrl-C or SIGTERM; the future completes then.
async fn signalled(stop: Arc<AtomicBool>) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
    stop.store(true, Ordering::SeqCst);
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

fn cache(dir: &Option<PathBuf>) -> PathBuf {
    dir.clone().unwrap_or_else(poq_ml::fetch::default_cache_dir)
}

/// Runs `poq gateway`.
pub fn run_gateway(a: &GatewayArgs) -> Result<()> {
    let network = network_of(&a.genesis)?;
    let key = read_key(&a.dir.join("key"))?;
    let labels: BTreeMap<PublicKey, String> = match &a.labels {
        Some(p) => serde_json::from_slice(&std::fs::read(p).with_context(|| format!("reading {}", p.display()))?)
            .with_context(|| format!("{}: not a JSON object of key → label", p.display()))?,
        None => BTreeMap::new(),
    };
    let content = ContentStore::open(&a.dir.join("content.redb"))?;
    let config = GatewayConfig {
        inference: a.inference.clone(),
        ttl: a.ttl,
        inference_timeout: Duration::from_secs(a.inference_timeout_s),
        labels,
        ..GatewayConfig::default()
    };
    runtime()?.block_on(async {
        let node = NodeClient::new(a.node.clone())?;
        let gw = Gateway::new(key, network, node, content, config);
        let listener = bind(a.listen).await?;
        let stop = Arc::new(AtomicBool::new(false));
        tokio::spawn(poq_node::gateway::follow(gw.clone(), stop.clone()));
        tracing::info!(address = %a.listen, key = %gw.public(), "gateway listening");
        poq_node::gateway::serve(listener, gw, signalled(stop.clone())).await?;
        stop.store(true, Ordering::SeqCst);
        Ok(())
    })
}

/// Runs a `poq worker` subcommand.
pub fn run_worker(cmd: &WorkerCommand) -> Result<()> {
    match cmd {
        WorkerCommand::Inference(a) => run_inference(a),
        WorkerCommand::Evaluator(a) => run_evaluator(a),
    }
}

fn run_inference(a: &InferenceArgs) -> Result<()> {
    let network = network_of(&a.genesis)?;
    let key = read_key(&a.key)?;
    let backend = match a.backend.as_str() {
        "synthetic" => Backend::Synthetic { quality: a.quality },
        "upstream" => Backend::Upstream {
            url: a
                .upstream_url
                .clone()
                .context("--backend upstream needs --upstream-url")?,
            model: a
                .upstream_model
                .clone()
                .context("--backend upstream needs --upstream-model")?,
            key: std::env::var("POQ_UPSTREAM_KEY").ok(),
        },
        name => Backend::Model(poq_ml::registry::ModelName::from_name(name).map_err(|e| anyhow!("--backend: {e}"))?),
    };
    let generator = backend.load(&key.public().to_hex(), &cache(&a.cache_dir))?;
    let worker = InferenceWorker::new(key, network, backend.model_name(), generator);
    runtime()?.block_on(async {
        let listener = bind(a.listen).await?;
        tracing::info!(address = %a.listen, model = %backend.model_name(), "inference worker listening");
        poq_node::inference::serve(listener, worker, signalled(Arc::new(AtomicBool::new(false)))).await?;
        Ok(())
    })
}

fn run_evaluator(a: &EvaluatorArgs) -> Result<()> {
    let network = network_of(&a.genesis)?;
    let attack = Attack::from_name(&a.attack).map_err(|e| anyhow!("--attack: {e}"))?;
    for &m in &a.malicious {
        if m >= a.key.len() {
            bail!("--malicious {m}: there are only {} keys", a.key.len());
        }
    }
    let identities = a
        .key
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Ok(Identity {
                key: read_key(p)?,
                malicious: a.malicious.contains(&i),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let name = poq_ml::registry::EvaluatorName::from_name(&a.scorer).map_err(|e| anyhow!("--scorer: {e}"))?;
    let scorer = poq_ml::registry::load_scorer(name, a.model_dir.as_deref(), &cache(&a.cache_dir))
        .map_err(|e| anyhow!("loading scorer {}: {e}", a.scorer))?;
    let status_gateway = a.gateway.trim_end_matches('/').to_string();
    let worker = EvaluatorWorker {
        network,
        identities,
        scorer: Arc::new(std::sync::Mutex::new(scorer)),
        attack,
        seed: a.seed,
        gateways: BTreeMap::new(),
        default_gateway: Some(status_gateway),
        ttl: 128,
        state: a.state.clone(),
    };
    runtime()?.block_on(async {
        let node = NodeClient::new(a.node.clone())?;
        let stop = Arc::new(AtomicBool::new(false));
        tokio::spawn(signalled(stop.clone()));
        tracing::info!(identities = a.key.len(), scorer = %a.scorer, attack = %a.attack, "evaluator worker running");
        worker.run(node, stop).await?;
        Ok(())
    })
}
