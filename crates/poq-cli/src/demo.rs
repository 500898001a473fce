//! `poq demo`: an end-to-end run of the round state machine, on real model answers
//! (`--real`) or on a synthetic world.
//!
//! With `--real`, real LLMs (SmolLM2-135M-Instruct and Gemma-3-270M, in process) answer
//! real QA prompts and real evaluators score every answer (`poq collect`, resumable and
//! cached); a pool of evaluator nodes, each running one of those evaluators, some of
//! them malicious, then scores the answers in sampled committees. Without it, five
//! synthetic inference nodes from weak and slow to strong and fast answer and
//! evaluators with drawn bias and noise score.
//!
//! The same world (prompts, ground truth, committees, honest scores and attack draws) is
//! replayed under three defenses, so their differences are the defenses' alone: the
//! published rule (weighted mean + published trust), a plain median, and ours (weighted
//! median + calibrated trust).

use anyhow::{Context, Result, bail};
use poq_core::aggregate::Rule;
use poq_core::attack::{self, Attack, History, Member};
use poq_core::committee::sample_uniform;
use poq_core::reward::{CostScale, RewardBook, RewardParams};
use poq_core::rng::{Xoshiro256PlusPlus, below, derive_seed, standard_normal, unit_f64};
use poq_core::round::{Round, RoundConfig};
use poq_core::stats;
use poq_core::trust::{TrustPolicy, policy_from_name};
use serde::Serialize;
use std::fmt::Write as _;

/// Arguments of `poq demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Number of rounds (one answer scored per round).
    #[arg(long, default_value_t = 400)]
    rounds: u64,
    /// Evaluators in the pool.
    #[arg(long, default_value_t = 12)]
    evaluators: usize,
    /// Committee size K.
    #[arg(short = 'k', long, default_value_t = 7)]
    committee: usize,
    /// Fraction ρ of the pool that is malicious, in [0, 1].
    #[arg(long, default_value_t = 0.25)]
    malicious: f64,
    /// The malicious evaluators' behaviour: none, noise, boosting, sabotage,
    /// intermittent, collusion, on-off, constant, copycat or sybil.
    #[arg(long, default_value = "boosting")]
    attack: String,
    /// Seed of every random draw; the same seed prints the same tables.
    #[arg(long, default_value_t = 7)]
    seed: u64,
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
    logs: Option<std::path::PathBuf>,
}

/// An inference node of the synthetic world.
struct Model {
    name: &'static str,
    quality: f64,
    latency_ms: f64,
}

const MODELS: [Model; 5] = [
    Model {
        name: "weak-slow",
        quality: 4.0,
        latency_ms: 1400.0,
    },
    Model {
        name: "small",
        quality: 5.5,
        latency_ms: 1000.0,
    },
    Model {
        name: "medium",
        quality: 6.5,
        latency_ms: 800.0,
    },
    Model {
        name: "large-fast",
        quality: 7.5,
        latency_ms: 600.0,
    },
    Model {
        name: "strong-fast",
        quality: 8.5,
        latency_ms: 400.0,
    },
];

/// An inference node as the report describes it.
#[derive(Serialize)]
struct Node {
    name: String,
    /// Mean ground truth of its answers (0-10).
    quality: f64,
    /// Mean latency (ms).
    latency_ms: f64,
}

/// One prompt of the world, identical under every defense.
struct WorldRound {
    node: u32,
    truth: f64,
    latency_ms: f64,
    committee: Vec<u32>,
    honest: Vec<f64>,
}

struct Evaluator {
    malicious: bool,
    /// What it runs: its noise level (synthetic) or its evaluator model (real).
    kind: String,
    noise: f64,
    bias: f64,
    latency_ms: f64,
}

/// Marks a seeded-random `malicious` fraction of the pool, so ids carry no hint.
fn mark_malicious(rng: &mut Xoshiro256PlusPlus, evaluators: &mut [Evaluator], fraction: f64) {
    let n = evaluators.len();
    let malicious_count = (fraction * n as f64).round() as usize;
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, below(rng, i as u64 + 1) as usize);
    }
    for &i in &order[..malicious_count] {
        evaluators[i].malicious = true;
    }
}

type World = (Vec<Node>, Vec<Evaluator>, Vec<WorldRound>);

