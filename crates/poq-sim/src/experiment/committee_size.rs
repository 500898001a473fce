//! `committee-size`: the reward mean and variance of both kinds of node against the
//! committee size K, in an honest world under the published configuration.

use super::context::{Context, PUBLISHED};
use crate::cell::{CellResult, CellSpec};
use crate::sweep::run_cells;
use crate::{Result, SimError};
use poq_core::attack::Attack;
use serde::Serialize;

/// The committee-size experiment's result: one cell per K of the grid that fits the
/// world, in the grid's order. In `results.json` it is the array of cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CommitteeSizeResult {
    /// One honest, published-configuration cell per K; never empty.
    pub cells: Vec<CellResult>,
}

/// Standard deviation over mean (the mean floored at 1e-12).
pub fn cv(var: f64, mean: f64) -> f64 {
    var.sqrt() / mean.max(1e-12)
}

impl CommitteeSizeResult {
    /// The first and the last cell (smallest and largest K in the grid's order).
    pub fn ends(&self) -> Option<(&CellResult, &CellResult)> {
        Some((self.cells.first()?, self.cells.last()?))
    }

    /// The lowest and highest mean inference reward per round over K (±∞ when empty).
    pub fn inference_mean_range(&self) -> (f64, f64) {
        let lo = self
            .cells
            .iter()
            .map(|r| r.inference_reward_mean)
            .fold(f64::INFINITY, f64::min);
        let hi = self
            .cells
            .iter()
            .map(|r| r.inference_reward_mean)
            .fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }
}

/// The error when no K of the grid fits the world.
pub(crate) fn no_fit(ctx: &Context) -> SimError {
    SimError::InvalidScenario {
        name: "grid.ks".into(),
        value: format!("{:?}", ctx.scenario.grid.ks),
        reason: format!(
            "no committee size fits this world (at most {} evaluators per round)",
            ctx.world.evaluators()
        ),
    }
}

/// Runs the honest world under the published configuration at every K of the grid that
/// fits the world; an error when none fits.
pub fn compute(ctx: &Context) -> Result<CommitteeSizeResult> {
    let specs: Vec<CellSpec> = ctx
        .scenario
        .grid
        .ks
        .iter()
        .copied()
        .filter(|&k| k <= ctx.world.evaluators())
        .map(|k| CellSpec::new(ctx.scenario, Attack::None, 0.0, k, PUBLISHED))
        .collect();
    ctx.progress.stage("committee-size", specs.len() as u64);
    let cells = run_cells(ctx.scenario, ctx.world, &specs, &|| ctx.progress.tick())?;
    if cells.is_empty() {
        return Err(no_fit(ctx));
    }
    Ok(CommitteeSizeResult { cells })
}
