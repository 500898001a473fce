//! Reporting: turns the experiments' results ([`crate::experiment`]) into files, and
//! computes nothing of its own.
//!
//! - [`csv`]: the CSV tables, every row naming its scenario and seed, and
//!   [`csv::write_atomic`], through which every output is written;
//! - [`figures`]: each experiment's PNG figures, drawn with [`plot`];
//! - [`markdown`]: each experiment's `report.md` section (prose that states only
//!   numbers read from the scenario or the results), `comparison.md` and `report.md`;
//! - [`plot`]: the chart kinds (line charts, heatmaps, bar charts);
//! - [`write_results`]: `results.json`, every result serialized as it is.

pub mod csv;
pub mod figures;
pub mod markdown;
pub mod plot;

use crate::cell::CellResult;
use crate::experiment::committee_size::CommitteeSizeResult;
use crate::experiment::context::Context;
use crate::experiment::gold::GoldResult;
use crate::experiment::rewards::RewardsResult;
use crate::experiment::trust::TrustResult;
use crate::experiment::withholding::WithholdingResult;
use crate::{Result, SimError};
use serde::Serialize;
use std::path::Path;

/// An I/O error on `path`, as a [`SimError`].
pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A figure title that says where its numbers came from.
pub(crate) fn titled(ctx: &Context, title: &str) -> String {
    format!("{title} [{}, seed {}]", ctx.scenario.name, ctx.scenario.seed)
}

/// How outputs name a rule and trust policy: the rule alone without trust, else
/// `rule+trust` (as [`crate::defense::Defense::name`]).
pub(crate) fn defense_name(rule: &str, trust: &str) -> String {
    if trust == "none" {
        rule.to_string()
    } else {
        format!("{rule}+{trust}")
    }
}

/// What a run was: scenario, seed, rounds and world size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meta {
    /// The scenario's seed.
    pub seed: u64,
    /// Rounds per cell.
    pub rounds: usize,
    /// Repetitions per cell.
    pub seeds: usize,
    /// How the scenario is named in outputs.
    pub scenario: String,
    /// Evaluators in the world.
    pub evaluators: usize,
    /// Inference nodes in the world.
    pub nodes: usize,
}

impl Meta {
    /// The meta of a run in `ctx`.
    pub fn of(ctx: &Context) -> Self {
        Self {
            seed: ctx.scenario.seed,
            rounds: ctx.scenario.rounds,
            seeds: ctx.scenario.seeds,
            scenario: ctx.label.clone(),
            evaluators: ctx.world.evaluators(),
            nodes: ctx.world.nodes(),
        }
    }
}

/// Everything `results.json` holds: an experiment that did not run is absent, except
/// `alignment` (the grid's cells), which is empty then.
#[derive(Debug, Clone, Serialize)]
pub struct Results<'a> {
    /// The grid's cells (those at the fixed K when only `detection` ran).
    pub alignment: &'a [CellResult],
    /// The rewards experiment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewards: Option<&'a RewardsResult>,
    /// The trust experiment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<&'a TrustResult>,
    /// The committee-size experiment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub committee_size: Option<&'a CommitteeSizeResult>,
    /// The withholding experiment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withholding: Option<&'a WithholdingResult>,
    /// The gold experiment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gold: Option<&'a GoldResult>,
    /// The run.
    pub meta: Meta,
}

/// Writes `results.json`: pretty-printed, keys in alphabetical order.
pub fn write_results(ctx: &Context, results: &Results) -> Result<()> {
    let path = ctx.out.join("results.json");
    let json_error = |e: serde_json::Error| SimError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    };
    // Through a `Value`, whose maps keep their keys sorted (serde_json without
    // `preserve_order`), so the layout does not depend on the order of struct fields.
    let value = serde_json::to_value(results).map_err(json_error)?;
    let text = serde_json::to_string_pretty(&value).map_err(json_error)?;
    csv::write_atomic(&path, text.as_bytes())
}
