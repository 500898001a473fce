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
//! - [`Crh`] (`crh`) and [`Catd`] (`catd`): the truth-discovery methods users would
//!   pick instead (Li et al. 2014, 2015), in streaming form, as baselines; given
//!   revealed gold truths they are the gold-calibrated baselines too.
//! - [`Gold`] (`gold`): competence learned from gold spot-checks; each evaluator's
//!   scores are calibrated onto the truth's scale and weighted by how much of the
//!   truth they explain, with an agreement estimator for detection.
//!
//! **Calibration and standing.** A policy may map each report onto a common scale
//! before consensus ([`TrustPolicy::calibrate`]; the round aggregates the calibrated
//! scores and measures deviations on them), and may rank evaluators for detection by
//! something other than their weight ([`TrustPolicy::standing`]): a weight says how
//! informative an evaluator is, a standing how honest it looks. Both default to the
//! plain score and the weight.
//!
//! [`Trust`] holds any of them as one serializable value: it is what the protocol owns,
//! snapshots and digests. A policy's persistent state is what it serializes, compares
//! and encodes; scratch buffers it keeps to avoid allocating are none of those.
//!
//! **Missing reports.** [`TrustPolicy::penalize_missing`] is how a committee member that
//! did not report is treated under the default missing-report rule: as a report at the
//! maximum deviation (for the published rule exactly, d = 1; for calibrated trust the
//! largest squared error a report can have, its bias left alone), so that silence does
//! not buy trust. The withholding experiment measures it.

mod calibrated;
mod catd;
mod crh;
mod gold;
mod published;

pub use calibrated::{Calibrated, CalibratedParams};
pub use catd::{Catd, CatdParams};
pub use crh::{Crh, CrhParams};
pub use gold::{Gold, GoldParams};
pub use published::{Published, PublishedParams};

use crate::encoding::Encoder;
use crate::{CoreError, EvaluatorId, Result, Task};
use serde::{Deserialize, Serialize};

/// One finalized report, as trust policies see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Who reported.
    pub evaluator: EvaluatorId,
    /// The score, finite and in [0, 10] (the round validated it).
    pub score: f64,
}

/// How one evaluator's weight moved in a round.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
/// Rounds carry a [`Task`] (QA, summarization), because an evaluator's reliability can
/// differ by task (published: correlations invert between QA and summarization). A
/// policy may keep trust per task (`weight_for`, `update`); the defaults ignore the
/// task, as the published rule does.
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
    fn weight_for(&self, evaluator: EvaluatorId, _task: Task) -> f64 {
        self.weight(evaluator)
    }
    /// Learns from a finalized round of `task`: its reports and the consensus they
    /// produced. Appends one [`TrustChange`] per report to `changes`, in report order,
    /// in that task's weights.
    fn update(&mut self, reports: &[Report], consensus: f64, task: Task, changes: &mut Vec<TrustChange>);
    /// Treats a committee member of a round of `task` that did not report as a report
    /// at the maximum deviation.
    fn penalize_missing(&mut self, evaluator: EvaluatorId, task: Task) -> TrustChange;
    /// Learns from a revealed gold round (a spot-check) of `task`: its reports and the
    /// truth its reference answer proves. Called after [`TrustPolicy::update`] has
    /// learned from the same round's consensus, when the truth is revealed. Appends one
    /// [`TrustChange`] per report to `changes`, in report order. The default learns
    /// nothing: policies that only see agreement ignore the truth.
    fn learn_gold(&mut self, reports: &[Report], _truth: f64, task: Task, changes: &mut Vec<TrustChange>) {
        record_unchanged(self, reports, task, changes);
    }
    /// The score of `evaluator`'s report on a round of `task` as consensus uses it.
    /// The default is the score itself; a calibrating policy maps it onto the truth's
    /// scale, within [0, 10].
    fn calibrate(&self, _evaluator: EvaluatorId, _task: Task, score: f64) -> f64 {
        score
    }
    /// How honest the evaluator looks, for detection: higher is more trusted. Defaults
    /// to the overall weight; a policy whose weight measures informativeness rather
    /// than honesty ranks by something else.
    fn standing(&self, evaluator: EvaluatorId) -> f64 {
        self.weight(evaluator)
    }
    /// Every evaluator's overall weight, in id order.
    fn weights(&self) -> Vec<f64> {
        (0..self.pool_size() as u32)
            .map(|e| self.weight(EvaluatorId(e)))
            .collect()
    }
}

/// The trust policies, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrustKind {
    /// [`NoTrust`].
    None,
    /// [`Published`].
    Published,
    /// [`Calibrated`].
    Calibrated,
    /// [`Crh`].
    Crh,
    /// [`Catd`].
    Catd,
    /// [`Gold`].
    Gold,
}

