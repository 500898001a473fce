//! Each experiment's PNG figures, drawn with [`super::plot`]; the file names are here
//! too, for the captions of [`super::markdown`].

use super::plot::{self, Bar, Series};
use super::{defense_name, titled};
use crate::Result;
use crate::experiment::committee_size::{CommitteeSizeResult, cv};
use crate::experiment::context::Context;
use crate::experiment::detection::DetectionResult;
use crate::experiment::gold::{GOLD_DEFENSES, GoldResult};
use crate::experiment::rewards::{DefenseRewards, NodeReward, RewardsResult};
use crate::experiment::trust::{TrustResult, TrustRun};

/// The rewards figures of one defense: (inference nodes, evaluators).
pub fn rewards_files(d: &DefenseRewards) -> (String, String) {
    (
        format!("rewards_inference_{}.png", d.trust),
        format!("rewards_evaluator_{}.png", d.trust),
    )
}

/// The trust figure of one run.
pub fn trust_file(run: &TrustRun) -> String {
    format!("trust_{}_{}.png", run.attack, run.trust)
}

/// The gold experiment's figures: correlation and detection AUC against g.
pub const GOLD_FILES: [&str; 2] = ["gold_pearson.png", "gold_auc.png"];

/// The committee-size figures: mean, variance, coefficient of variation.
pub const COMMITTEE_SIZE_FILES: [&str; 3] = [
    "committee_size_mean.png",
    "committee_size_var.png",
    "committee_size_cv.png",
];

/// The detection AUC heatmap of one attack.
pub fn detection_auc_file(attack: &str) -> String {
    format!("detection_auc_{attack}.png")
}

/// The correlation heatmap of one attack.
pub fn correlation_file(attack: &str) -> String {
    format!("correlation_{attack}.png")
}

fn bars(nodes: &[NodeReward]) -> Vec<Bar> {
    nodes
        .iter()
        .map(|n| Bar {
            label: n.name.clone(),
            mean: n.mean,
            spread: n.sd,
        })
        .collect()
}

/// Bar charts of the reward per round of every inference node and every evaluator, per
/// defense.
pub fn rewards(ctx: &Context, r: &RewardsResult) -> Result<()> {
    let k = r.k;
    for d in &r.per_defense {
        let name = &d.defense;
        let (f1, f2) = rewards_files(d);
        plot::bar_chart(
            &ctx.out.join(&f1),
            &titled(
                ctx,
                &format!("Reward per round by inference node ({name}, K = {k}, honest)"),
            ),
            "reward per round (mean ± sd)",
            &bars(&d.nodes),
        )?;
        plot::bar_chart(
            &ctx.out.join(&f2),
            &titled(ctx, &format!("Reward per round by evaluator ({name}, K = {k}, honest)")),
            "reward per round (mean ± sd)",
            &bars(&d.evaluators),
        )?;
    }
    Ok(())
}

