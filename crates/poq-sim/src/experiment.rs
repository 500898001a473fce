//! The experiments: one per published figure and table (spec §7), each writing CSV and
//! PNG files, and `all` collecting them into `report.md` and `results.json`.
//!
//! - `rewards`: mean and spread of the per-round reward of every inference node and
//!   evaluator in an honest world;
//! - `trust`: trust weights over rounds, per evaluator, under each attack, for the
//!   published rule and ours;
//! - `committee-size`: reward mean and variance against K for both kinds of node;
//! - `detection`: heatmaps of detection AUC and of consensus–truth correlation over
//!   malicious ratio × defense, one per attack (K = 7, or the grid's K nearest 7);
//! - `alignment`: Pearson, Spearman, MAE, payout inflation and detection AUC for every
//!   rule × trust × attack × ρ × K;
//! - `withholding`: whether strategic abstention, or a distrusted attacker, pays, under
//!   each missing-report rule and each evaluator reward scaling.
//!
//! Report prose states only numbers read from the scenario or the results; published
//! reference values are the named constants below, with their source.

use crate::cell::{CellDetail, CellResult, CellSpec, run_once};
use crate::defense::Defense;
pub use crate::defense::{MEDIAN, OURS, PUBLISHED};
use crate::plot::{self, Bar, Series};
use crate::scenario::Scenario;
use crate::sweep::{grid_cells, run_cells};
use crate::world::World;
use crate::{Result, SimError};
use poq_core::attack::Attack;
use poq_core::reward::EvaluatorScaling;
use poq_core::round::MissingReport;
use rayon::prelude::*;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Every experiment name `poq experiment` accepts, besides `all`.
pub const EXPERIMENTS: [&str; 6] = [
    "rewards",
    "trust",
    "committee-size",
    "detection",
    "alignment",
    "withholding",
];

/// The malicious fraction the trust and withholding experiments fix.
pub const FIXED_RHO: f64 = 0.2;
/// The committee size experiments fix when the grid has it (else the grid's nearest).
pub const PREFERRED_K: usize = 7;
/// Points sampled per trust trace.
pub const TRACE_POINTS: usize = 100;
/// The malicious fractions of the README comparison table.
pub const COMPARISON_RHOS: [f64; 2] = [0.1, 0.3];
/// The malicious fraction the detection and alignment captions quote.
pub const QUOTED_RHO: f64 = 0.3;
/// Detection AUC below which the report lists a cell as a shortfall of ours.
pub const AUC_SHORTFALL: f64 = 0.9;
/// Published: median consensus correlated this with the proxy under attack (spec §7).
pub const PUBLISHED_MEDIAN_R: f64 = 0.748;
/// Published: the plain mean's correlation under attack (spec §7).
pub const PUBLISHED_MEAN_R: f64 = 0.581;
/// Published: normalized reward of the largest model in a 1B–3B pool (spec §7).
pub const PUBLISHED_BEST_REWARD: f64 = 0.62;
/// Published: normalized reward of the weakest model (spec §7).
pub const PUBLISHED_WORST_REWARD: f64 = 0.13;

/// Whether two malicious fractions are the same grid value.
fn same_rho(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Progress reporting, implemented by the command line (a progress bar).
pub trait Progress: Sync {
    /// A stage of `total` units starts.
    fn stage(&self, name: &str, total: u64);
    /// One unit finished.
    fn tick(&self);
}

/// A progress sink that reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn stage(&self, _name: &str, _total: u64) {}
    fn tick(&self) {}
}

/// What an experiment run needs.
pub struct Context<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The world the rounds come from.
    pub world: &'a dyn World,
    /// How the scenario is named in outputs (name and file).
    pub label: String,
    /// The output directory.
    pub out: PathBuf,
    /// Progress sink.
    pub progress: &'a dyn Progress,
}

