//! The experiments: one per published figure and table (spec §7), each computed into a
//! typed, serializable result and then reported as CSV and PNG files, with `all`
//! collecting them into `report.md` and `results.json`.
//!
//! - [`rewards`]: mean and spread of the per-round reward of every inference node and
//!   evaluator in an honest world;
//! - [`trust`]: trust weights over rounds, per evaluator, under each attack, for the
//!   published rule and ours;
//! - [`committee_size`] (`committee-size`): reward mean and variance against K for both
//!   kinds of node;
//! - [`detection`]: heatmaps of detection AUC and of consensus–truth correlation over
//!   malicious ratio × defense, one per attack (K = 7, or the grid's K nearest 7);
//! - [`alignment`]: Pearson, Spearman, MAE, payout inflation and detection AUC for every
//!   rule × trust × attack × ρ × K;
//! - [`withholding`]: whether strategic abstention, or a distrusted attacker, pays, under
//!   each missing-report rule and each evaluator reward scaling;
//! - [`gold`]: consensus–truth correlation and detection AUC against the fraction of
//!   gold spot-checks, for gold trust, gold-calibrated CRH and CATD, ours and the
//!   median, with the best single evaluator model as the bar.
//!
//! Computation and reporting are separate: each experiment's `compute` runs its cells
//! and averages them into its result type, writing nothing and formatting no prose;
//! [`crate::report`] turns results into files. [`run`] does one after the other.
//!
//! Report prose states only numbers read from the scenario or the results; published
//! reference values are the named constants below, with their source.

pub mod alignment;
pub mod committee_size;
pub mod context;
pub mod detection;
pub mod gold;
pub mod rewards;
pub mod trust;
pub mod withholding;

use crate::cell::CellResult;
pub use crate::report::csv::write_atomic;
pub use crate::report::markdown::comparison_table;
use crate::report::{self, Meta, Results, csv, figures, markdown};
use crate::sweep::{grid_cells, run_cells};
use crate::{Result, SimError};
pub use context::*;

/// Runs experiment `name` (one of [`EXPERIMENTS`] or `all`), writing into `ctx.out`:
/// each requested experiment is computed, then reported (CSV, PNG, its `report.md`
/// section); `report.md` and `results.json` come last.
pub fn run(name: &str, ctx: &Context) -> Result<()> {
    if name != "all" && !EXPERIMENTS.contains(&name) {
        return Err(SimError::UnknownExperiment {
            name: name.to_string(),
            expected: format!("all, {}", EXPERIMENTS.join(", ")),
        });
    }
    std::fs::create_dir_all(&ctx.out).map_err(report::io_error(&ctx.out))?;
    let wants = |n: &str| name == "all" || name == n;
    let mut sections = Vec::new();
    // The grid cells, for `results.json` whenever the grid ran.
    let mut grid: Vec<CellResult> = Vec::new();
    if wants("alignment") || wants("detection") {
        let mut cells = grid_cells(ctx.scenario, ctx.world)?;
        if name == "detection" {
            let k = fixed_k(ctx.scenario, ctx.world);
            cells.retain(|c| c.k == k);
        }
        ctx.progress.stage("grid", cells.len() as u64);
        grid = run_cells(ctx.scenario, ctx.world, &cells, &|| ctx.progress.tick())?;
        if wants("alignment") {
            let r = alignment::compute(ctx, &grid);
            csv::alignment(ctx, &grid)?;
            markdown::write_comparison(ctx, &grid, &r)?;
            sections.push(markdown::alignment_section(ctx, &grid, &r));
        }
        if wants("detection") {
            let r = detection::compute(ctx, &grid);
            figures::detection(ctx, &r)?;
            sections.push(markdown::detection_section(&r));
        }
    }
    let mut rewards_result = None;
    if wants("rewards") {
        let r = rewards::compute(ctx)?;
        figures::rewards(ctx, &r)?;
        csv::rewards(ctx, &r)?;
        sections.push(markdown::rewards_section(&r));
        rewards_result = Some(r);
    }
    let mut trust_result = None;
    if wants("trust") {
        let r = trust::compute(ctx)?;
        figures::trust(ctx, &r)?;
        csv::trust(ctx, &r)?;
        sections.push(markdown::trust_section(ctx, &r));
        trust_result = Some(r);
    }
    let mut committee_size_result = None;
    if wants("committee-size") {
        let r = committee_size::compute(ctx)?;
        csv::committee_size(ctx, &r)?;
        figures::committee_size(ctx, &r)?;
        sections.push(markdown::committee_size_section(ctx, &r)?);
        committee_size_result = Some(r);
    }
    let mut withholding_result = None;
    if wants("withholding") {
        let r = withholding::compute(ctx)?;
        csv::withholding(ctx, &r)?;
        sections.push(markdown::withholding_section(ctx, &r));
        withholding_result = Some(r);
    }
    let mut gold_result = None;
    if wants("gold") {
        let r = gold::compute(ctx)?;
        csv::gold(ctx, &r)?;
        figures::gold(ctx, &r)?;
        sections.push(markdown::gold_section(ctx, &r));
        gold_result = Some(r);
    }
    markdown::write_report(ctx, &sections)?;
    report::write_results(
        ctx,
        &Results {
            alignment: &grid,
            rewards: rewards_result.as_ref(),
            trust: trust_result.as_ref(),
            committee_size: committee_size_result.as_ref(),
            withholding: withholding_result.as_ref(),
            gold: gold_result.as_ref(),
            meta: Meta::of(ctx),
        },
    )
}