fn build_world(args: &DemoArgs) -> Result<World> {
    let mut rng = Xoshiro256PlusPlus::from_u64(args.seed);
    let n = args.evaluators;
    let mut evaluators: Vec<Evaluator> = (0..n)
        .map(|_| {
            let noise = 0.4 + 0.8 * unit_f64(&mut rng);
            Evaluator {
                malicious: false,
                kind: format!("noise {noise:.2}"),
                noise,
                bias: -0.3 + 0.6 * unit_f64(&mut rng),
                latency_ms: 50.0 + 100.0 * unit_f64(&mut rng),
            }
        })
        .collect();
    mark_malicious(&mut rng, &mut evaluators, args.malicious);
    let mut master = [0u8; 32];
    master[..8].copy_from_slice(&args.seed.to_le_bytes());
    let nodes = MODELS
        .iter()
        .map(|m| Node {
            name: m.name.to_string(),
            quality: m.quality,
            latency_ms: m.latency_ms,
        })
        .collect();
    let rounds = (0..args.rounds)
        .map(|t| {
            let node = below(&mut rng, MODELS.len() as u64) as u32;
            let m = &MODELS[node as usize];
            let truth = (m.quality + 1.2 * standard_normal(&mut rng)).clamp(0.0, 10.0);
            let latency_ms = m.latency_ms * (0.2 * standard_normal(&mut rng)).exp();
            // Committees come from their own per-round seed, as a node would derive it.
            let committee = sample_uniform(&derive_seed(&master, t), n, args.committee)?;
            let honest = committee
                .iter()
                .map(|&e| {
                    let ev = &evaluators[e as usize];
                    (truth + ev.bias + ev.noise * standard_normal(&mut rng)).clamp(0.0, 10.0)
                })
                .collect();
            Ok(WorldRound {
                node,
                truth,
                latency_ms,
                committee,
                honest,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((nodes, evaluators, rounds))
}

/// The world of real answers: every round draws a logged answer uniformly; evaluator
/// node i runs logged evaluator i mod M and reports its logged score honestly.
fn build_real_world(args: &DemoArgs, logs: &std::path::Path) -> Result<World> {
    let records = poq_sim::replay::read_logs(logs).with_context(|| format!("reading {}", logs.display()))?;
    let models: Vec<String> = records
        .iter()
        .flat_map(|r| r.scores.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Only answers every evaluator scored (a judge may fail to give a grade).
    let complete: Vec<_> = records.iter().filter(|r| r.scores.len() == models.len()).collect();
    if complete.is_empty() {
        bail!(
            "{}: no record is scored by all of {}",
            logs.display(),
            models.join(", ")
        );
    }
    let names: Vec<String> = complete
        .iter()
        .map(|r| r.node.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let truth_of = |r: &poq_core::record::LogRecord| 10.0 * if r.task == "qa" { r.gt_f1 } else { r.gt_rouge_l };
    let nodes: Vec<Node> = names
        .iter()
        .map(|name| {
            let mine: Vec<_> = complete.iter().filter(|r| &r.node == name).collect();
            let k = mine.len() as f64;
            Node {
                name: name.clone(),
                quality: mine.iter().map(|r| truth_of(r)).sum::<f64>() / k,
                latency_ms: mine.iter().map(|r| r.latency_ms).sum::<f64>() / k,
            }
        })
        .collect();
    let mut rng = Xoshiro256PlusPlus::from_u64(args.seed);
    let n = args.evaluators;
    let mut evaluators: Vec<Evaluator> = (0..n)
        .map(|i| {
            let model = &models[i % models.len()];
            let lat = complete
                .iter()
                .filter_map(|r| r.eval_latency_ms.get(model))
                .sum::<f64>();
            Evaluator {
                malicious: false,
                kind: model.clone(),
                noise: f64::NAN,
                bias: f64::NAN,
                latency_ms: lat / complete.len() as f64,
            }
        })
        .collect();
    mark_malicious(&mut rng, &mut evaluators, args.malicious);
    let mut master = [0u8; 32];
    master[..8].copy_from_slice(&args.seed.to_le_bytes());
    let rounds = (0..args.rounds)
        .map(|t| {
            let r = complete[below(&mut rng, complete.len() as u64) as usize];
            let committee = sample_uniform(&derive_seed(&master, t), n, args.committee)?;
            let honest = committee
                .iter()
                .map(|&e| r.scores[&models[e as usize % models.len()]])
                .collect();
            Ok(WorldRound {
                node: names.binary_search(&r.node).unwrap_or(0) as u32,
                truth: truth_of(r),
                latency_ms: r.latency_ms,
                committee,
                honest,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((nodes, evaluators, rounds))
}

/// Collects (or resumes) the demo's log of real answers and returns its path.
fn collect_real(args: &DemoArgs) -> Result<std::path::PathBuf> {
    let cache = poq_ml::fetch::default_cache_dir();
    let logs = match &args.logs {
        Some(p) => p.clone(),
        None => {
            let dir = cache.join("demo");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.join("demo-qa.jsonl")
        }
    };
    eprintln!(
        "poq demo --real: answers of every in-process LLM to {} QA prompts, scored by every evaluator, into {}",
        args.prompts,
        logs.display()
    );
    crate::collect::run(&crate::collect::CollectArgs {
        task: "qa".to_string(),
        models: Vec::new(),
        evaluators: Vec::new(),
        cross_encoder: None,
        limit: Some(args.prompts),
        data: None,
        out: logs.clone(),
        max_tokens: None,
        temperature: 0.0,
        seed: args.seed,
        cache: Some(cache),
    })?;
    Ok(logs)
}

/// One defense's results.
#[derive(Serialize)]
struct DefenseReport {
    defense: &'static str,
    rule: &'static str,
    trust: &'static str,
    pearson: Option<f64>,
    mae: Option<f64>,
    detection_auc: Option<f64>,
    trust_weights: Vec<f64>,
    evaluator_rewards: Vec<f64>,
    inference_reward_per_round: Vec<Option<f64>>,
}

#[allow(clippy::too_many_arguments)]
fn run_defense(
    name: &'static str,
    rule: Rule,
    trust_name: &str,
    nodes: usize,
    args: &DemoArgs,
    attack: &Attack,
    evaluators: &[Evaluator],
    world: &[WorldRound],
) -> Result<DefenseReport> {
    let n = evaluators.len();
    let mut trust: Box<dyn TrustPolicy + Send> = policy_from_name(trust_name, n)?;
    let config = RoundConfig {
        rule,
        quorum: 0,
        rewards: RewardParams::default(),
        inference_cost: CostScale::Reference { reference: 2000.0 },
        evaluator_cost: CostScale::Reference { reference: 200.0 },
    };
    let mut book = RewardBook::new(nodes, n);
    let mut attack_rng = Xoshiro256PlusPlus::from_u64(args.seed ^ 0xA77A_C4ED);
    let (mut consensus, mut truth) = (Vec::new(), Vec::new());
    let mut last_consensus = None;
    let mut reported = Vec::new();
    for (t, w) in world.iter().enumerate() {
        let weights = trust.weights();
        let mut sorted = weights.clone();
        sorted.sort_by(f64::total_cmp);
        let history = History {
            round: t as u64,
            last_consensus,
            reference_trust: sorted[sorted.len() / 2],
        };
        let members: Vec<Member> = w
            .committee
            .iter()
            .zip(&w.honest)
            .map(|(&e, &honest)| Member {
                honest,
                malicious: evaluators[e as usize].malicious,
                trust: weights[e as usize],
            })
            .collect();
        attack::apply(attack, &members, &history, &mut attack_rng, &mut reported);
        let mut round = Round::open(config, t as u64, w.node, w.latency_ms, w.committee.clone(), n)?;
        for (&e, &s) in w.committee.iter().zip(&reported) {
            round.submit(e, s, evaluators[e as usize].latency_ms)?;
        }
        let outcome = round
            .finalize(trust.as_mut())
            .with_context(|| format!("round {t}, seed {}", args.seed))?;
        book.record(&outcome);
        consensus.push(outcome.consensus);
        truth.push(w.truth);
        last_consensus = Some(outcome.consensus);
    }
    let weights = trust.weights();
    let suspicion: Vec<f64> = weights.iter().map(|w| -w).collect();
    let malicious: Vec<bool> = evaluators.iter().map(|e| e.malicious).collect();
    Ok(DefenseReport {
        defense: name,
        rule: rule.name(),
        trust: trust.name(),
        pearson: stats::pearson(&consensus, &truth),
        mae: stats::mae(&consensus, &truth),
        detection_auc: if trust_name == "none" {
            None
        } else {
            stats::auc(&suspicion, &malicious)
        },
        trust_weights: weights,
        evaluator_rewards: book.evaluator.clone(),
        inference_reward_per_round: book
            .inference
            .iter()
            .zip(&book.inference_rounds)
            .map(|(r, &n)| (n > 0).then(|| r / n as f64))
            .collect(),
    })
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"))
}

/// `poq demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&args.malicious) {
        bail!("--malicious {} is not a fraction in [0, 1]", args.malicious);
    }
    if args.committee == 0 || args.committee > args.evaluators {
        bail!(
            "--committee {} must be between 1 and --evaluators {}",
            args.committee,
            args.evaluators
        );
    }
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let attack = Attack::from_name(&args.attack).with_context(|| format!("--attack {}", args.attack))?;
    let (nodes, evaluators, world) = if args.real {
        if args.prompts == 0 {
            bail!("--prompts must be at least 1");
        }
        let logs = match &args.logs {
            Some(p) if p.exists() => p.clone(),
            _ => collect_real(args)?,
        };
        build_real_world(args, &logs)?
    } else {
        build_world(args)?
    };
    let m = nodes.len();
    let defenses = [
        run_defense(
            "published",
            Rule::WeightedMean,
            "published",
            m,
            args,
            &attack,
            &evaluators,
            &world,
        )?,
        run_defense("median", Rule::Median, "none", m, args, &attack, &evaluators, &world)?,
        run_defense(
            "ours",
            Rule::WeightedMedian,
            "calibrated",
            m,
            args,
            &attack,
            &evaluators,
            &world,
        )?,
    ];
    if args.json {
        let out = serde_json::json!({
            "seed": args.seed,
            "rounds": args.rounds,
            "evaluators": args.evaluators,
            "k": args.committee,
            "malicious_fraction": args.malicious,
            "attack": attack.name(),
            "real": args.real,
            "malicious": evaluators.iter().map(|e| e.malicious).collect::<Vec<_>>(),
            "evaluator_kinds": evaluators.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
            "models": nodes,
            "defenses": defenses,
        });
        let text = serde_json::to_string_pretty(&out)? + "\n";
        return write_stdout(&text);
    }
    let mut out = String::new();
    let malicious_count = evaluators.iter().filter(|e| e.malicious).count();
    writeln!(
        out,
        "poq demo{}: {} rounds, {} evaluators ({} malicious, attack {}), K = {}, seed {}\n",
        if args.real { " --real" } else { "" },
        args.rounds,
        args.evaluators,
        malicious_count,
        attack.name(),
        args.committee,
        args.seed
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
    for d in &defenses {
        writeln!(
            out,
            "{:<10} {:<16} {:<11} {:>8} {:>7} {:>14}",
            d.defense,
            d.rule,
            d.trust,
            fmt_opt(d.pearson),
            fmt_opt(d.mae),
            fmt_opt(d.detection_auc)
        )?;
    }
    writeln!(out, "\nEvaluators: final trust weight and total reward per defense:")?;
    let w = evaluators.iter().map(|e| e.kind.len()).max().unwrap_or(0).max(4);
    write!(out, "{:>4} {:<9} {:<w$}", "id", "role", "runs")?;
    for d in &defenses {
        write!(
            out,
            " {:>10} {:>10}",
            format!("w:{}", d.defense),
            format!("R:{}", d.defense)
        )?;
    }
    writeln!(out)?;
    for (i, e) in evaluators.iter().enumerate() {
        write!(
            out,
            "{:>4} {:<9} {:<w$}",
            i,
            if e.malicious { "MALICIOUS" } else { "honest" },
            e.kind
        )?;
        for d in &defenses {
            write!(out, " {:>10.3} {:>10.2}", d.trust_weights[i], d.evaluator_rewards[i])?;
        }
        writeln!(out)?;
    }
    writeln!(out, "\nInference nodes: mean reward per round (quality minus cost):")?;
    write!(out, "{:<22} {:>7} {:>9}", "node", "quality", "latency")?;
    for d in &defenses {
        write!(out, " {:>10}", d.defense)?;
    }
    writeln!(out)?;
    for (i, m) in nodes.iter().enumerate() {
        write!(out, "{:<22} {:>7.2} {:>7.0}ms", m.name, m.quality, m.latency_ms)?;
        for d in &defenses {
            write!(out, " {:>10}", fmt_opt(d.inference_reward_per_round[i]))?;
        }
        writeln!(out)?;
    }
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