/// Line charts of trust over rounds, one per run: the honest evaluators' mean, minimum
/// and maximum, and each malicious evaluator.
pub fn trust(ctx: &Context, r: &TrustResult) -> Result<()> {
    let (rho, k) = (r.rho, r.k);
    for run in &r.runs {
        let n = run.malicious.len();
        let honest: Vec<usize> = (0..n).filter(|&e| !run.malicious[e]).collect();
        let stat = |f: &dyn Fn(&[f64]) -> f64| -> Vec<(f64, f64)> {
            run.trace
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
        for e in (0..n).filter(|&e| run.malicious[e]) {
            series.push(Series {
                name: format!("malicious {}", ctx.world.evaluator_name(e)),
                points: run.trace.iter().map(|(t, w)| (*t as f64, w[e])).collect(),
            });
        }
        plot::line_chart(
            &ctx.out.join(trust_file(run)),
            &titled(
                ctx,
                &format!(
                    "Trust under {} (rho = {rho}, K = {k}): {}",
                    run.attack,
                    defense_name(&run.rule, &run.trust)
                ),
            ),
            "round",
            "trust weight",
            &series,
        )?;
    }
    Ok(())
}

/// Line charts against K of the mean, the variance and the coefficient of variation of
/// the reward per round, for both kinds of node.
pub fn committee_size(ctx: &Context, r: &CommitteeSizeResult) -> Result<()> {
    let pts =
        |f: &dyn Fn(&crate::cell::CellResult) -> f64| r.cells.iter().map(|c| (c.k as f64, f(c))).collect::<Vec<_>>();
    let pair = |inference: Vec<(f64, f64)>, evaluator: Vec<(f64, f64)>| {
        [
            Series {
                name: "inference node".into(),
                points: inference,
            },
            Series {
                name: "evaluator".into(),
                points: evaluator,
            },
        ]
    };
    let [mean, var, cv_file] = COMMITTEE_SIZE_FILES;
    plot::line_chart(
        &ctx.out.join(mean),
        &titled(ctx, "Mean reward per round against committee size K (honest world)"),
        "committee size K",
        "mean reward per round",
        &pair(pts(&|c| c.inference_reward_mean), pts(&|c| c.evaluator_reward_mean)),
    )?;
    plot::line_chart(
        &ctx.out.join(var),
        &titled(ctx, "Variance of the reward per round against committee size K"),
        "committee size K",
        "variance of reward per round",
        &pair(pts(&|c| c.inference_reward_var), pts(&|c| c.evaluator_reward_var)),
    )?;
    plot::line_chart(
        &ctx.out.join(cv_file),
        &titled(ctx, "Relative spread (sd / mean) of the reward per round against K"),
        "committee size K",
        "coefficient of variation",
        &pair(
            pts(&|c| cv(c.inference_reward_var, c.inference_reward_mean)),
            pts(&|c| cv(c.evaluator_reward_var, c.evaluator_reward_mean)),
        ),
    )
}

/// Heatmaps over ρ × defense per attack: detection AUC (but for `none`) and
/// consensus–truth correlation.
pub fn detection(ctx: &Context, r: &DetectionResult) -> Result<()> {
    let k = r.k;
    let y_ticks: Vec<String> = r.rhos.iter().map(|r| format!("rho {r}")).collect();
    let names = |ds: &[crate::experiment::detection::GridDefense]| {
        ds.iter().map(|d| defense_name(&d.rule, &d.trust)).collect::<Vec<_>>()
    };
    for a in &r.attacks {
        let attack = &a.attack;
        if let Some(auc) = &a.auc {
            plot::heatmap(
                &ctx.out.join(detection_auc_file(attack)),
                &titled(ctx, &format!("Detection AUC under {attack} (K = {k})")),
                "defense (rule+trust)",
                "malicious ratio",
                &names(&r.trusted),
                &y_ticks,
                auc,
                (0.0, 1.0),
            )?;
        }
        plot::heatmap(
            &ctx.out.join(correlation_file(attack)),
            &titled(ctx, &format!("Consensus-truth correlation under {attack} (K = {k})")),
            "defense (rule+trust)",
            "malicious ratio",
            &names(&r.defenses),
            &y_ticks,
            &a.correlation,
            (0.0, 1.0),
        )?;
    }
    Ok(())
}

/// Consensus–truth correlation and detection AUC against the gold fraction g, one line
/// per defense (means over the experiment's attacks and ρ; a defense without the
/// number at some g is left out of that figure).
pub fn gold(ctx: &Context, r: &GoldResult) -> Result<()> {
    let series = |f: fn(&crate::cell::CellResult) -> Option<f64>| -> Vec<Series> {
        GOLD_DEFENSES
            .iter()
            .filter_map(|d| {
                let points: Option<Vec<(f64, f64)>> = r
                    .gold_fractions
                    .iter()
                    .map(|&g| r.mean_of(d, g, f).map(|y| (g, y)))
                    .collect();
                points.map(|points| Series { name: d.name(), points })
            })
            .collect()
    };
    let [pearson_file, auc_file] = GOLD_FILES;
    plot::line_chart(
        &ctx.out.join(pearson_file),
        &titled(
            ctx,
            &format!("Consensus-truth correlation against the gold fraction g (K = {})", r.k),
        ),
        "gold fraction g",
        "Pearson r with the truth (ordinary rounds)",
        &series(|c| c.pearson),
    )?;
    plot::line_chart(
        &ctx.out.join(auc_file),
        &titled(ctx, &format!("Detection AUC against the gold fraction g (K = {})", r.k)),
        "gold fraction g",
        "detection AUC of the malicious evaluators",
        &series(|c| c.detection_auc),
    )
}
