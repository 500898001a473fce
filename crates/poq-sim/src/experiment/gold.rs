//! `gold`: what gold spot-checks buy. For each gold fraction g of the grid
//! (`grid.gold_fractions`), the attacks that shift or blur scores (boosting, sabotage,
//! noise, collusion) at ρ ∈ {0.1, 0.25}, K = 7 (or the grid's nearest), it runs the
//! defenses users would compare: gold trust with the weighted mean (ours with gold) and
//! the weighted median, gold-calibrated CRH and CATD (they learn from the revealed
//! truths too), ours without gold and the median. Every cell of one g faces the same
//! ordinary rounds (the gold rounds have their own stream), and on a replay every cell
//! holds out the same gold prompts, so the g = 0 column is the no-gold baseline on the
//! same live rounds. The bar each consensus is measured against is the best single
//! evaluator model alone on those rounds (replays only).

use super::context::{Context, fixed_k};
use crate::Result;
use crate::cell::{CellResult, CellSpec};
use crate::defense::Defense;
use crate::defense::{CATD, CRH, GOLD_MEAN, GOLD_MEDIAN, MEDIAN, OURS};
use crate::sweep::run_cells;
use serde::Serialize;

/// The attacks the gold experiment runs, by name.
pub const GOLD_ATTACKS: [&str; 4] = ["boosting", "sabotage", "noise", "collusion"];
/// The malicious fractions it runs.
pub const GOLD_RHOS: [f64; 2] = [0.1, 0.25];
/// The gold fraction its table quotes when the grid has it (else the grid's nearest).
pub const QUOTED_GOLD: f64 = 0.05;

/// The defenses compared, in the order outputs list them.
pub const GOLD_DEFENSES: [Defense; 6] = [GOLD_MEAN, GOLD_MEDIAN, CRH, CATD, OURS, MEDIAN];

/// The gold experiment's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoldResult {
    /// The committee size.
    pub k: usize,
    /// The gold fractions, in the grid's order.
    pub gold_fractions: Vec<f64>,
    /// The gold fraction the table quotes.
    pub quoted: f64,
    /// One cell per (g, attack, ρ, defense), in that nesting order.
    pub cells: Vec<CellResult>,
}

impl GoldResult {
    /// The cells of one defense at gold fraction `g`.
    pub fn of<'a>(&'a self, d: &'a Defense, g: f64) -> impl Iterator<Item = &'a CellResult> + 'a {
        self.cells
            .iter()
            .filter(move |c| d.is(&c.rule, &c.trust) && (c.gold_fraction - g).abs() < 1e-12)
    }

    /// The mean of `f` over a defense's cells at `g` where every cell has it.
    pub fn mean_of(&self, d: &Defense, g: f64, f: fn(&CellResult) -> Option<f64>) -> Option<f64> {
        let v: Option<Vec<f64>> = self.of(d, g).map(f).collect();
        v.filter(|v| !v.is_empty())
            .map(|v| v.iter().sum::<f64>() / v.len() as f64)
    }
}

/// Runs every (g, attack, ρ, defense) cell.
pub fn compute(ctx: &Context) -> Result<GoldResult> {
    let k = fixed_k(ctx.scenario, ctx.world);
    let gold_fractions = ctx.scenario.grid.gold_fractions.clone();
    let mut specs = Vec::new();
    for &g in &gold_fractions {
        for name in GOLD_ATTACKS {
            let attack = ctx.scenario.attack.attack(name)?;
            for rho in GOLD_RHOS {
                for d in GOLD_DEFENSES {
                    specs.push(CellSpec {
                        gold_fraction: g,
                        ..CellSpec::new(ctx.scenario, attack, rho, k, d)
                    });
                }
            }
        }
    }
    ctx.progress.stage("gold", specs.len() as u64);
    let cells = run_cells(ctx.scenario, ctx.world, &specs, &|| ctx.progress.tick())?;
    let quoted = gold_fractions
        .iter()
        .copied()
        .min_by(|a, b| (a - QUOTED_GOLD).abs().total_cmp(&(b - QUOTED_GOLD).abs()))
        .unwrap_or(QUOTED_GOLD);
    Ok(GoldResult {
        k,
        gold_fractions,
        quoted,
        cells,
    })
}
