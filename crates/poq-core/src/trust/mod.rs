//! Evaluator trust: how much each evaluator's report counts, learned from rounds (spec §3).
//!
//! All policies implement [`TrustPolicy`]: the round reads weights before consensus and
//! feeds the finalized reports back. State is a `Vec` indexed by [`EvaluatorId`], so
//! updates are deterministic and O(K) per round.
//!
//! - [`NoTrust`] (`none`): every weight is 1.
//! - [`Published`] (`published`): the multiplicative rule of the adaptive PoQ paper,
//!   reproduced exactly, including its saturation flaw.
//! - [`Calibrated`] (`calibrated`): ours; per-evaluator signed bias and error variance
//!   against a leave-one-out reference, weights relative to the pool, lose fast and
//!   regain slowly.

mod calibrated;
mod published;

pub use calibrated::{Calibrated, CalibratedParams};
pub use published::{Published, PublishedParams};

use crate::{CoreError, EvaluatorId, Result};

/// One finalized report, as trust policies see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Who reported.
    pub evaluator: EvaluatorId,
    /// The score, finite and in [0, 10] (the round validated it).
    pub score: f64,
}

/// How one evaluator's weight moved in a round.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TrustChange {
    /// The evaluator.
    pub evaluator: EvaluatorId,
    /// Weight before the round's update.
    pub before: f64,
    /// Weight after it.
    pub after: f64,
}

/// A trust policy: weights out, finalized rounds in.
///
/// Rounds carry a task ([`crate::TaskId`]: QA, summarization, ...), because an
/// evaluator's reliability can differ by task (published: correlations invert between
/// QA and summarization). A policy may keep trust per task (`weight_for`,
/// `update_for`); the defaults ignore the task, as the published rule does.
pub trait TrustPolicy {
    /// The policy's name, as outputs and `--trust` spell it.
    fn name(&self) -> &'static str;
    /// Number of evaluators the policy tracks.
    fn pool_size(&self) -> usize;
    /// The evaluator's overall weight (for a per-task policy, the mean over the tasks
    /// it has seen); finite and positive, 1.0 for unknown ids. Used for reporting and
    /// detection.
    fn weight(&self, evaluator: EvaluatorId) -> f64;
    /// The weight a round of `task` gives `evaluator`.
    fn weight_for(&self, evaluator: EvaluatorId, _task: crate::TaskId) -> f64 {
        self.weight(evaluator)
    }
    /// Learns from a finalized round: its reports and the consensus they produced.
    /// Appends one [`TrustChange`] per report to `changes`, in report order.
    fn update(&mut self, reports: &[Report], consensus: f64, changes: &mut Vec<TrustChange>);
    /// Learns from a finalized round of `task`; the [`TrustChange`]s are in that
    /// task's weights.
    fn update_for(&mut self, reports: &[Report], consensus: f64, _task: crate::TaskId, changes: &mut Vec<TrustChange>) {
        self.update(reports, consensus, changes);
    }
    /// Every evaluator's overall weight, in id order.
    fn weights(&self) -> Vec<f64> {
        (0..self.pool_size() as EvaluatorId).map(|e| self.weight(e)).collect()
    }
}

/// The trust policy names accepted by [`policy_from_name`].
pub const POLICY_NAMES: &str = "none, published, calibrated";

/// Builds a policy with default parameters for a pool of `n` evaluators.
pub fn policy_from_name(name: &str, n: usize) -> Result<Box<dyn TrustPolicy + Send>> {
    Ok(match name {
        "none" => Box::new(NoTrust::new(n)),
        "published" => Box::new(Published::new(n, PublishedParams::default())?),
        "calibrated" => Box::new(Calibrated::new(n, CalibratedParams::default())?),
        _ => {
            return Err(CoreError::UnknownName {
                kind: "trust policy",
                name: name.to_string(),
                expected: POLICY_NAMES,
            });
        }
    })
}

/// No adaptation: every evaluator weighs 1, always.
#[derive(Debug, Clone, PartialEq)]
pub struct NoTrust {
    n: usize,
}

impl NoTrust {
    /// A constant-weight policy for `n` evaluators.
    pub fn new(n: usize) -> Self {
        Self { n }
    }
}

impl TrustPolicy for NoTrust {
    fn name(&self) -> &'static str {
        "none"
    }
    fn pool_size(&self) -> usize {
        self.n
    }
    fn weight(&self, _evaluator: EvaluatorId) -> f64 {
        1.0
    }
    fn update(&mut self, reports: &[Report], _consensus: f64, changes: &mut Vec<TrustChange>) {
        changes.extend(reports.iter().map(|r| TrustChange {
            evaluator: r.evaluator,
            before: 1.0,
            after: 1.0,
        }));
    }
}

/// Checks a parameter with a predicate, naming it on failure.
pub(crate) fn check_param(name: &'static str, value: f64, ok: bool, reason: &'static str) -> Result<()> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(CoreError::InvalidParameter { name, value, reason })
    }
}