impl TrustKind {
    /// Every policy, in the order outputs list them.
    pub const ALL: [TrustKind; 6] = [
        TrustKind::None,
        TrustKind::Published,
        TrustKind::Calibrated,
        TrustKind::Crh,
        TrustKind::Catd,
        TrustKind::Gold,
    ];
    /// The names accepted by [`TrustKind::from_name`].
    pub const NAMES: &'static str = "none, published, calibrated, crh, catd, gold";

    /// The policy's name as outputs and `--trust` spell it.
    pub fn name(self) -> &'static str {
        match self {
            TrustKind::None => "none",
            TrustKind::Published => "published",
            TrustKind::Calibrated => "calibrated",
            TrustKind::Crh => "crh",
            TrustKind::Catd => "catd",
            TrustKind::Gold => "gold",
        }
    }

    /// Parses a policy name.
    pub fn from_name(name: &str) -> Result<Self> {
        TrustKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| CoreError::UnknownName {
                kind: "trust policy",
                name: name.to_string(),
                expected: TrustKind::NAMES,
            })
    }

    /// The policy with `params` for a pool of `n` evaluators.
    pub fn build(self, params: &TrustParams, n: usize) -> Result<Trust> {
        Ok(match self {
            TrustKind::None => Trust::None(NoTrust::new(n)),
            TrustKind::Published => Trust::Published(Published::new(n, params.published)?),
            TrustKind::Calibrated => Trust::Calibrated(Calibrated::new(n, params.calibrated)?),
            TrustKind::Crh => Trust::Crh(Crh::new(n, params.crh)?),
            TrustKind::Catd => Trust::Catd(Catd::new(n, params.catd)?),
            TrustKind::Gold => Trust::Gold(Gold::new(n, params.gold)?),
        })
    }
}

impl std::fmt::Display for TrustKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Parameters of every policy (only the chosen policy's are used).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustParams {
    /// The published rule.
    pub published: PublishedParams,
    /// Ours.
    pub calibrated: CalibratedParams,
    /// CRH.
    pub crh: CrhParams,
    /// CATD.
    pub catd: CatdParams,
    /// Gold-anchored competence.
    pub gold: GoldParams,
}

impl TrustParams {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        self.published.validate()?;
        self.calibrated.validate()?;
        self.crh.validate()?;
        self.catd.validate()?;
        self.gold.validate()
    }
}

/// Any trust policy, with its state: what the protocol owns, snapshots and digests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "kebab-case")]
pub enum Trust {
    /// Every weight 1.
    None(NoTrust),
    /// The published rule.
    Published(Published),
    /// Ours.
    Calibrated(Calibrated),
    /// Streaming CRH.
    Crh(Crh),
    /// Streaming CATD.
    Catd(Catd),
    /// Gold-anchored competence.
    Gold(Gold),
}

impl Trust {
    /// Which policy this is.
    pub fn kind(&self) -> TrustKind {
        match self {
            Trust::None(_) => TrustKind::None,
            Trust::Published(_) => TrustKind::Published,
            Trust::Calibrated(_) => TrustKind::Calibrated,
            Trust::Crh(_) => TrustKind::Crh,
            Trust::Catd(_) => TrustKind::Catd,
            Trust::Gold(_) => TrustKind::Gold,
        }
    }

    /// Tracks one more evaluator, at the policy's prior; returns the new pool size.
    pub fn grow(&mut self) -> usize {
        match self {
            Trust::None(p) => p.grow(),
            Trust::Published(p) => p.grow(),
            Trust::Calibrated(p) => p.grow(),
            Trust::Crh(p) => p.grow(),
            Trust::Catd(p) => p.grow(),
            Trust::Gold(p) => p.grow(),
        }
    }

    /// Checks a deserialized state: parameters valid, every weight and estimate finite
    /// and within the policy's bounds.
    pub fn validate(&self) -> Result<()> {
        match self {
            Trust::None(_) => Ok(()),
            Trust::Published(p) => p.validate(),
            Trust::Calibrated(p) => p.validate(),
            Trust::Crh(p) => p.validate(),
            Trust::Catd(p) => p.validate(),
            Trust::Gold(p) => p.validate(),
        }
    }

    /// Appends the canonical encoding of the persistent state: a tag byte (0 none,
    /// 1 published, 2 calibrated, 3 crh, 4 catd, 5 gold), then the policy's own layout.
    pub fn encode(&self, enc: &mut Encoder) {
        match self {
            Trust::None(p) => {
                enc.u8(0).usize(p.n);
            }
            Trust::Published(p) => {
                enc.u8(1);
                p.encode(enc);
            }
            Trust::Calibrated(p) => {
                enc.u8(2);
                p.encode(enc);
            }
            Trust::Crh(p) => {
                enc.u8(3);
                p.encode(enc);
            }
            Trust::Catd(p) => {
                enc.u8(4);
                p.encode(enc);
            }
            Trust::Gold(p) => {
                enc.u8(5);
                p.encode(enc);
            }
        }
    }
}

