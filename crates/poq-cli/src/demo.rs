//! `poq demo`: the simulator's demo preset (`scenarios/demo.toml`), on real model
//! answers (`--real`) or on its synthetic world, printed as tables.
//!
//! The demo is one cell of that scenario under three defenses: the published rule
//! (weighted mean + published trust), a plain median, and ours (weighted median +
//! calibrated trust). It runs through `poq_sim` exactly as `poq sim --scenario
//! scenarios/demo.toml` does, so that command reproduces its numbers. With `--real`,
//! real LLMs answer real QA prompts and real evaluators score every answer (collected
//! once, resumable), and the rounds replay those answers and scores, each logged
//! evaluator seated on `--replicas` evaluator nodes. This file holds arguments and
//! printing only.

use anyhow::{Context, Result, bail};
use poq_sim::cell::{CellDetail, CellSpec};
use poq_sim::defense::DEMO_DEFENSES;
use poq_sim::play::run_once;
use poq_sim::replay::ReplayWorld;
use poq_sim::scenario::Scenario;
use poq_sim::world::{SyntheticWorld, World};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `poq demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Number of rounds (one answer scored per round; default: the preset's 400).
    #[arg(long)]
    rounds: Option<usize>,
    /// Evaluators in the pool (synthetic world; default: the preset's 12).
    #[arg(long)]
    evaluators: Option<usize>,
    /// Committee size K.
    #[arg(short = 'k', long, default_value_t = 7)]
    committee: usize,
    /// Fraction ρ of the pool that is malicious, in [0, 1].
    #[arg(long, default_value_t = 0.25)]
    malicious: f64,
    /// The malicious evaluators' behaviour: none, noise, boosting, sabotage,
    /// intermittent, collusion, on-off, constant, copycat, sybil or withhold.
    #[arg(long, default_value = "boosting")]
    attack: String,
    /// Seed of every random draw (default: the preset's 7); the same seed prints the
    /// same tables.
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Real models on real prompts: collect answers from every in-process LLM to the
    /// project's QA set, scored by every evaluator (fetching models first; the log is
    /// cached and resumed), then play the rounds on those answers and scores.
    #[arg(long)]
    real: bool,
    /// With --real: QA prompts to collect answers for.
    #[arg(long, default_value_t = 12)]
    prompts: usize,
    /// With --real: the log to collect into or replay (default: demo-qa.jsonl in the
    /// model cache; an existing file is resumed and reused).
    #[arg(long)]
    logs: Option<PathBuf>,
    /// With --real: evaluator nodes per logged evaluator.
    #[arg(long, default_value_t = 3)]
    replicas: usize,
}

/// Collects (or resumes) the demo's log of real answers and returns its path.
fn collect_real(args: &DemoArgs) -> Result<PathBuf> {
    let cache = poq_ml::fetch::default_cache_dir();
    let logs = match &args.logs {
        Some(p) => p.clone(),
        None => {
            let dir = cache.join("demo");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.join("demo-qa.jsonl")
        }
    };
    if args.logs.as_ref().is_some_and(|p| p.exists()) {
        return Ok(logs);
    }
    eprintln!(
        "poq demo --real: answers of every in-process LLM to {} QA prompts, scored by every evaluator, into {}",
        args.prompts,
        logs.display()
    );
    let plan = poq_ml::collect::CollectPlan {
        limit: Some(args.prompts),
        seed: args.seed.unwrap_or(0),
        cache,
        ..poq_ml::collect::CollectPlan::new(poq_core::Task::Qa, logs.clone())
    };
    crate::collect::run_plan(&plan)?;
    Ok(logs)
}

/// An inference node as the report describes it.
#[derive(Serialize)]
struct Node {
    name: String,
    /// Mean ground truth of its answers (0-10).
    quality: f64,
    /// Mean latency (ms).
    latency_ms: f64,
}

/// One defense's results.
#[derive(Serialize)]
struct DefenseReport<'a> {
    defense: &'static str,
    #[serde(flatten)]
    result: &'a poq_sim::cell::CellResult,
    trust_weights: &'a [f64],
    evaluator_rewards: &'a [f64],
    inference_reward_per_round: Vec<Option<f64>>,
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"))
}

/// `poq demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&args.malicious) {
        bail!("--malicious {} is not a fraction in [0, 1]", args.malicious);
    }
    let mut scenario = Scenario::demo().context("the demo preset")?;
    if let Some(r) = args.rounds {
        scenario.rounds = r;
    }
    if let Some(s) = args.seed {
        scenario.seed = s;
    }
    if let Some(n) = args.evaluators {
        if args.real {
            bail!(
                "--evaluators {n} applies to the synthetic world; with --real the pool is the logged evaluators × --replicas"
            );
        }
        scenario.evaluators.count = n;
    }
    let mut replay = String::new();
    let world: Box<dyn World> = if args.real {
        if args.prompts == 0 {
            bail!("--prompts must be at least 1");
        }
        let logs = collect_real(args)?;
        replay = format!(" --logs {} --replicas {}", logs.display(), args.replicas);
        let w = ReplayWorld::load(&logs)
            .and_then(|w| w.with_replicas(args.replicas))
            .with_context(|| format!("replaying {}", logs.display()))?;
        scenario.fit_to_pool(w.evaluators());
        Box::new(w)
    } else {
        Box::new(SyntheticWorld::new(&scenario, scenario.seed))
    };
    let kinds: Vec<String> = (0..world.evaluators()).map(|i| world.evaluator_kind(i)).collect();
    let nodes: Vec<Node> = (0..world.nodes())
        .map(|i| {
            let (quality, latency_ms) = world.node_profile(i);
            Node {
                name: world.node_name(i),
                quality,
                latency_ms,
            }
        })
        .collect();
    let n = world.evaluators();
    if args.committee == 0 || args.committee > n {
        bail!(
            "--committee {} must be between 1 and the {n} evaluators of the pool",
            args.committee
        );
    }
    // The demo is this one cell of the preset: its grid says so, and is validated with
    // the rest.
    scenario.grid.ks = vec![args.committee];
    scenario.grid.rhos = vec![args.malicious];
    scenario.grid.attacks = vec![args.attack.clone()];
    scenario
        .validate()
        .context("the demo preset with the command-line values")?;
    let attack = scenario
        .attack
        .attack(&args.attack)
        .with_context(|| format!("--attack {}", args.attack))?;
    let details: Vec<(&'static str, CellDetail)> = DEMO_DEFENSES
        .iter()
        .map(|&(name, d)| {
            let spec = CellSpec::new(&scenario, attack, args.malicious, args.committee, d);
            run_once(&scenario, world.as_ref(), &spec, 0, 0)
                .with_context(|| format!("defense {name}, seed {}", scenario.seed))
                .map(|detail| (name, detail))
        })
        .collect::<Result<_>>()?;
    let malicious = &details[0].1.malicious;
    let reports: Vec<DefenseReport> = details
        .iter()
        .map(|(name, d)| DefenseReport {
            defense: name,
            result: &d.result,
            trust_weights: &d.final_weights,
            evaluator_rewards: &d.book.evaluator,
            inference_reward_per_round: d.node_rewards.iter().map(|m| (m.n > 0).then_some(m.mean)).collect(),
        })
        .collect();
    if args.json {
        let out = serde_json::json!({
            "scenario": scenario.name,
            "seed": scenario.seed,
            "rounds": scenario.rounds,
            "evaluators": n,
            "k": args.committee,
            "malicious_fraction": args.malicious,
            "attack": attack.name(),
            "real": args.real,
            "malicious": malicious,
            "evaluator_kinds": kinds,
            "models": nodes,
            "defenses": reports,
        });
        let text = serde_json::to_string_pretty(&out)? + "\n";
        return write_stdout(&text);
    }
    let mut out = String::new();
    writeln!(
        out,
        "poq demo{}: scenario {} (scenarios/demo.toml), {} rounds, {n} evaluators ({} malicious, attack {}), K = {}, seed {}\n",
        if args.real { " --real" } else { "" },
        scenario.name,
        scenario.rounds,
        malicious.iter().filter(|&&m| m).count(),
        attack.name(),
        args.committee,
        scenario.seed
    )?;
    writeln!(
        out,
        "Consensus against ground truth, and detection of malicious evaluators by trust:"
    )?;
    writeln!(
        out,
        "{:<10} {:<16} {:<11} {:>8} {:>7} {:>14}",
        "defense", "rule", "trust", "pearson", "mae", "detection_auc"
    )?;
    for d in &reports {
        writeln!(
            out,
            "{:<10} {:<16} {:<11} {:>8} {:>7} {:>14}",
            d.defense,
            d.result.rule,
            d.result.trust,
            fmt_opt(d.result.pearson),
            fmt_opt(d.result.mae),
            fmt_opt(d.result.detection_auc)
        )?;
    }
    writeln!(out, "\nEvaluators: final trust weight and total reward per defense:")?;
    let w = kinds.iter().map(String::len).max().unwrap_or(0).max(4);
    write!(out, "{:>4} {:<9} {:<w$}", "id", "role", "runs")?;
    for d in &reports {
        write!(
            out,
            " {:>10} {:>10}",
            format!("w:{}", d.defense),
            format!("R:{}", d.defense)
        )?;
    }
    writeln!(out)?;
    for (i, kind) in kinds.iter().enumerate() {
        write!(
            out,
            "{:>4} {:<9} {:<w$}",
            i,
            if malicious.get(i).copied().unwrap_or(false) {
                "MALICIOUS"
            } else {
                "honest"
            },
            kind
        )?;
        for d in &reports {
            let weight = d.trust_weights.get(i).copied().unwrap_or(f64::NAN);
            let reward = d.evaluator_rewards.get(i).copied().unwrap_or(f64::NAN);
            write!(out, " {weight:>10.3} {reward:>10.2}")?;
        }
        writeln!(out)?;
    }
    writeln!(out, "\nInference nodes: mean reward per round (quality minus cost):")?;
    write!(out, "{:<22} {:>7} {:>9}", "node", "quality", "latency")?;
    for d in &reports {
        write!(out, " {:>10}", d.defense)?;
    }
    writeln!(out)?;
    for (i, m) in nodes.iter().enumerate() {
        write!(out, "{:<22} {:>7.2} {:>7.0}ms", m.name, m.quality, m.latency_ms)?;
        for d in &reports {
            write!(
                out,
                " {:>10}",
                fmt_opt(d.inference_reward_per_round.get(i).copied().flatten())
            )?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "\nReproduce any row: poq sim --scenario scenarios/demo.toml{replay} --seed {} --rounds {} --attack {} --rho {} -k {} --rule RULE --trust TRUST",
        scenario.seed,
        scenario.rounds,
        attack.name(),
        args.malicious,
        args.committee
    )?;
    write_stdout(&out)
}

/// Writes the report in one piece; a closed pipe (`poq demo | head`) is not an error.
fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing stdout"),
    }
}
