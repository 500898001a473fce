//! `poq node`: initialise a local network, run a validator, verify a store.

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use poq_node::config::{NodeConfig, WorkloadConfig};
use poq_node::init::{InitSpec, init};
use poq_node::run::{RunOptions, run};
use poq_node::testnet::TestnetSpec;
use poq_node::workload::Behaviour;
use poq_node::{NodeError, Store};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The `node` subcommands.
#[derive(Subcommand, Debug)]
pub enum NodeCommand {
    /// Write a local network: a genesis (network id, validator keys, parameters, the
    /// initial registry), each validator's key and node.toml, and the synthetic
    /// participants' keys.
    ///
    /// Layout: D/genesis.json, D/participants.json, D/validator-<i>/{key,node.toml}.
    /// Validator i listens on 127.0.0.1:(base-port + i). Keys are derived from --seed
    /// (anyone with the seed has them: for local networks and tests), or from the
    /// operating system's randomness when it is absent.
    Init(InitArgs),
    /// Run one validator from its directory until Ctrl-C, SIGTERM or --stop-at-height.
    ///
    /// Reads D/node.toml (or --config); every key can be overridden by the flag of the
    /// same name. The ledger store is D/ledger.redb (one atomic write per finalized
    /// block), the engine's journals D/consensus/. Prints a JSON line with the final
    /// height and digest. Exit codes: 2 bad configuration, 3 missing, foreign or
    /// corrupt store, 4 address in use, 1 anything else.
    Run(RunArgs),
    /// Replay every block in a store from the genesis, check each height's digest, and
    /// print the final height and digest as JSON.
    Verify(VerifyArgs),
    /// Measure finalized rounds per second and round latency (submission to the block
    /// that closes the round, p50 and p99) of a real network on this machine.
    ///
    /// Validators run in this process on the tokio runtime over authenticated p2p on
    /// 127.0.0.1; the synthetic workload (no model time) submits to validator 0. Prints
    /// a table, then the report as one JSON line.
    Bench(BenchArgs),
}

/// `poq node bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Validators.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Evaluator identities.
    #[arg(long, default_value_t = 12)]
    evaluators: usize,
    /// K.
    #[arg(long, default_value_t = 7)]
    committee: usize,
    /// Rounds to run.
    #[arg(long, default_value_t = 1_000)]
    rounds: u64,
    /// Rounds submitted per finalized block (the offered load).
    #[arg(long, default_value_t = 20)]
    rounds_per_block: u64,
    /// Validator i listens on 127.0.0.1:(base-port + i).
    #[arg(long, default_value_t = 9200)]
    base_port: u16,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Leader timeout in milliseconds.
    #[arg(long, default_value_t = 500)]
    leader_timeout_ms: u64,
}

/// `poq node init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// The network's directory (must not hold a genesis yet).
    #[arg(long)]
    dir: PathBuf,
    /// The network's name.
    #[arg(long, default_value = "poq-devnet")]
    network: String,
    /// Validators (n = 3f + 1 tolerates f Byzantine ones).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Evaluator identities (synthetic scorers).
    #[arg(long, default_value_t = 12)]
    evaluators: usize,
    /// How many of them withhold reveals, switch scores or replay (in turn).
    #[arg(long, default_value_t = 0)]
    byzantine: usize,
    /// Inference nodes (synthetic answers).
    #[arg(long, default_value_t = 2)]
    nodes: usize,
    /// K: evaluators per round.
    #[arg(long, default_value_t = 7)]
    committee: usize,
    /// The seed keys are derived from (absent: the operating system's randomness).
    #[arg(long)]
    seed: Option<u64>,
    /// Validator i listens on 127.0.0.1:(base-port + i).
    #[arg(long, default_value_t = 9100)]
    base_port: u16,
    /// Validator 0 runs the synthetic workload with this many rounds per block.
    #[arg(long)]
    workload_rounds_per_block: Option<u64>,
    /// The workload submits this many rounds in all (absent: no limit).
    #[arg(long)]
    workload_rounds: Option<u64>,
    /// Validator i serves its HTTP API on 127.0.0.1:(api-base-port + i) (absent: none).
    #[arg(long)]
    api_base_port: Option<u16>,
}

