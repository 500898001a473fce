//! `poq sim` and `poq experiment`: the simulator's command line.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use poq_core::aggregate::Rule;
use poq_core::attack::Attack;
use poq_core::trust::TrustKind;
use poq_sim::cell::CellSpec;
use poq_sim::defense::Defense;
use poq_sim::replay::ReplayWorld;
use poq_sim::scenario::Scenario;
use poq_sim::sweep::run_cells;
use poq_sim::world::{SyntheticWorld, World};
use std::path::PathBuf;
use std::time::Instant;

/// Where the world comes from.
#[derive(clap::Args, Debug)]
pub struct WorldArgs {
    /// Scenario file (TOML); defaults to the built-in default scenario, the same as
    /// scenarios/default.toml.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Replay logged records (JSON Lines, the `poq collect` format) instead of the
    /// synthetic world; the scenario still supplies the protocol parameters and grid.
    #[arg(long)]
    logs: Option<PathBuf>,
    /// With --logs: evaluator nodes per logged evaluator (they report the same honest
    /// score, as the same model on the same input does), so a committee of K can be
    /// seated from a handful of real evaluators.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Rounds per cell (overrides the scenario).
    #[arg(long)]
    rounds: Option<usize>,
    /// Repetitions per cell (overrides the scenario).
    #[arg(long)]
    seeds: Option<usize>,
    /// Master seed (overrides the scenario).
    #[arg(long)]
    seed: Option<u64>,
    /// g: the fraction of rounds that are gold spot-checks (overrides the scenario's
    /// protocol.gold_fraction). Their truth is revealed to the protocol after they
    /// finalize, trust policies that use gold (gold, crh, catd) learn from it, and they
    /// are left out of the alignment metrics. With --logs the spot-checks draw from a
    /// held-out share of the prompts (--gold-holdout).
    #[arg(long)]
    gold: Option<f64>,
    /// With --logs: the fraction of each task's prompts held out as the gold set
    /// whenever the run has gold rounds (overrides protocol.gold_holdout, default 0.2).
    #[arg(long)]
    gold_holdout: Option<f64>,
}

impl WorldArgs {
    /// The scenario (`default` when none is named), the world and the label outputs
    /// carry.
    pub(crate) fn load(&self) -> Result<(Scenario, Box<dyn World>, String)> {
        self.load_with(Scenario::default(), None, false)
    }

    /// Like [`WorldArgs::load`], starting from `scenario` when no `--scenario` is given,
    /// with `label` naming it. A replay holds out its gold set when the scenario has
    /// gold rounds or `gold_cells` says some cells will (the gold experiment).
    pub(crate) fn load_with(
        &self,
        base: Scenario,
        label: Option<&str>,
        gold_cells: bool,
    ) -> Result<(Scenario, Box<dyn World>, String)> {
        let mut scenario = match &self.scenario {
            Some(p) => Scenario::load(p).with_context(|| format!("--scenario {}", p.display()))?,
            None => base,
        };
        if let Some(r) = self.rounds {
            scenario.rounds = r;
        }
        if let Some(s) = self.seeds {
            scenario.seeds = s;
        }
        if let Some(s) = self.seed {
            scenario.seed = s;
        }
        if let Some(g) = self.gold {
            scenario.protocol.gold_fraction = g;
        }
        if let Some(h) = self.gold_holdout {
            scenario.protocol.gold_holdout = h;
        }
        let label = match (&self.scenario, &self.logs) {
            (_, Some(l)) => format!("{} (replaying {})", scenario.name, l.display()),
            (Some(p), None) => format!("{} ({})", scenario.name, p.display()),
            (None, None) => format!("{} ({})", scenario.name, label.unwrap_or("built in")),
        };
        let world: Box<dyn World> = match &self.logs {
            Some(l) => {
                let holdout = if gold_cells || scenario.protocol.gold_fraction > 0.0 {
                    scenario.protocol.gold_holdout
                } else {
                    0.0
                };
                let w = ReplayWorld::load(l)
                    .and_then(|w| w.with_replicas(self.replicas))
                    .and_then(|w| w.with_gold_holdout(holdout))
                    .with_context(|| format!("--logs {}", l.display()))?;
                // The pool and the grid's committee sizes must fit the logs' evaluators.
                scenario.fit_to_pool(w.evaluators());
                Box::new(w)
            }
            None => Box::new(SyntheticWorld::new(&scenario, scenario.seed)),
        };
        scenario.validate().context("scenario after command-line overrides")?;
        Ok((scenario, world, label))
    }
}

