//! `alignment`: for every rule × trust × attack × ρ × K of the grid, the consensus'
//! Pearson and Spearman correlation with the truth, its mean absolute error, payout
//! inflation and detection AUC; here, the numbers its report quotes: the published
//! headline (median against mean under attack) and where ours falls short.

use super::context::{AUC_SHORTFALL, Context, MEDIAN, OURS, QUOTED_RHO, fixed_k, same_rho};
use crate::cell::CellResult;
use crate::defense::Defense;
use poq_core::aggregate::Rule;
use poq_core::trust::TrustKind;
use serde::Serialize;

/// The plain median's and the plain mean's correlation under one attack at
/// [`QUOTED_RHO`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttackPearson {
    /// The attack's name.
    pub attack: String,
    /// The plain median's Pearson correlation.
    pub median: Option<f64>,
    /// The plain mean's Pearson correlation.
    pub mean: Option<f64>,
}

/// A cell where ours falls short: detection AUC below [`AUC_SHORTFALL`], or a
/// correlation below the plain median's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shortfall {
    /// The attack's name.
    pub attack: String,
    /// The malicious fraction.
    pub rho: f64,
    /// Ours: detection AUC.
    pub detection_auc: Option<f64>,
    /// Ours: Pearson correlation.
    pub pearson: Option<f64>,
    /// The plain median's Pearson correlation in the same cell.
    pub median_pearson: Option<f64>,
}

/// The alignment experiment's summary of the grid (the cells themselves are the
/// `alignment` array of `results.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlignmentResult {
    /// The committee size the summary reads.
    pub k: usize,
    /// Cells in the grid.
    pub cells: usize,
    /// The plain median's Pearson correlation averaged over every attack and ρ > 0.
    pub median_pearson: Option<f64>,
    /// The plain mean's, likewise.
    pub mean_pearson: Option<f64>,
    /// The plain median's mean absolute error averaged over every attack and ρ > 0.
    pub median_mae: Option<f64>,
    /// The plain mean's, likewise.
    pub mean_mae: Option<f64>,
    /// Per attack of the scenario (but none) at [`QUOTED_RHO`], where both cells ran.
    pub per_attack: Vec<AttackPearson>,
    /// Where ours falls short at K, in grid order.
    pub shortfalls: Vec<Shortfall>,
}

impl AlignmentResult {
    /// Whether the published ordering (median above mean under attack) holds here:
    /// `None` when not measurable (no attacked cells).
    pub fn reproduced(&self) -> Option<bool> {
        match (self.median_pearson, self.mean_pearson) {
            (Some(a), Some(b)) => Some(a > b),
            _ => None,
        }
    }
}

/// Summarizes the grid's cells at the fixed K.
pub fn compute(ctx: &Context, grid: &[CellResult]) -> AlignmentResult {
    let k = fixed_k(ctx.scenario, ctx.world);
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
        rule: Rule::Mean,
        trust: TrustKind::None,
    };
    let per_attack = ctx
        .scenario
        .grid
        .attacks
        .iter()
        .filter(|a| *a != "none")
        .filter_map(|a| {
            let (m, n) = (find(a, QUOTED_RHO, MEDIAN)?, find(a, QUOTED_RHO, mean_rule)?);
            Some(AttackPearson {
                attack: a.clone(),
                median: m.pearson,
                mean: n.pearson,
            })
        })
        .collect();
    let shortfalls = grid
        .iter()
        .filter(|c| c.k == k && OURS.is(&c.rule, &c.trust) && c.rho > 0.0 && c.attack != "none")
        .filter_map(|c| {
            let median_pearson = find(&c.attack, c.rho, MEDIAN).and_then(|m| m.pearson);
            let auc_low = c.detection_auc.is_some_and(|a| a < AUC_SHORTFALL);
            let worse = matches!((c.pearson, median_pearson), (Some(a), Some(b)) if a < b);
            (auc_low || worse).then(|| Shortfall {
                attack: c.attack.clone(),
                rho: c.rho,
                detection_auc: c.detection_auc,
                pearson: c.pearson,
                median_pearson,
            })
        })
        .collect();
    AlignmentResult {
        k,
        cells: grid.len(),
        median_pearson: attacked("median", |c| c.pearson),
        mean_pearson: attacked("mean", |c| c.pearson),
        median_mae: attacked("median", |c| c.mae),
        mean_mae: attacked("mean", |c| c.mae),
        per_attack,
        shortfalls,
    }
}
