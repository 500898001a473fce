//! `detection`: heatmaps over malicious ratio × defense, one pair per attack, of the
//! detection AUC of the final trust weights and of the consensus–truth correlation, from
//! the grid's cells at the fixed K.

use super::context::{Context, MEDIAN, OURS, PUBLISHED, QUOTED_RHO, fixed_k, same_rho};
use crate::cell::CellResult;
use crate::defense::Defense;
use serde::Serialize;

/// A defense as the grid names it: a rule and a trust policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridDefense {
    /// The consensus rule's name.
    pub rule: String,
    /// The trust policy's name (`none` without trust).
    pub trust: String,
}

/// The consensus–truth correlation of four defenses at [`QUOTED_RHO`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotedPearson {
    /// The plain mean, without trust.
    pub mean: Option<f64>,
    /// The plain median ([`MEDIAN`]).
    pub median: Option<f64>,
    /// The published configuration ([`PUBLISHED`]).
    pub published: Option<f64>,
    /// Ours ([`OURS`]).
    pub ours: Option<f64>,
}

/// One attack's pair of maps, rows the grid's ρ, and the numbers its captions quote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttackMaps {
    /// The attack's name.
    pub attack: String,
    /// Detection AUC, columns [`DetectionResult::trusted`]; absent for the attack
    /// `none`, where there is nothing to detect.
    pub auc: Option<Vec<Vec<Option<f64>>>>,
    /// Consensus–truth Pearson correlation, columns [`DetectionResult::defenses`].
    pub correlation: Vec<Vec<Option<f64>>>,
    /// Ours: the lowest detection AUC over 0 < ρ ≤ [`QUOTED_RHO`]; absent when no such
    /// cell has one.
    pub ours_worst_auc_low: Option<f64>,
    /// Ours: the detection AUC at [`DetectionResult::highest_rho`].
    pub ours_auc_highest: Option<f64>,
    /// The published configuration's detection AUC at [`QUOTED_RHO`].
    pub published_auc_quoted: Option<f64>,
    /// Correlations at [`QUOTED_RHO`].
    pub quoted_pearson: QuotedPearson,
}

/// The detection experiment's result (its numbers are also the `alignment` cells of
/// `results.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionResult {
    /// The committee size.
    pub k: usize,
    /// The grid's malicious fractions: the rows of every map.
    pub rhos: Vec<f64>,
    /// The largest of them (at least 0).
    pub highest_rho: f64,
    /// Every rule × trust of the grid: the columns of the correlation maps.
    pub defenses: Vec<GridDefense>,
    /// Those with a trust policy: the columns of the AUC maps.
    pub trusted: Vec<GridDefense>,
    /// One entry per attack of the grid, in its order.
    pub attacks: Vec<AttackMaps>,
}

/// Reads the maps and quoted numbers off the grid's cells at the fixed K.
pub fn compute(ctx: &Context, grid: &[CellResult]) -> DetectionResult {
    let k = fixed_k(ctx.scenario, ctx.world);
    let g = &ctx.scenario.grid;
    let defenses: Vec<GridDefense> = g
        .rules
        .iter()
        .flat_map(|r| {
            g.trusts.iter().map(move |t| GridDefense {
                rule: r.clone(),
                trust: t.clone(),
            })
        })
        .collect();
    let trusted: Vec<GridDefense> = defenses.iter().filter(|d| d.trust != "none").cloned().collect();
    let find = |attack: &str, rho: f64, rule: &str, trust: &str| {
        grid.iter()
            .find(|c| c.attack == attack && same_rho(c.rho, rho) && c.k == k && c.rule == rule && c.trust == trust)
    };
    let map = |attack: &str, columns: &[GridDefense], f: fn(&CellResult) -> Option<f64>| -> Vec<Vec<Option<f64>>> {
        g.rhos
            .iter()
            .map(|&rho| {
                columns
                    .iter()
                    .map(|d| find(attack, rho, &d.rule, &d.trust).and_then(f))
                    .collect()
            })
            .collect()
    };
    let highest_rho = g.rhos.iter().copied().fold(0.0, f64::max);
    let attacks = g
        .attacks
        .iter()
        .map(|attack| {
            let at =
                |rho: f64, d: Defense| find(attack, rho, d.rule.name(), d.trust.name()).and_then(|c| c.detection_auc);
            let low: Vec<f64> = g
                .rhos
                .iter()
                .filter(|&&r| r > 0.0 && r <= QUOTED_RHO)
                .filter_map(|&r| at(r, OURS))
                .collect();
            let r = |rule: &str, trust: &str| find(attack, QUOTED_RHO, rule, trust).and_then(|c| c.pearson);
            AttackMaps {
                attack: attack.clone(),
                auc: (attack != "none").then(|| map(attack, &trusted, |c| c.detection_auc)),
                correlation: map(attack, &defenses, |c| c.pearson),
                ours_worst_auc_low: (!low.is_empty()).then(|| low.iter().copied().fold(f64::INFINITY, f64::min)),
                ours_auc_highest: at(highest_rho, OURS),
                published_auc_quoted: at(QUOTED_RHO, PUBLISHED),
                quoted_pearson: QuotedPearson {
                    mean: r("mean", "none"),
                    median: r(MEDIAN.rule.name(), MEDIAN.trust.name()),
                    published: r(PUBLISHED.rule.name(), PUBLISHED.trust.name()),
                    ours: r(OURS.rule.name(), OURS.trust.name()),
                },
            }
        })
        .collect();
    DetectionResult {
        k,
        rhos: g.rhos.clone(),
        highest_rho,
        defenses,
        trusted,
        attacks,
    }
}