/// One section of `report.md`.
#[derive(Debug, Clone, Default)]
struct Section {
    title: String,
    text: String,
    /// (file, caption): each figure with its own paragraph.
    figures: Vec<(String, String)>,
    files: Vec<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a file atomically: to a temporary name in the same directory, then renamed,
/// so an interrupted run never leaves a half-written output.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes a CSV whose every row starts with the scenario and seed, so a file separated
/// from its report still says where its numbers came from.
fn write_csv(ctx: &Context, name: &str, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut s = String::from("scenario,seed,");
    s.push_str(&header.join(","));
    s.push('\n');
    let prefix = format!("{},{},", csv_field(&ctx.label), ctx.scenario.seed);
    for r in rows {
        s.push_str(&prefix);
        s.push_str(&r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        s.push('\n');
    }
    write_atomic(&ctx.out.join(name), s.as_bytes())
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(String::new, |v| format!("{v}"))
}

/// A figure title that says where its numbers came from.
fn titled(ctx: &Context, title: &str) -> String {
    format!("{title} [{}, seed {}]", ctx.scenario.name, ctx.scenario.seed)
}

fn defense_name(rule: &str, trust: &str) -> String {
    if trust == "none" {
        rule.to_string()
    } else {
        format!("{rule}+{trust}")
    }
}

fn to_json<T: serde::Serialize>(ctx: &Context, value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| SimError::Io {
        path: ctx.out.join("results.json"),
        source: std::io::Error::other(e),
    })
}

/// The committee size used where an experiment fixes K: 7, or the grid's nearest.
fn fixed_k(scenario: &Scenario, world: &dyn World) -> usize {
    let ks: Vec<usize> = scenario
        .grid
        .ks
        .iter()
        .copied()
        .filter(|&k| k <= world.evaluators())
        .collect();
    ks.iter()
        .copied()
        .min_by_key(|&k| (k as i64 - PREFERRED_K as i64).abs())
        .unwrap_or(world.evaluators().clamp(1, PREFERRED_K))
}

fn run_details(ctx: &Context, specs: &[(CellSpec, usize)], trace_every: usize) -> Result<Vec<CellDetail>> {
    specs
        .par_iter()
        .map(|(spec, rep)| {
            let d = run_once(ctx.scenario, ctx.world, spec, *rep, trace_every);
            ctx.progress.tick();
            d
        })
        .collect()
}

/// Rewards per inference node and per evaluator in an honest world.
fn rewards(ctx: &Context, results: &mut serde_json::Map<String, Value>) -> Result<Section> {
    let k = fixed_k(ctx.scenario, ctx.world);
    let defenses = [PUBLISHED, OURS];
    let specs: Vec<(CellSpec, usize)> = defenses
        .iter()
        .flat_map(|&d| {
            (0..ctx.scenario.seeds).map(move |rep| (CellSpec::new(ctx.scenario, Attack::None, 0.0, k, d), rep))
        })
        .collect();
    ctx.progress.stage("rewards", specs.len() as u64);
    let details = run_details(ctx, &specs, 0)?;
    let seeds = ctx.scenario.seeds;
    let mut node_rows = Vec::new();
    let mut eval_rows = Vec::new();
    let mut json_nodes = Vec::new();
    let mut sec = Section {
        title: "Rewards per node (honest world)".into(),
        ..Default::default()
    };
    for (d_i, defense) in defenses.iter().enumerate() {
        let reps = &details[d_i * seeds..(d_i + 1) * seeds];
        let name = defense.name();
        let trust = defense.trust.name();
        let mut bars = Vec::new();
        for node in 0..ctx.world.nodes() {
            let mean = reps.iter().map(|d| d.node_rewards[node].mean).sum::<f64>() / seeds as f64;
            let sd = (reps.iter().map(|d| d.node_rewards[node].var()).sum::<f64>() / seeds as f64).sqrt();
            let rounds: u64 = reps.iter().map(|d| d.node_rewards[node].n).sum();
            node_rows.push(vec![
                name.clone(),
                ctx.world.node_name(node),
                format!("{mean}"),
                format!("{sd}"),
                rounds.to_string(),
            ]);
            json_nodes.push(json!({"defense": name, "node": ctx.world.node_name(node), "mean": mean, "sd": sd}));
            bars.push(Bar {
                label: ctx.world.node_name(node),
                mean,
                spread: sd,
            });
        }
        let mut ebars = Vec::new();
        for e in 0..ctx.world.evaluators() {
            let mean = reps.iter().map(|d| d.evaluator_rewards[e].mean).sum::<f64>() / seeds as f64;
            let sd = (reps.iter().map(|d| d.evaluator_rewards[e].var()).sum::<f64>() / seeds as f64).sqrt();
            let rounds: u64 = reps.iter().map(|d| d.evaluator_rewards[e].n).sum();
            eval_rows.push(vec![
                name.clone(),
                ctx.world.evaluator_name(e),
                format!("{mean}"),
                format!("{sd}"),
                rounds.to_string(),
            ]);
            ebars.push(Bar {
                label: ctx.world.evaluator_name(e),
                mean,
                spread: sd,
            });
        }
        let f1 = format!("rewards_inference_{}.png", trust);
        plot::bar_chart(
            &ctx.out.join(&f1),
            &titled(
                ctx,
                &format!("Reward per round by inference node ({name}, K = {k}, honest)"),
            ),
            "reward per round (mean ± sd)",
            &bars,
        )?;
        let f2 = format!("rewards_evaluator_{}.png", trust);
        plot::bar_chart(
            &ctx.out.join(&f2),
            &titled(ctx, &format!("Reward per round by evaluator ({name}, K = {k}, honest)")),
            "reward per round (mean ± sd)",
            &ebars,
        )?;
        let best = bars
            .iter()
            .max_by(|a, b| a.mean.total_cmp(&b.mean))
            .map_or("", |b| b.label.as_str());
        sec.figures.push((
            f1,
            format!(
                "Mean reward per round of each inference node under {name} (error bars: one standard deviation across \
                 rounds). The best-paid node is {best}: quality net of latency cost orders the nodes."
            ),
        ));
        let ranked = {
            let mut v: Vec<&Bar> = ebars.iter().collect();
            v.sort_by(|a, b| b.mean.total_cmp(&a.mean));
            v.iter().take(3).map(|b| b.label.clone()).collect::<Vec<_>>().join(", ")
        };
        sec.figures.push((
            f2,
            format!(
                "Mean reward per round of each evaluator under {name}. Evaluators closest to the consensus and fastest \
                 earn most (top three: {ranked}); no evaluator is malicious here, so the spread reflects honest noise \
                 and latency only."
            ),
        ));
        if d_i == 0 {
            let hi = bars.iter().map(|b| b.mean).fold(f64::NEG_INFINITY, f64::max);
            let lo = bars.iter().map(|b| b.mean).fold(f64::INFINITY, f64::min);
            let _ = writeln!(
                sec.text,
                "Under the published configuration ({name}) with K = {k} and no attacker, the inference nodes earn, per round, {}. \
                 The best-paid node earns {:.3} per round and the worst-paid {:.3}, a ratio of {:.1} (published, on its \
                 own normalization: {PUBLISHED_BEST_REWARD} for the largest model against {PUBLISHED_WORST_REWARD} for \
                 the weakest in a 1B–3B pool, a ratio of {:.1}). The order follows quality net of latency cost, as the \
                 cost-aware design intends.",
                bars.iter()
                    .map(|b| format!("{} {:.3} ± {:.3}", b.label, b.mean, b.spread))
                    .collect::<Vec<_>>()
                    .join(", "),
                hi,
                lo,
                hi / lo.max(1e-12),
                PUBLISHED_BEST_REWARD / PUBLISHED_WORST_REWARD,
            );
        }
    }
    let _ = writeln!(
        sec.text,
        "\nEvaluator rewards depend on how close each evaluator's scores are to the consensus and on its latency; \
         honest evaluators with less noise earn more. Files: `rewards_inference.csv`, `rewards_evaluator.csv`."
    );
    write_csv(
        ctx,
        "rewards_inference.csv",
        &["defense", "node", "mean", "sd", "rounds"],
        &node_rows,
    )?;
    write_csv(
        ctx,
        "rewards_evaluator.csv",
        &["defense", "evaluator", "mean", "sd", "rounds"],
        &eval_rows,
    )?;
    sec.files = vec!["rewards_inference.csv".into(), "rewards_evaluator.csv".into()];
    results.insert("rewards".into(), json!({"k": k, "inference": json_nodes}));
    Ok(sec)
}

/// Trust weights over rounds under each attack.
fn trust(ctx: &Context, results: &mut serde_json::Map<String, Value>) -> Result<Section> {
    let k = fixed_k(ctx.scenario, ctx.world);
    let rho = FIXED_RHO;
    let attacks: Vec<Attack> = ctx
        .scenario
        .attacks()?
        .into_iter()
        .filter(|a| !matches!(a, Attack::None))
        .collect();
    let defenses = [PUBLISHED, OURS];
    let specs: Vec<(CellSpec, usize)> = attacks
        .iter()
        .flat_map(|&a| {
            defenses
                .iter()
                .map(move |&d| (CellSpec::new(ctx.scenario, a, rho, k, d), 0))
        })
        .collect();
    ctx.progress.stage("trust", specs.len() as u64);
    let every = (ctx.scenario.rounds / TRACE_POINTS).max(1);
    let details = run_details(ctx, &specs, every)?;
    let mut rows = Vec::new();
    let mut sec = Section {
        title: "Trust weights over rounds".into(),
        ..Default::default()
    };
    let mut summary = Vec::new();
    for ((spec, _), d) in specs.iter().zip(&details) {
        let n = d.malicious.len();
        for (t, w) in &d.trace {
            for (e, (weight, malicious)) in w.iter().zip(&d.malicious).enumerate() {
                rows.push(vec![
                    spec.attack.name().to_string(),
                    spec.trust.name().to_string(),
                    t.to_string(),
                    ctx.world.evaluator_name(e),
                    malicious.to_string(),
                    format!("{weight}"),
                ]);
            }
        }
        let honest: Vec<usize> = (0..n).filter(|&e| !d.malicious[e]).collect();
        let stat = |f: &dyn Fn(&[f64]) -> f64| -> Vec<(f64, f64)> {
            d.trace
                .iter()
                .map(|(t, w)| (*t as f64, f(&honest.iter().map(|&e| w[e]).collect::<Vec<_>>())))
                .collect()
        };
        let mut series = vec![
            Series {
                name: "honest: mean".into(),
                points: stat(&|v| v.iter().sum::<f64>() / v.len().max(1) as f64),
            },
            Series {
                name: "honest: min".into(),
                points: stat(&|v| v.iter().copied().fold(f64::INFINITY, f64::min)),
            },
            Series {
                name: "honest: max".into(),
                points: stat(&|v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
            },
        ];
        for e in (0..n).filter(|&e| d.malicious[e]) {
            series.push(Series {
                name: format!("malicious {}", ctx.world.evaluator_name(e)),
                points: d.trace.iter().map(|(t, w)| (*t as f64, w[e])).collect(),
            });
        }
        let file = format!("trust_{}_{}.png", spec.attack.name(), spec.trust);
        plot::line_chart(
            &ctx.out.join(&file),
            &titled(
                ctx,
                &format!(
                    "Trust under {} (rho = {rho}, K = {k}): {}",
                    spec.attack.name(),
                    spec.defense().name()
                ),
            ),
            "round",
            "trust weight",
            &series,
        )?;
        let last = d.trace.last().map(|(_, w)| w.clone()).unwrap_or_default();
        let mean_of = |want: bool| {
            let v: Vec<f64> = last
                .iter()
                .zip(&d.malicious)
                .filter(|(_, m)| **m == want)
                .map(|(w, _)| *w)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        sec.figures.push((
            file,
            format!(
                "{} under {}: after {} rounds the honest evaluators average weight {:.2} and the malicious ones {:.2} \
                 (detection AUC {}).",
                spec.defense().name(),
                spec.attack.name(),
                ctx.scenario.rounds,
                mean_of(false),
                mean_of(true),
                d.result.detection_auc.map_or("n/a".to_string(), |a| format!("{a:.2}")),
            ),
        ));
        summary.push(json!({
            "attack": spec.attack.name(), "trust": spec.trust.name(), "rule": spec.rule.name(),
            "detection_auc": d.result.detection_auc,
        }));
    }
    write_csv(
        ctx,
        "trust.csv",
        &["attack", "trust", "round", "evaluator", "malicious", "weight"],
        &rows,
    )?;
    sec.files = vec!["trust.csv".into()];
    let auc = |policy: &str| -> String {
        summary
            .iter()
            .filter(|s| s["trust"] == policy)
            .map(|s| {
                format!(
                    "{} {}",
                    s["attack"].as_str().unwrap_or(""),
                    s["detection_auc"].as_f64().map_or("n/a".into(), |v| format!("{v:.2}"))
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        sec.text,
        "Each figure follows every evaluator's weight with ρ = {rho} malicious and K = {k}: the honest evaluators' mean, \
         minimum and maximum, and each malicious evaluator (every evaluator is in `trust.csv`). The published rule \
         multiplies a weight by 1 + λ(0.5 − d) each round, so any evaluator that stays within 5 points of the consensus \
         gains weight: honest evaluators and attackers alike climb to w_max = {} (detection AUC by attack: {}). Ours \
         measures each evaluator against the unweighted median of the other members' reports (leaving out reports \
         identical to its own), per task and relative to the pool, so its weights stay spread out around the typical \
         evaluator instead of saturating (detection AUC by attack: {}). Each figure's caption gives the final mean \
         weights of both groups.",
        ctx.scenario.trust.published.w_max,
        auc("published"),
        auc("calibrated")
    );
    results.insert("trust".into(), json!({"rho": rho, "k": k, "runs": summary}));
    Ok(sec)
}

/// Reward mean and variance against K.
fn committee_size(ctx: &Context, results: &mut serde_json::Map<String, Value>) -> Result<Section> {
    let ks: Vec<usize> = ctx
        .scenario
        .grid
        .ks
        .iter()
        .copied()
        .filter(|&k| k <= ctx.world.evaluators())
        .collect();
    let specs: Vec<CellSpec> = ks
        .iter()
        .map(|&k| CellSpec::new(ctx.scenario, Attack::None, 0.0, k, PUBLISHED))
        .collect();
    ctx.progress.stage("committee-size", specs.len() as u64);
    let res = run_cells(ctx.scenario, ctx.world, &specs, &|| ctx.progress.tick())?;
    let rows: Vec<Vec<String>> = res
        .iter()
        .map(|r| {
            vec![
                r.k.to_string(),
                format!("{}", r.inference_reward_mean),
                format!("{}", r.inference_reward_var),
                format!("{}", r.evaluator_reward_mean),
                format!("{}", r.evaluator_reward_var),
            ]
        })
        .collect();
    write_csv(
        ctx,
        "committee_size.csv",
        &[
            "k",
            "inference_mean",
            "inference_var",
            "evaluator_mean",
            "evaluator_var",
        ],
        &rows,
    )?;
    let pts = |f: fn(&CellResult) -> f64| res.iter().map(|r| (r.k as f64, f(r))).collect::<Vec<_>>();
    plot::line_chart(
        &ctx.out.join("committee_size_mean.png"),
        &titled(ctx, "Mean reward per round against committee size K (honest world)"),
        "committee size K",
        "mean reward per round",
        &[
            Series {
                name: "inference node".into(),
                points: pts(|r| r.inference_reward_mean),
            },
            Series {
                name: "evaluator".into(),
                points: pts(|r| r.evaluator_reward_mean),
            },
        ],
    )?;
    plot::line_chart(
        &ctx.out.join("committee_size_var.png"),
        &titled(ctx, "Variance of the reward per round against committee size K"),
        "committee size K",
        "variance of reward per round",
        &[
            Series {
                name: "inference node".into(),
                points: pts(|r| r.inference_reward_var),
            },
            Series {
                name: "evaluator".into(),
                points: pts(|r| r.evaluator_reward_var),
            },
        ],
    )?;
    plot::line_chart(
        &ctx.out.join("committee_size_cv.png"),
        &titled(ctx, "Relative spread (sd / mean) of the reward per round against K"),
        "committee size K",
        "coefficient of variation",
        &[
            Series {
                name: "inference node".into(),
                points: pts(|r| r.inference_reward_var.sqrt() / r.inference_reward_mean.max(1e-12)),
            },
            Series {
                name: "evaluator".into(),
                points: pts(|r| r.evaluator_reward_var.sqrt() / r.evaluator_reward_mean.max(1e-12)),
            },
        ],
    )?;
    let (Some(first), Some(last)) = (res.first(), res.last()) else {
        return Err(SimError::InvalidScenario {
            name: "grid.ks".into(),
            value: format!("{:?}", ctx.scenario.grid.ks),
            reason: format!(
                "no committee size fits this world (at most {} evaluators per round)",
                ctx.world.evaluators()
            ),
        });
    };
    let cv = |r: &CellResult| r.evaluator_reward_var.sqrt() / r.evaluator_reward_mean.max(1e-12);
    let trend = |a: f64, b: f64| {
        if b > a {
            "rises"
        } else if b < a {
            "falls"
        } else {
            "stays"
        }
    };
    let inf_lo = res
        .iter()
        .map(|r| r.inference_reward_mean)
        .fold(f64::INFINITY, f64::min);
    let inf_hi = res
        .iter()
        .map(|r| r.inference_reward_mean)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut sec = Section {
        title: "Rewards against committee size".into(),
        figures: vec![
            (
                "committee_size_mean.png".into(),
                format!(
                    "Mean reward per round against K: the evaluator's {} from {:.4} to {:.4}; the inference node's \
                     ranges over {:.3}–{:.3}.",
                    trend(first.evaluator_reward_mean, last.evaluator_reward_mean),
                    first.evaluator_reward_mean,
                    last.evaluator_reward_mean,
                    inf_lo,
                    inf_hi
                ),
            ),
            (
                "committee_size_var.png".into(),
                format!(
                    "Variance of the reward per round against K: the evaluator's {} from {:.2e} to {:.2e}.",
                    trend(first.evaluator_reward_var, last.evaluator_reward_var),
                    first.evaluator_reward_var,
                    last.evaluator_reward_var
                ),
            ),
            (
                "committee_size_cv.png".into(),
                format!(
                    "Standard deviation over mean of the reward per round: the evaluator's {} from {:.3} to {:.3}.",
                    trend(cv(first), cv(last)),
                    cv(first),
                    cv(last)
                ),
            ),
        ],
        files: vec!["committee_size.csv".into()],
        ..Default::default()
    };
    let evaluator_var_rises = last.evaluator_reward_var > first.evaluator_reward_var;
    let _ = writeln!(
        sec.text,
        "Honest world, published configuration, K from {} to {}. Published: a larger committee lowers each evaluator's \
         reward and raises its variance, while inference rewards stay roughly stable. Here the evaluator's mean reward \
         per round {} ({:.4} → {:.4}): the fixed evaluator budget is split among K. Its variance {} ({:.2e} → {:.2e}): {}. \
         The inference node's mean reward per round stays within {:.3}–{:.3}, since nothing in it depends on K. \
         File: `committee_size.csv`.",
        first.k,
        last.k,
        trend(first.evaluator_reward_mean, last.evaluator_reward_mean),
        first.evaluator_reward_mean,
        last.evaluator_reward_mean,
        trend(first.evaluator_reward_var, last.evaluator_reward_var),
        first.evaluator_reward_var,
        last.evaluator_reward_var,
        if evaluator_var_rises {
            "as published"
        } else {
            "unlike the published result: every evaluator reward is scaled by B_eval/K, so its per-round variance \
             shrinks roughly as 1/K², and only its spread relative to the mean (third figure) can grow"
        },
        inf_lo,
        inf_hi,
    );
    results.insert("committee_size".into(), to_json(ctx, &res)?);
    Ok(sec)
}

/// Heatmaps over ρ × defense, one per attack, from grid results at the fixed K.
fn detection(ctx: &Context, grid: &[CellResult]) -> Result<Section> {
    let k = fixed_k(ctx.scenario, ctx.world);
    let g = &ctx.scenario.grid;
    let defenses: Vec<(String, String)> = g
        .rules
        .iter()
        .flat_map(|r| g.trusts.iter().map(move |t| (r.clone(), t.clone())))
        .collect();
    let mut sec = Section {
        title: format!("Detection and alignment heatmaps (K = {k})"),
        ..Default::default()
    };
    let find = |attack: &str, rho: f64, rule: &str, trust: &str| {
        grid.iter()
            .find(|c| c.attack == attack && same_rho(c.rho, rho) && c.k == k && c.rule == rule && c.trust == trust)
    };
    let y_ticks: Vec<String> = g.rhos.iter().map(|r| format!("rho {r}")).collect();
    for attack in &g.attacks {
        let trusted: Vec<&(String, String)> = defenses.iter().filter(|(_, t)| t != "none").collect();
        let auc: Vec<Vec<Option<f64>>> = g
            .rhos
            .iter()
            .map(|&rho| {
                trusted
                    .iter()
                    .map(|(r, t)| find(attack, rho, r, t).and_then(|c| c.detection_auc))
                    .collect()
            })
            .collect();
        // Without an attack there is nothing to detect: only the correlation map.
        let file = format!("detection_auc_{attack}.png");
        if attack != "none" {
            plot::heatmap(
                &ctx.out.join(&file),
                &titled(ctx, &format!("Detection AUC under {attack} (K = {k})")),
                "defense (rule+trust)",
                "malicious ratio",
                &trusted.iter().map(|(r, t)| defense_name(r, t)).collect::<Vec<_>>(),
                &y_ticks,
                &auc,
                (0.0, 1.0),
            )?;
            let at =
                |rho: f64, d: Defense| find(attack, rho, d.rule.name(), d.trust.name()).and_then(|c| c.detection_auc);
            let low: Vec<f64> = g
                .rhos
                .iter()
                .filter(|&&r| r > 0.0 && r <= QUOTED_RHO)
                .filter_map(|&r| at(r, OURS))
                .collect();
            let worst_low = low.iter().copied().fold(f64::INFINITY, f64::min);
            let high = g.rhos.iter().copied().fold(0.0, f64::max);
            sec.figures.push((
                file,
                format!(
                    "Detection under {attack}. Ours (calibrated trust) reaches an AUC of at least {} for ρ ≤ {QUOTED_RHO} and \
                     {} at ρ = {high}; the published rule gives {} at ρ = {QUOTED_RHO} (0.5 is chance).",
                    if low.is_empty() { "n/a".to_string() } else { format!("{worst_low:.2}") },
                    at(high, OURS).map_or("n/a".to_string(), |v| format!("{v:.2}")),
                    at(QUOTED_RHO, PUBLISHED).map_or("n/a".to_string(), |v| format!("{v:.2}")),
                ),
            ));
        }
        let corr: Vec<Vec<Option<f64>>> = g
            .rhos
            .iter()
            .map(|&rho| {
                defenses
                    .iter()
                    .map(|(r, t)| find(attack, rho, r, t).and_then(|c| c.pearson))
                    .collect()
            })
            .collect();
        let file = format!("correlation_{attack}.png");
        plot::heatmap(
            &ctx.out.join(&file),
            &titled(ctx, &format!("Consensus-truth correlation under {attack} (K = {k})")),
            "defense (rule+trust)",
            "malicious ratio",
            &defenses.iter().map(|(r, t)| defense_name(r, t)).collect::<Vec<_>>(),
            &y_ticks,
            &corr,
            (0.0, 1.0),
        )?;
        let r = |rule: &str, trust: &str| {
            find(attack, QUOTED_RHO, rule, trust)
                .and_then(|c| c.pearson)
                .map_or("n/a".to_string(), |v| format!("{v:.3}"))
        };
        sec.figures.push((
            file,
            format!(
                "Consensus–truth correlation under {attack}. At ρ = {QUOTED_RHO}: mean {}, median {}, published {}, ours {}.",
                r("mean", "none"),
                r(MEDIAN.rule.name(), MEDIAN.trust.name()),
                r(PUBLISHED.rule.name(), PUBLISHED.trust.name()),
                r(OURS.rule.name(), OURS.trust.name()),
            ),
        ));
    }
    let _ = writeln!(
        sec.text,
        "One pair of heatmaps per attack: rows are the malicious ratio ρ, columns the defenses (consensus rule, plus trust \
         policy where there is one). The first of each pair is the detection AUC of the final trust weights (1 = every \
         malicious evaluator ends below every honest one, 0.5 = chance; empty where there are no malicious evaluators); \
         the second is the Pearson correlation of the consensus with the ground truth. The numbers are in `alignment.csv`."
    );
    Ok(sec)
}

fn alignment_rows(grid: &[CellResult]) -> Vec<Vec<String>> {
    grid.iter()
        .map(|c| {
            vec![
                c.attack.clone(),
                format!("{}", c.rho),
                c.k.to_string(),
                c.rule.clone(),
                c.trust.clone(),
                c.missing.clone(),
                c.evaluator_scaling.clone(),
                opt(c.pearson),
                opt(c.spearman),
                opt(c.mae),
                format!("{}", c.payout_inflation),
                format!("{}", c.inference_inflation),
                format!("{}", c.evaluator_inflation),
                opt(c.detection_auc),
                c.trimmed_per_side.map_or_else(String::new, |g| g.to_string()),
                format!("{}", c.expired),
                format!("{}", c.missing_rate),
                opt(c.malicious_reward_ratio),
                opt(c.malicious_trust_ratio),
            ]
        })
        .collect()
}

/// The README comparison: K = 7, ρ ∈ {0.1, 0.3}, every attack; AUC and correlation.
pub fn comparison_table(grid: &[CellResult], k: usize) -> String {
    let mut s = String::from(
        "| attack | ρ | AUC published | AUC ours | r published | r median | r ours |\n|---|---|---|---|---|---|---|\n",
    );
    let mut attacks: Vec<&str> = Vec::new();
    for c in grid {
        if !attacks.contains(&c.attack.as_str()) {
            attacks.push(&c.attack);
        }
    }
    let get = |a: &str, rho: f64, d: Defense| {
        grid.iter()
            .find(|c| c.attack == a && same_rho(c.rho, rho) && c.k == k && d.is(&c.rule, &c.trust))
    };
    let f = |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"));
    for a in attacks.iter().filter(|a| **a != "none") {
        for rho in COMPARISON_RHOS {
            let (p, o, m) = (get(a, rho, PUBLISHED), get(a, rho, OURS), get(a, rho, MEDIAN));
            if p.is_none() && o.is_none() && m.is_none() {
                continue;
            }
            let _ = writeln!(
                s,
                "| {a} | {rho} | {} | {} | {} | {} | {} |",
                f(p.and_then(|c| c.detection_auc)),
                f(o.and_then(|c| c.detection_auc)),
                f(p.and_then(|c| c.pearson)),
                f(m.and_then(|c| c.pearson)),
                f(o.and_then(|c| c.pearson)),
            );
        }
    }
    s
}

fn alignment_section(ctx: &Context, grid: &[CellResult]) -> Result<Section> {
    write_csv(
        ctx,
        "alignment.csv",
        &[
            "attack",
            "rho",
            "k",
            "rule",
            "trust",
            "missing",
            "evaluator_scaling",
            "pearson",
            "spearman",
            "mae",
            "payout_inflation",
            "inference_inflation",
            "evaluator_inflation",
            "detection_auc",
            "trimmed_per_side",
            "expired",
            "missing_rate",
            "malicious_reward_ratio",
            "malicious_trust_ratio",
        ],
        &alignment_rows(grid),
    )?;
    let k = fixed_k(ctx.scenario, ctx.world);
    let table = comparison_table(grid, k);
    let header = format!(
        "K = {k}, scenario {}, seed {}, {} rounds per cell, {} repetition(s).\n\n",
        ctx.label, ctx.scenario.seed, ctx.scenario.rounds, ctx.scenario.seeds
    );
    write_atomic(&ctx.out.join("comparison.md"), (header + &table).as_bytes())?;
    let find = |a: &str, rho: f64, d: Defense| {
        grid.iter()
            .find(|c| c.attack == a && same_rho(c.rho, rho) && c.k == k && d.is(&c.rule, &c.trust))
    };
    // Mean against median under attack, the published headline.
    let attacked = |rule: &str, f: fn(&CellResult) -> Option<f64>| {
        let v: Vec<f64> = grid
            .iter()
            .filter(|c| c.attack != "none" && c.rho > 0.0 && c.k == k && c.trust == "none" && c.rule == rule)
            .filter_map(f)
            .collect();
        poq_core::stats::mean(&v)
    };
    let mean_rule = Defense {
        rule: poq_core::aggregate::Rule::Mean,
        trust: poq_core::trust::TrustKind::None,
    };
    let (r_med, r_mean) = (attacked("median", |c| c.pearson), attacked("mean", |c| c.pearson));
    let (e_med, e_mean) = (attacked("median", |c| c.mae), attacked("mean", |c| c.mae));
    let f3 = |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"));
    let per_attack: Vec<String> = ctx
        .scenario
        .grid
        .attacks
        .iter()
        .filter(|a| *a != "none")
        .filter_map(|a| {
            let (m, n) = (find(a, QUOTED_RHO, MEDIAN)?, find(a, QUOTED_RHO, mean_rule)?);
            Some(format!("{a} {}/{}", f3(m.pearson), f3(n.pearson)))
        })
        .collect();
    let mut sec = Section {
        title: "Alignment table".into(),
        files: vec!["alignment.csv".into(), "comparison.md".into()],
        ..Default::default()
    };
    let _ = writeln!(
        sec.text,
        "`alignment.csv` has one row per rule × trust × attack × ρ × K ({} cells): Pearson and Spearman correlation of the \
         consensus with the ground truth, mean absolute error, payout inflation (rewards paid minus the rewards an \
         all-honest committee would have paid with the same rule and weights, per round; also split into its inference \
         and evaluator parts), the detection AUC of the trust weights (empty without trust or without an attack), and \
         how many scores a trimmed mean dropped per side (0 means it equalled the mean at that K).\n\n\
         The published result: under attack, median consensus correlated {PUBLISHED_MEDIAN_R} with the proxy against \
         {PUBLISHED_MEAN_R} for the mean. Averaged over every attack and ρ > 0 at K = {k}, the median correlates {} \
         and the mean {} here: the published ordering is {}. Per attack at ρ = {QUOTED_RHO} (median/mean): {}. \
         Correlation ignores a constant shift, so boosting, sabotage and a coordinated shift barely lower the mean's \
         correlation while they move its level; the mean absolute error shows that side (median {}, mean {}). The \
         comparison of the published rule, the plain median and ours at K = {k}:\n\n{table}",
        grid.len(),
        f3(r_med),
        f3(r_mean),
        match (r_med, r_mean) {
            (Some(a), Some(b)) if a > b => "reproduced",
            (Some(_), Some(_)) => "not reproduced",
            _ => "not measurable (no attacked cells)",
        },
        per_attack.join(", "),
        f3(e_med),
        f3(e_mean),
    );
    // Where ours falls short: said plainly, with the numbers.
    let mut weak = Vec::new();
    for c in grid
        .iter()
        .filter(|c| c.k == k && OURS.is(&c.rule, &c.trust) && c.rho > 0.0 && c.attack != "none")
    {
        let auc_low = c.detection_auc.is_some_and(|a| a < AUC_SHORTFALL);
        let worse = find(&c.attack, c.rho, MEDIAN).is_some_and(|m| match (c.pearson, m.pearson) {
            (Some(a), Some(b)) => a < b,
            _ => false,
        });
        if auc_low || worse {
            weak.push(format!(
                "{} at ρ = {} (AUC {}, r {} against the median's {})",
                c.attack,
                c.rho,
                c.detection_auc.map_or("n/a".to_string(), |a| format!("{a:.2}")),
                f3(c.pearson),
                f3(find(&c.attack, c.rho, MEDIAN).and_then(|m| m.pearson)),
            ));
        }
    }
    if weak.is_empty() {
        let _ = writeln!(
            sec.text,
            "\nAt K = {k} ours detects every attack with AUC ≥ {AUC_SHORTFALL} at every ρ > 0 and never correlates below the median."
        );
    } else {
        let _ = writeln!(
            sec.text,
            "\nWhere ours falls short at K = {k} (AUC below {AUC_SHORTFALL}, or any correlation below the plain median's): {}.\n\n\
             Why, by kind. When half the pool attacks (ρ = 0.5), the attackers are as typical as the honest: in many \
             committees they are the majority, so the leave-one-out references, and the pool's reference error, are \
             theirs as often as not, and no rule that judges evaluators by agreement can tell the halves apart; a \
             median-based consensus then belongs to whichever half agrees (coordinated attacks: collusion, sybil, \
             constant, copycat agree exactly). Only outside evidence (gold spot-checks with known answers, or stake) \
             can help there. The on-off attacker is honest until trusted and honest again whenever it is distrusted, \
             so its final weight depends on where it stands in its cycle when the run ends; what it costs the \
             consensus is what the correlation columns measure. Intermittent attackers are honest {:.0}% of the time, \
             so their error is close to an honest evaluator's at small ρ. Withholding attackers report honestly when they \
             report at all, so their trust is a matter of the missing-report rule (see the withholding section).",
            weak.join("; "),
            100.0 * (1.0 - ctx.scenario.attack.intermittent_p)
        );
    }
    Ok(sec)
}

/// Strategic abstention and reward scaling: does staying silent, or a distrusted
/// attacker, pay? Withholding and boosting at the fixed ρ and K, under each
/// missing-report rule and each evaluator reward scaling, for the published rule and
/// ours.
fn withholding(ctx: &Context, results: &mut serde_json::Map<String, Value>) -> Result<Section> {
    let k = fixed_k(ctx.scenario, ctx.world);
    let rho = FIXED_RHO;
    let attacks = [
        ctx.scenario.attack.attack("withhold")?,
        ctx.scenario.attack.attack("boosting")?,
    ];
    let mut specs = Vec::new();
    for &attack in &attacks {
        for missing in MissingReport::ALL {
            for scaling in EvaluatorScaling::ALL {
                for d in [PUBLISHED, OURS] {
                    specs.push(CellSpec {
                        missing,
                        scaling,
                        ..CellSpec::new(ctx.scenario, attack, rho, k, d)
                    });
                }
            }
        }
    }
    ctx.progress.stage("withholding", specs.len() as u64);
    let res = run_cells(ctx.scenario, ctx.world, &specs, &|| ctx.progress.tick())?;
    let f = |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"));
    let mut table = String::from(
        "| attack | missing reports | evaluator reward | defense | silent seats | trust ratio | reward ratio | AUC | r |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let mut rows = Vec::new();
    for r in &res {
        let name = defense_name(&r.rule, &r.trust);
        let _ = writeln!(
            table,
            "| {} | {} | {} | {name} | {:.1}% | {} | {} | {} | {} |",
            r.attack,
            r.missing,
            r.evaluator_scaling,
            100.0 * r.missing_rate,
            f(r.malicious_trust_ratio),
            f(r.malicious_reward_ratio),
            f(r.detection_auc),
            f(r.pearson),
        );
        rows.push(vec![
            r.attack.clone(),
            r.missing.clone(),
            r.evaluator_scaling.clone(),
            r.rule.clone(),
            r.trust.clone(),
            format!("{}", r.missing_rate),
            opt(r.malicious_trust_ratio),
            opt(r.malicious_reward_ratio),
            opt(r.detection_auc),
            opt(r.pearson),
        ]);
    }
    write_csv(
        ctx,
        "withholding.csv",
        &[
            "attack",
            "missing",
            "evaluator_scaling",
            "rule",
            "trust",
            "missing_rate",
            "malicious_trust_ratio",
            "malicious_reward_ratio",
            "detection_auc",
            "pearson",
        ],
        &rows,
    )?;
    let pick = |attack: &str, missing: MissingReport, scaling: EvaluatorScaling, d: Defense| {
        res.iter().find(|r| {
            r.attack == attack
                && r.missing == missing.name()
                && r.evaluator_scaling == scaling.name()
                && d.is(&r.rule, &r.trust)
        })
    };
    let versus = |x: Option<f64>| match x {
        Some(v) if (v - 1.0).abs() < 1e-9 => format!("{v:.3} (as much as an honest evaluator)"),
        Some(v) if v > 1.0 => format!("{v:.3} (more than an honest evaluator: it pays)"),
        Some(v) => format!("{v:.3} (less than an honest evaluator: it does not pay)"),
        None => "n/a".to_string(),
    };
    let mut sec = Section {
        title: "Withholding and reward scaling".into(),
        files: vec!["withholding.csv".into()],
        ..Default::default()
    };
    let mut lines = Vec::new();
    for d in [PUBLISHED, OURS] {
        for missing in MissingReport::ALL {
            if let Some(r) = pick("withhold", missing, EvaluatorScaling::Trust, d) {
                lines.push(format!(
                    "under {} with the `{}` rule, a withholder's final trust is {} and its trust-scaled reward {}",
                    d.name(),
                    missing.name(),
                    versus(r.malicious_trust_ratio),
                    versus(r.malicious_reward_ratio)
                ));
            }
        }
    }
    let boost =
        |scaling| pick("boosting", MissingReport::Penalize, scaling, OURS).and_then(|r| r.malicious_reward_ratio);
    let _ = writeln!(
        sec.text,
        "ρ = {rho}, K = {k}, quorum: more than {} of the committee. The withholding evaluator reports its honest score \
         but stays silent whenever that score is more than {} points from the median of the others' (it reveals last and \
         sees them), that is whenever reporting would cost it trust. Ratios compare a malicious evaluator with an honest \
         one (means of each class; 1 = no difference): final overall trust, and total reward over the run.\n\n\
         Per rule: {}.\n\n\
         Reward scaling against a booster (ours, `penalize`): with flat shares (the spec's B_eval / K) a booster earns {} \
         of an honest evaluator's total; with trust-scaled shares {}.\n\n{table}",
        ctx.scenario.protocol.quorum,
        ctx.scenario.attack.withhold_threshold,
        lines.join("; "),
        f(boost(EvaluatorScaling::Flat)),
        f(boost(EvaluatorScaling::Trust)),
    );
    results.insert(
        "withholding".into(),
        json!({"rho": rho, "k": k, "cells": to_json(ctx, &res)?}),
    );
    Ok(sec)
}

/// How coarse a detection AUC is at the grid's smallest positive ρ with one repetition.
fn auc_resolution(ctx: &Context) -> String {
    let n = ctx.world.evaluators();
    let rho = ctx
        .scenario
        .grid
        .rhos
        .iter()
        .copied()
        .filter(|&r| r > 0.0)
        .fold(f64::INFINITY, f64::min);
    let m = if rho.is_finite() {
        ((rho * n as f64).round() as usize).min(n)
    } else {
        0
    };
    if m == 0 || m == n {
        return String::new();
    }
    format!(
        " With one repetition, a detection AUC at ρ = {rho} ({m} attackers among {n}) moves in steps of 1/{}; \
         `--seeds S` averages S repetitions.",
        m * (n - m)
    )
}

fn write_report(ctx: &Context, sections: &[Section], results: serde_json::Map<String, Value>) -> Result<()> {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# poq experiment report\n\nScenario: {}. Seed {}. {} rounds per cell, {} repetition(s). {} evaluators, {} inference \
         nodes.\n\nReproduce with `poq experiment all --out <dir>`: the same scenario, seed and rounds give the same \
         numbers for any thread count (across platforms the last digits may differ: normal draws use the math \
         library's `ln`, `sin` and `cos`).{}\n",
        ctx.label,
        ctx.scenario.seed,
        ctx.scenario.rounds,
        ctx.scenario.seeds,
        ctx.world.evaluators(),
        ctx.world.nodes(),
        auc_resolution(ctx),
    );
    for s in sections {
        let _ = writeln!(md, "## {}\n\n{}\n", s.title, s.text.trim_end());
        for (f, caption) in &s.figures {
            let _ = writeln!(md, "![{f}]({f})\n\n{caption}\n");
        }
    }
    write_atomic(&ctx.out.join("report.md"), md.as_bytes())?;
    let mut all = results;
    all.insert(
        "meta".into(),
        json!({"seed": ctx.scenario.seed, "rounds": ctx.scenario.rounds, "seeds": ctx.scenario.seeds,
               "scenario": ctx.label, "evaluators": ctx.world.evaluators(), "nodes": ctx.world.nodes()}),
    );
    let text = serde_json::to_string_pretty(&Value::Object(all)).map_err(|e| SimError::Io {
        path: ctx.out.join("results.json"),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&ctx.out.join("results.json"), text.as_bytes())
}

/// Runs experiment `name` (one of [`EXPERIMENTS`] or `all`), writing into `ctx.out`.
pub fn run(name: &str, ctx: &Context) -> Result<()> {
    if name != "all" && !EXPERIMENTS.contains(&name) {
        return Err(SimError::UnknownExperiment(
            name.to_string(),
            format!("all, {}", EXPERIMENTS.join(", ")),
        ));
    }
    std::fs::create_dir_all(&ctx.out).map_err(io(&ctx.out))?;
    let wants = |n: &str| name == "all" || name == n;
    let mut results = serde_json::Map::new();
    let mut sections = Vec::new();
    if wants("alignment") || wants("detection") {
        let mut cells = grid_cells(ctx.scenario, ctx.world)?;
        if name == "detection" {
            let k = fixed_k(ctx.scenario, ctx.world);
            cells.retain(|c| c.k == k);
        }
        ctx.progress.stage("grid", cells.len() as u64);
        let grid = run_cells(ctx.scenario, ctx.world, &cells, &|| ctx.progress.tick())?;
        if wants("alignment") {
            sections.push(alignment_section(ctx, &grid)?);
        }
        if wants("detection") {
            sections.push(detection(ctx, &grid)?);
        }
        results.insert("alignment".into(), to_json(ctx, &grid)?);
    }
    if wants("rewards") {
        sections.push(rewards(ctx, &mut results)?);
    }
    if wants("trust") {
        sections.push(trust(ctx, &mut results)?);
    }
    if wants("committee-size") {
        sections.push(committee_size(ctx, &mut results)?);
    }
    if wants("withholding") {
        sections.push(withholding(ctx, &mut results)?);
    }
    results.entry("alignment").or_insert_with(|| Value::Array(Vec::new()));
    write_report(ctx, &sections, results)
}