/// `poq node run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The node's directory.
    #[arg(long)]
    dir: PathBuf,
    /// The configuration file (default: D/node.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override: the p2p listen address.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Override: milliseconds to wait for a leader's proposal.
    #[arg(long)]
    leader_timeout_ms: Option<u64>,
    /// Override: milliseconds to wait for a view's certificate.
    #[arg(long)]
    certification_timeout_ms: Option<u64>,
    /// Override: transactions the mempool holds.
    #[arg(long)]
    mempool_txs: Option<usize>,
    /// Override: bytes the mempool holds.
    #[arg(long)]
    mempool_bytes: Option<usize>,
    /// Override: transactions a proposed block carries at most.
    #[arg(long)]
    block_txs: Option<usize>,
    /// Override: tokio worker threads.
    #[arg(long)]
    threads: Option<usize>,
    /// Override: run the synthetic workload at this many rounds per block.
    #[arg(long)]
    workload_rounds_per_block: Option<u64>,
    /// Override: the workload's total rounds.
    #[arg(long)]
    workload_rounds: Option<u64>,
    /// Override: run no workload.
    #[arg(long)]
    no_workload: bool,
    /// Override: serve the node's HTTP API here (POST /v1/poq/tx, /v1/poq/status, …).
    #[arg(long)]
    api: Option<SocketAddr>,
    /// Exit (0) once this height is applied.
    #[arg(long)]
    stop_at_height: Option<u64>,
}

/// `poq node verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The node's directory.
    #[arg(long)]
    dir: PathBuf,
    /// The configuration file (default: D/node.toml), for the genesis path.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Also print the stored digest at this height (as `digest_at`).
    #[arg(long)]
    at_height: Option<u64>,
}

/// A failure with the exit code `poq node` documents.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NodeFailure(pub String, pub u8);

