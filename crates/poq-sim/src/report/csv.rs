//! The CSV tables, one per experiment. Every row starts with the scenario and seed, so a
//! file separated from its report still says where its numbers came from.

use super::io_error;
use crate::Result;
use crate::cell::CellResult;
use crate::experiment::committee_size::CommitteeSizeResult;
use crate::experiment::context::Context;
use crate::experiment::gold::GoldResult;
use crate::experiment::rewards::{DefenseRewards, NodeReward, RewardsResult};
use crate::experiment::trust::TrustResult;
use crate::experiment::withholding::WithholdingResult;
use std::path::Path;

/// Writes a file atomically: to a temporary name in the same directory, then renamed,
/// so an interrupted run never leaves a half-written output.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, bytes).map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))
}

/// A CSV field: quoted (inner quotes doubled) when it holds a comma, quote or newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `ctx.out/name`: the header, then the rows, each led by the scenario and seed.
pub fn write_csv(ctx: &Context, name: &str, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
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

/// A number, or an empty field when absent.
fn opt(x: Option<f64>) -> String {
    x.map_or_else(String::new, |v| format!("{v}"))
}

/// `rewards_inference.csv` and `rewards_evaluator.csv`: one row per defense × node.
pub fn rewards(ctx: &Context, r: &RewardsResult) -> Result<()> {
    let rows = |nodes: fn(&DefenseRewards) -> &[NodeReward]| {
        r.per_defense
            .iter()
            .flat_map(|d| {
                nodes(d).iter().map(|n| {
                    vec![
                        d.defense.clone(),
                        n.name.clone(),
                        format!("{}", n.mean),
                        format!("{}", n.sd),
                        n.rounds.to_string(),
                    ]
                })
            })
            .collect::<Vec<_>>()
    };
    write_csv(
        ctx,
        "rewards_inference.csv",
        &["defense", "node", "mean", "sd", "rounds"],
        &rows(|d| &d.nodes),
    )?;
    write_csv(
        ctx,
        "rewards_evaluator.csv",
        &["defense", "evaluator", "mean", "sd", "rounds"],
        &rows(|d| &d.evaluators),
    )
}

/// `trust.csv`: every sampled weight of every evaluator, per attack and trust policy.
pub fn trust(ctx: &Context, r: &TrustResult) -> Result<()> {
    let mut rows = Vec::new();
    for run in &r.runs {
        for (t, w) in &run.trace {
            for (e, (weight, malicious)) in w.iter().zip(&run.malicious).enumerate() {
                rows.push(vec![
                    run.attack.clone(),
                    run.trust.clone(),
                    t.to_string(),
                    ctx.world.evaluator_name(e),
                    malicious.to_string(),
                    format!("{weight}"),
                ]);
            }
        }
    }
    write_csv(
        ctx,
        "trust.csv",
        &["attack", "trust", "round", "evaluator", "malicious", "weight"],
        &rows,
    )
}

/// `committee_size.csv`: reward mean and variance of both kinds of node per K.
pub fn committee_size(ctx: &Context, r: &CommitteeSizeResult) -> Result<()> {
    let rows: Vec<Vec<String>> = r
        .cells
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
    )
}

/// `alignment.csv`: one row per cell of the grid.
pub fn alignment(ctx: &Context, grid: &[CellResult]) -> Result<()> {
    let rows: Vec<Vec<String>> = grid
        .iter()
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
        .collect();
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
        &rows,
    )
}

/// `withholding.csv`: one row per cell of the withholding experiment.
pub fn withholding(ctx: &Context, r: &WithholdingResult) -> Result<()> {
    let rows: Vec<Vec<String>> = r
        .cells
        .iter()
        .map(|r| {
            vec![
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
            ]
        })
        .collect();
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
    )
}

/// `gold.csv`: one row per (gold fraction, attack, ρ, defense) cell; absent numbers
/// are empty fields.
pub fn gold(ctx: &Context, r: &GoldResult) -> Result<()> {
    let opt = |x: Option<f64>| x.map_or_else(String::new, |v| v.to_string());
    let rows: Vec<Vec<String>> = r
        .cells
        .iter()
        .map(|c| {
            vec![
                c.gold_fraction.to_string(),
                c.attack.clone(),
                c.rho.to_string(),
                c.k.to_string(),
                c.rule.clone(),
                c.trust.clone(),
                opt(c.pearson),
                opt(c.detection_auc),
                c.best_model.clone().unwrap_or_default(),
                opt(c.best_model_pearson),
                c.gold_rounds.to_string(),
                c.payout_inflation.to_string(),
            ]
        })
        .collect();
    write_csv(
        ctx,
        "gold.csv",
        &[
            "gold_fraction",
            "attack",
            "rho",
            "k",
            "rule",
            "trust",
            "pearson",
            "detection_auc",
            "best_model",
            "best_model_pearson",
            "gold_rounds",
            "payout_inflation",
        ],
        &rows,
    )
}
