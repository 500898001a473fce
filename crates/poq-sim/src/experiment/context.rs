//! What every experiment shares: the run context, progress reporting, the fixed
//! choices (named constants) and published reference values, and the cell runners.
//! Reporting reads these too, so they live apart from [`super::run`], which calls both
//! computation and reporting.

use crate::Result;
use crate::cell::{CellDetail, CellSpec};
use crate::play::run_once;
use crate::scenario::Scenario;
use crate::world::World;
use rayon::prelude::*;
use std::path::PathBuf;

pub use crate::defense::{MEDIAN, OURS, PUBLISHED};

/// Every experiment name `poq experiment` accepts, besides `all`.
pub const EXPERIMENTS: [&str; 7] = [
    "rewards",
    "trust",
    "committee-size",
    "detection",
    "alignment",
    "withholding",
    "gold",
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
pub(crate) fn same_rho(a: f64, b: f64) -> bool {
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

/// The committee size used where an experiment fixes K: [`PREFERRED_K`], or the grid's
/// nearest that fits the world.
pub fn fixed_k(scenario: &Scenario, world: &dyn World) -> usize {
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

/// Runs one repetition of each (cell, repetition) in parallel, in the given order.
pub(crate) fn run_details(ctx: &Context, specs: &[(CellSpec, usize)], trace_every: usize) -> Result<Vec<CellDetail>> {
    specs
        .par_iter()
        .map(|(spec, rep)| {
            let d = run_once(ctx.scenario, ctx.world, spec, *rep, trace_every);
            ctx.progress.tick();
            d
        })
        .collect()
}