/// Arguments of `poq sim`.
#[derive(clap::Args, Debug)]
pub struct SimArgs {
    #[command(flatten)]
    world: WorldArgs,
    /// Attack of the malicious evaluators: none, noise, boosting, sabotage,
    /// intermittent, collusion, on-off, constant, copycat, sybil or withhold (parameters
    /// from the scenario's [attack] table).
    #[arg(long, default_value = "boosting")]
    attack: String,
    /// Malicious fraction ρ of the evaluator pool.
    #[arg(long, default_value_t = 0.3)]
    rho: f64,
    /// Committee size K.
    #[arg(short = 'k', long, default_value_t = 7)]
    committee: usize,
    /// Only this rule (default: every rule of the scenario's grid).
    #[arg(long)]
    rule: Option<String>,
    /// Only this trust policy (default: every policy of the scenario's grid).
    #[arg(long)]
    trust: Option<String>,
    /// Print JSON Lines (one object per defense) instead of a table.
    #[arg(long)]
    json: bool,
}

fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} cells, {elapsed} elapsed, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}

/// `poq sim`.
pub fn run_sim(args: &SimArgs) -> Result<()> {
    let (scenario, world, label) = args.world.load()?;
    if !(0.0..=1.0).contains(&args.rho) {
        bail!("--rho {} is not a fraction in [0, 1]", args.rho);
    }
    let attack: Attack = scenario
        .attack
        .attack(&args.attack)
        .with_context(|| format!("--attack {}", args.attack))?;
    let rules: Vec<Rule> = match &args.rule {
        Some(r) => vec![Rule::from_name(r, scenario.grid.trim).with_context(|| format!("--rule {r}"))?],
        None => scenario.rules()?,
    };
    let trusts: Vec<TrustKind> = match &args.trust {
        Some(t) => vec![TrustKind::from_name(t).with_context(|| format!("--trust {t}"))?],
        None => scenario.trusts()?,
    };
    if args.committee == 0 || args.committee > world.evaluators() {
        bail!(
            "-k {} must be between 1 and the {} evaluators of the pool",
            args.committee,
            world.evaluators()
        );
    }
    let sc = &scenario;
    let cells: Vec<CellSpec> = rules
        .iter()
        .flat_map(|&rule| {
            trusts
                .iter()
                .map(move |&trust| CellSpec::new(sc, attack, args.rho, args.committee, Defense { rule, trust }))
        })
        .collect();
    let pb = progress_bar(cells.len() as u64, "sim");
    let start = Instant::now();
    let results = run_cells(&scenario, world.as_ref(), &cells, &|| pb.inc(1))?;
    pb.finish_and_clear();
    let elapsed = start.elapsed();
    if args.json {
        for r in &results {
            let mut v = serde_json::to_value(r)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("seed".into(), scenario.seed.into());
                o.insert("scenario".into(), label.clone().into());
                o.insert("rounds".into(), scenario.rounds.into());
            }
            println!("{v}");
        }
        return Ok(());
    }
    println!(
        "poq sim: scenario {label}, seed {}, {} rounds x {} seeds per cell, attack {}, rho {}, K = {}, {} evaluators, gold fraction {}",
        scenario.seed,
        scenario.rounds,
        scenario.seeds,
        args.attack,
        args.rho,
        args.committee,
        world.evaluators(),
        scenario.protocol.gold_fraction
    );
    println!(
        "{:<16} {:<11} {:>8} {:>8} {:>7} {:>10} {:>9}",
        "rule", "trust", "pearson", "spearman", "mae", "inflation", "det_auc"
    );
    let f = |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), |a| format!("{a:.3}"));
    for r in &results {
        println!(
            "{:<16} {:<11} {:>8} {:>8} {:>7} {:>+10.3} {:>9}",
            r.rule,
            r.trust,
            f(r.pearson),
            f(r.spearman),
            f(r.mae),
            r.payout_inflation,
            f(r.detection_auc)
        );
    }
    // The bar: the best single evaluator model alone, on the same rounds (replays).
    if let Some(r) = results.iter().find(|r| r.best_model.is_some()) {
        println!(
            "best single evaluator model on the same rounds: {} (pearson {}); gold rounds per run: {:.0}",
            r.best_model.as_deref().unwrap_or_default(),
            f(r.best_model_pearson),
            r.gold_rounds
        );
    }
    eprintln!(
        "{} cells x {} rounds in {:.2} s",
        cells.len(),
        scenario.rounds * scenario.seeds,
        elapsed.as_secs_f64()
    );
    Ok(())
}