fn classify(e: NodeError) -> anyhow::Error {
    let code = match &e {
        NodeError::Config { .. } => 2,
        NodeError::MissingStore { .. }
        | NodeError::Corrupt { .. }
        | NodeError::WrongNetwork { .. }
        | NodeError::DigestMismatch { .. }
        | NodeError::Store { .. } => 3,
        NodeError::Io { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => 4,
        NodeError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 2,
        _ => 1,
    };
    NodeFailure(e.to_string(), code).into()
}

/// 32 bytes of the operating system's randomness, for key seeds.
pub(crate) fn os_seed() -> Result<[u8; 32]> {
    use std::io::Read as _;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .context("reading /dev/urandom for the key seed (or pass --seed)")?;
    Ok(seed)
}

/// Runs a `node` subcommand.
pub fn run_node(cmd: &NodeCommand) -> Result<()> {
    match cmd {
        NodeCommand::Init(a) => run_init(a),
        NodeCommand::Run(a) => run_run(a),
        NodeCommand::Verify(a) => run_verify(a),
        NodeCommand::Bench(a) => run_bench(a),
    }
}

fn run_init(a: &InitArgs) -> Result<()> {
    if a.byzantine > a.evaluators {
        bail!(NodeFailure(
            format!("--byzantine {} exceeds --evaluators {}", a.byzantine, a.evaluators),
            2
        ));
    }
    let byzantine = [Behaviour::Withhold, Behaviour::Switch, Behaviour::Replay];
    let evaluators = (0..a.evaluators)
        .map(|i| {
            if i < a.byzantine {
                byzantine[i % 3]
            } else {
                Behaviour::Honest
            }
        })
        .collect();
    let seed = match a.seed {
        Some(s) => poq_ledger::Hash::of("poq/cli/init-seed", &[&s.to_le_bytes()]).0,
        None => os_seed()?,
    };
    let spec = InitSpec {
        testnet: TestnetSpec {
            network: a.network.clone(),
            validators: a.validators,
            nodes: a.nodes,
            evaluators,
            committee_size: a.committee,
            ..TestnetSpec::default()
        },
        seed,
        base_port: a.base_port,
        workload: a.workload_rounds_per_block.map(|r| (r, a.workload_rounds)),
        api_base_port: a.api_base_port,
    };
    let dirs = init(&a.dir, &spec).map_err(classify)?;
    for d in &dirs {
        println!("{}", d.display());
    }
    Ok(())
}

fn load_config(dir: &std::path::Path, config: &Option<PathBuf>) -> Result<NodeConfig> {
    let path = config.clone().unwrap_or_else(|| dir.join("node.toml"));
    NodeConfig::load(&path).map_err(classify)
}

fn run_run(a: &RunArgs) -> Result<()> {
    let mut c = load_config(&a.dir, &a.config)?;
    if let Some(v) = a.listen {
        c.listen = v;
    }
    if let Some(v) = a.leader_timeout_ms {
        c.leader_timeout_ms = v;
    }
    if let Some(v) = a.certification_timeout_ms {
        c.certification_timeout_ms = v;
    }
    if let Some(v) = a.mempool_txs {
        c.mempool_txs = v;
    }
    if let Some(v) = a.mempool_bytes {
        c.mempool_bytes = v;
    }
    if let Some(v) = a.block_txs {
        c.block_txs = v;
    }
    if let Some(v) = a.threads {
        c.threads = v;
    }
    if let Some(r) = a.workload_rounds_per_block {
        let w = c.workload.get_or_insert_with(|| WorkloadConfig {
            participants: PathBuf::from("../participants.json"),
            rounds_per_block: r,
            rounds: None,
            seed: 1,
        });
        w.rounds_per_block = r;
    }
    if let (Some(w), Some(n)) = (c.workload.as_mut(), a.workload_rounds) {
        w.rounds = Some(n);
    }
    if a.no_workload {
        c.workload = None;
    }
    if let Some(v) = a.api {
        c.api = Some(v);
    }
    c.validate()
        .map_err(|reason| NodeFailure(format!("{}: {reason}", a.dir.display()), 2))?;
    let summary = run(RunOptions {
        dir: a.dir.clone(),
        config: c,
        stop_at: a.stop_at_height,
    })
    .map_err(classify)?;
    println!(
        "{}",
        serde_json::json!({"height": summary.height, "digest": summary.digest.to_hex()})
    );
    Ok(())
}

fn run_verify(a: &VerifyArgs) -> Result<()> {
    let c = load_config(&a.dir, &a.config)?;
    let genesis_path = if c.genesis.is_absolute() {
        c.genesis.clone()
    } else {
        a.dir.join(&c.genesis)
    };
    let genesis = poq_node::files::read_genesis(&genesis_path).map_err(classify)?;
    let store = Store::open(&a.dir.join("ledger.redb"), &genesis).map_err(classify)?;
    let digest = store.verify(&genesis).map_err(classify)?;
    let mut out = serde_json::json!({"height": store.ledger().height(), "digest": digest.to_hex()});
    if let Some(h) = a.at_height {
        let at = store.digest_at(h).map_err(classify)?;
        let Some(at) = at else {
            bail!(NodeFailure(
                format!(
                    "the store is at height {}, below --at-height {h}",
                    store.ledger().height()
                ),
                2
            ));
        };
        out["digest_at"] = serde_json::Value::String(at.to_hex());
    }
    println!("{out}");
    Ok(())
}

fn run_bench(a: &BenchArgs) -> Result<()> {
    for (name, v) in [
        ("validators", a.validators as u64),
        ("rounds", a.rounds),
        ("rounds-per-block", a.rounds_per_block),
        ("threads", a.threads as u64),
    ] {
        if v == 0 {
            bail!(NodeFailure(format!("--{name} 0: must be at least 1"), 2));
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("poq-bench-")
        .tempdir()
        .context("creating the benchmark's directory")?;
    let spec = poq_node::bench::BenchSpec {
        testnet: TestnetSpec {
            validators: a.validators,
            evaluators: vec![Behaviour::Honest; a.evaluators],
            committee_size: a.committee,
            ..TestnetSpec::default()
        },
        rounds: a.rounds,
        rounds_per_block: a.rounds_per_block,
        base_port: a.base_port,
        threads: a.threads,
        leader_timeout_ms: a.leader_timeout_ms,
    };
    let r = poq_node::bench::run(&spec, dir.path()).map_err(classify)?;
    println!(
        "{} validators, K = {}, {} rounds ({} finalized) in {:.2} s",
        r.validators, r.committee_size, r.rounds, r.finalized, r.seconds
    );
    println!(
        "rounds/s {:.1}   txs/s {:.0}   blocks/s {:.1}   latency p50 {:.0} ms   p99 {:.0} ms",
        r.rounds_per_second, r.txs_per_second, r.blocks_per_second, r.latency_ms_p50, r.latency_ms_p99
    );
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}