/// Calls `$call` on the policy inside a [`Trust`], statically dispatched (the round's
/// hot path inlines it).
macro_rules! dispatch {
    ($trust:expr, $p:ident => $call:expr) => {
        match $trust {
            Trust::None($p) => $call,
            Trust::Published($p) => $call,
            Trust::Calibrated($p) => $call,
            Trust::Crh($p) => $call,
            Trust::Catd($p) => $call,
            Trust::Gold($p) => $call,
        }
    };
}

impl TrustPolicy for Trust {
    fn name(&self) -> &'static str {
        self.kind().name()
    }
    fn pool_size(&self) -> usize {
        dispatch!(self, p => p.pool_size())
    }
    fn weight(&self, evaluator: EvaluatorId) -> f64 {
        dispatch!(self, p => p.weight(evaluator))
    }
    fn weight_for(&self, evaluator: EvaluatorId, task: Task) -> f64 {
        dispatch!(self, p => p.weight_for(evaluator, task))
    }
    fn update(&mut self, reports: &[Report], consensus: f64, task: Task, changes: &mut Vec<TrustChange>) {
        dispatch!(self, p => p.update(reports, consensus, task, changes))
    }
    fn penalize_missing(&mut self, evaluator: EvaluatorId, task: Task) -> TrustChange {
        dispatch!(self, p => p.penalize_missing(evaluator, task))
    }
    fn learn_gold(&mut self, reports: &[Report], truth: f64, task: Task, changes: &mut Vec<TrustChange>) {
        dispatch!(self, p => p.learn_gold(reports, truth, task, changes))
    }
    fn calibrate(&self, evaluator: EvaluatorId, task: Task, score: f64) -> f64 {
        dispatch!(self, p => p.calibrate(evaluator, task, score))
    }
    fn standing(&self, evaluator: EvaluatorId) -> f64 {
        dispatch!(self, p => p.standing(evaluator))
    }
    fn weights(&self) -> Vec<f64> {
        dispatch!(self, p => p.weights())
    }
}

/// No adaptation: every evaluator weighs 1, always.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoTrust {
    n: usize,
}

impl NoTrust {
    /// A constant-weight policy for `n` evaluators.
    pub fn new(n: usize) -> Self {
        Self { n }
    }

    /// Tracks one more evaluator; returns the new pool size.
    pub fn grow(&mut self) -> usize {
        self.n += 1;
        self.n
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
    fn update(&mut self, reports: &[Report], _consensus: f64, _task: Task, changes: &mut Vec<TrustChange>) {
        changes.extend(reports.iter().map(|r| TrustChange {
            evaluator: r.evaluator,
            before: 1.0,
            after: 1.0,
        }));
    }
    fn penalize_missing(&mut self, evaluator: EvaluatorId, _task: Task) -> TrustChange {
        TrustChange {
            evaluator,
            before: 1.0,
            after: 1.0,
        }
    }
}

/// Appends one [`TrustChange`] per report, each at the evaluator's current weight for
/// `task` before and after: what a policy records before it learns (and updates
/// `after` in place), or when a round teaches it nothing.
pub(crate) fn record_unchanged<P: TrustPolicy + ?Sized>(
    policy: &P,
    reports: &[Report],
    task: Task,
    changes: &mut Vec<TrustChange>,
) {
    changes.extend(reports.iter().map(|r| {
        let w = policy.weight_for(r.evaluator, task);
        TrustChange {
            evaluator: r.evaluator,
            before: w,
            after: w,
        }
    }));
}

/// The mean of `weight` over the per-task tables a policy has learned on (`seen`);
/// `None` before any: a per-task policy's overall weight.
pub(crate) fn mean_over_seen<T>(tasks: &[T], seen: impl Fn(&T) -> bool, weight: impl Fn(&T) -> f64) -> Option<f64> {
    let (sum, count) = tasks
        .iter()
        .filter(|t| seen(t))
        .fold((0.0, 0usize), |(s, c), t| (s + weight(t), c + 1));
    (count > 0).then(|| sum / count as f64)
}

/// The per-task table of `task`, growing `tasks` with `new()` up to it.
pub(crate) fn task_slot<T>(tasks: &mut Vec<T>, task: Task, mut new: impl FnMut() -> T) -> &mut T {
    while tasks.len() <= task.index() {
        tasks.push(new());
    }
    &mut tasks[task.index()]
}

/// Checks that restored per-task table #`task` of `policy` has one entry per
/// evaluator of the pool.
pub(crate) fn check_pool_len(policy: &str, task: usize, got: usize, pool: usize) -> Result<()> {
    if got == pool {
        Ok(())
    } else {
        Err(CoreError::InvalidSnapshot {
            reason: format!("{policy} trust task #{task} has {got} evaluators, the pool {pool}"),
        })
    }
}

/// Checks that a restored weight is finite and within `[lo, hi]`.
pub(crate) fn check_restored(what: &str, index: usize, value: f64, lo: f64, hi: f64) -> Result<()> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(CoreError::InvalidSnapshot {
            reason: format!("{what} #{index} is {value}, outside [{lo}, {hi}]"),
        })
    }
}