/// Arguments of `poq experiment`.
#[derive(clap::Args, Debug)]
pub struct ExperimentArgs {
    /// rewards, trust, committee-size, detection, alignment, withholding, gold, or all
    /// (gold: correlation and detection AUC against the fraction of gold spot-checks).
    name: String,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    world: WorldArgs,
}

/// A progress bar per experiment stage.
struct Bar {
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl poq_sim::experiment::Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(old) = slot.take() {
                old.finish();
            }
            *slot = Some(progress_bar(total, name));
        }
    }

    fn tick(&self) {
        if let Ok(slot) = self.bar.lock()
            && let Some(b) = slot.as_ref()
        {
            b.inc(1);
        }
    }
}

/// `poq experiment`.
pub fn run_experiment(args: &ExperimentArgs) -> Result<()> {
    let gold_cells = matches!(args.name.as_str(), "gold" | "all");
    let (scenario, world, label) = args.world.load_with(Scenario::default(), None, gold_cells)?;
    eprintln!(
        "poq experiment {}: scenario {label}, seed {}, {} rounds x {} seeds per cell, output {}",
        args.name,
        scenario.seed,
        scenario.rounds,
        scenario.seeds,
        args.out.display()
    );
    let progress = Bar {
        bar: std::sync::Mutex::new(None),
    };
    let start = Instant::now();
    let ctx = poq_sim::experiment::Context {
        scenario: &scenario,
        world: world.as_ref(),
        label,
        out: args.out.clone(),
        progress: &progress,
    };
    poq_sim::experiment::run(&args.name, &ctx).with_context(|| format!("experiment {}", args.name))?;
    if let Ok(mut slot) = progress.bar.lock()
        && let Some(b) = slot.take()
    {
        b.finish();
    }
    eprintln!(
        "wrote {} (report.md, results.json, CSV and PNG) in {:.1} s",
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Arguments of `poq audit`.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// The log file (JSON Lines).
    logs: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

fn opt3(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{v:+.3}"))
}

/// `poq audit`.
pub fn run_audit(args: &AuditArgs) -> Result<()> {
    let records = poq_sim::replay::read_logs(&args.logs).with_context(|| format!("reading {}", args.logs.display()))?;
    let a = poq_sim::audit::audit(&records);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&a)?);
        return Ok(());
    }
    println!(
        "Evaluator reliability ({} records from {}):",
        records.len(),
        args.logs.display()
    );
    // Names as wide as the longest, so columns stay aligned for any evaluator's name.
    let w = a.evaluators.iter().map(|e| e.evaluator.len()).max().unwrap_or(0).max(9);
    println!(
        "{:<14} {:<w$} {:>5} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "task", "evaluator", "n", "r(F1)", "rho(F1)", "r(RL)", "rho(RL)", "latency_ms"
    );
    for e in &a.evaluators {
        println!(
            "{:<14} {:<w$} {:>5} {:>9} {:>9} {:>9} {:>9} {:>11.1}",
            e.task,
            e.evaluator,
            e.n,
            opt3(e.pearson_f1),
            opt3(e.spearman_f1),
            opt3(e.pearson_rouge_l),
            opt3(e.spearman_rouge_l),
            e.mean_latency_ms
        );
    }
    println!("\nModel quality against latency:");
    let w = a.models.iter().map(|m| m.model.len()).max().unwrap_or(0).max(5);
    println!(
        "{:<14} {:<w$} {:>5} {:>8} {:>8} {:>11}",
        "task", "model", "n", "F1", "ROUGE-L", "latency_ms"
    );
    for m in &a.models {
        println!(
            "{:<14} {:<w$} {:>5} {:>8.3} {:>8.3} {:>11.1}",
            m.task, m.model, m.n, m.mean_f1, m.mean_rouge_l, m.mean_latency_ms
        );
    }
    Ok(())
}
