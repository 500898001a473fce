//! Our trust policy: calibrated bias-and-variance trust.
//!
//! The published rule scores an evaluator by its distance to the round's own consensus
//! against a fixed 0.5, so it saturates and cannot see colluders. This policy instead
//! estimates, for every evaluator, how wrong its reports are, and weighs it by how that
//! compares with a typical evaluator of the pool:
//!
//! 1. **Reference.** rₑ = sₑ − m₋ₑ, where m₋ₑ is the median of the *other* committee
//!    members' reports (leave-one-out): an evaluator never grades itself, and a minority
//!    cannot move anyone's reference far. The reference is unweighted on purpose: trust
//!    never feeds back into the evidence it is learned from, so agreeing attackers
//!    (copycats, constants, colluders) cannot vote each other into trust.
//! 2. **Bias and variance, separately.** A slow EWMA bₑ tracks the signed residual; two
//!    EWMAs of (r − B)², slow and fast, track the squared error around the pool's
//!    median bias B. A precise booster and a noisy honest evaluator can deviate equally
//!    on average; tracking the sign tells them apart, and a bias correction is only
//!    identifiable relative to the pool, hence B.
//! 3. **Error.** Eₑ = max(q_slow, q_fast) + (κ − 1)(bₑ − B)² ≈ varₑ + κ·biasₑ². Bias
//!    counts κ times (default 3) because in a committee independent noise averages out
//!    and a shared bias does not. Taking the larger of the slow and fast estimates
//!    makes trust drop within a few rounds of an attack and recover only over the slow
//!    horizon (the on-off defence).
//! 4. **Weight.** wₑ = clip(R / Eₑ, w_min, w_max), with R an EWMA of the committee's
//!    median error: weights are relative to a typical evaluator, so they neither
//!    saturate nor drift, and the cap bounds any single evaluator's influence.
//!
//! 5. **Per task.** All of the above is kept separately for each task of the rounds
//!    (QA, summarization, ...): evaluator reliability is task-dependent (published:
//!    correlations invert between tasks), so an evaluator that is good at QA and
//!    inverted on summarization keeps its QA trust. Its overall weight, used for
//!    reporting and detection, is the mean over the tasks seen.
//!
//! New evaluators start at the prior error R₀ and the prior weight that implies; the
//! EWMA initialisation is their shrinkage towards the pool. Breakdown: the reference
//! and the pool statistics are medians, so the policy needs an honest majority in the
//! committee (for references) and in the pool (for R and B); a coalition that is the
//! majority defines "typical" and no deviation-based rule can see it.
//!
//! **Missing reports.** A committee member that did not report is counted, on the
//! round's task, as a squared error of (10 + |B|)², the largest any report can have
//! (residuals lie in [−10, 10]); its signed bias is left alone, since silence has no
//! sign. One silent round therefore costs about as much trust as a report at the
//! opposite end of the scale.
//!
//! **State and scratch.** The per-task estimates are the state: they serialize, compare
//! and enter the digest. The buffers reused between rounds are scratch: skipped by
//! serde, ignored by `==`.

use super::{
    Report, TrustChange, TrustPolicy, check_pool_len, check_restored, mean_over_seen, record_unchanged, task_slot,
};
use crate::encoding::Encoder;
use crate::params::check_param;
use crate::stats::median_in_place;
use crate::{EvaluatorId, Result, SCORE_MAX, Task};
use serde::{Deserialize, Serialize};

/// Parameters of [`Calibrated`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalibratedParams {
    /// Prior squared error R₀ (score points²) for new evaluators and the pool.
    pub prior_error: f64,
    /// Rate of the slow EWMAs (bias and squared error); about 1/rate rounds of memory.
    pub slow_rate: f64,
    /// Rate of the fast squared-error EWMA that reacts to a sudden attack.
    pub fast_rate: f64,
    /// Rate at which the pool's reference error R and bias B follow the committees.
    pub reference_rate: f64,
    /// κ ≥ 1: how many times a systematic bias counts against an evaluator compared
    /// with the same amount of variance.
    pub bias_weight: f64,
    /// Lowest weight.
    pub w_min: f64,
    /// Highest weight (caps any single evaluator's influence).
    pub w_max: f64,
}

impl Default for CalibratedParams {
    fn default() -> Self {
        Self {
            prior_error: 1.0,
            slow_rate: 0.02,
            fast_rate: 0.2,
            reference_rate: 0.05,
            bias_weight: 3.0,
            w_min: 0.05,
            w_max: 2.0,
        }
    }
}

impl CalibratedParams {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        let rate = |name, v: f64| check_param(name, v, v > 0.0 && v <= 1.0, "must be in (0, 1]");
        check_param("prior_error", self.prior_error, self.prior_error > 0.0, "must be > 0")?;
        rate("slow_rate", self.slow_rate)?;
        rate("fast_rate", self.fast_rate)?;
        rate("reference_rate", self.reference_rate)?;
        check_param("bias_weight", self.bias_weight, self.bias_weight >= 1.0, "must be >= 1")?;
        check_param("w_min", self.w_min, self.w_min > 0.0, "must be > 0")?;
        check_param("w_max", self.w_max, self.w_max >= self.w_min, "must be >= w_min")
    }
}

/// Per-evaluator state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    bias: f64,
    q_slow: f64,
    q_fast: f64,
}

/// One task's view of the pool: every evaluator's estimates and the pool's references.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskTrust {
    states: Vec<State>,
    /// Pool reference error R.
    reference_error: f64,
    /// Pool median bias B.
    reference_bias: f64,
    /// Whether any round of this task has been learned from.
    seen: bool,
}

impl TaskTrust {
    fn new(n: usize, params: &CalibratedParams) -> Self {
        let init = State {
            bias: 0.0,
            q_slow: params.prior_error,
            q_fast: params.prior_error,
        };
        Self {
            states: vec![init; n],
            reference_error: params.prior_error,
            reference_bias: 0.0,
            seen: false,
        }
    }

    fn error_of(&self, s: &State, params: &CalibratedParams) -> f64 {
        let db = s.bias - self.reference_bias;
        s.q_slow.max(s.q_fast) + (params.bias_weight - 1.0) * db * db
    }

    fn weight(&self, evaluator: EvaluatorId, params: &CalibratedParams) -> f64 {
        self.states.get(evaluator.index()).map_or(1.0, |s| {
            (self.reference_error / self.error_of(s, params).max(MIN_ERROR)).clamp(params.w_min, params.w_max)
        })
    }
}

/// Calibrated bias-and-variance trust (ours; see the module docs).
///
/// Trust is kept per task: an evaluator whose scores invert on summarization keeps
/// its QA trust. Its overall [`TrustPolicy::weight`] is the mean over the tasks seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibrated {
    params: CalibratedParams,
    n: usize,
    /// Indexed by [`Task::index`]; grown when a new task appears.
    tasks: Vec<TaskTrust>,
    /// Buffers reused between rounds; not state.
    #[serde(skip)]
    scratch: Scratch,
}

/// Equality is over the state only (parameters and estimates), never the scratch.
impl PartialEq for Calibrated {
    fn eq(&self, other: &Self) -> bool {
        self.params == other.params && self.n == other.n && self.tasks == other.tasks
    }
}

/// Buffers [`Calibrated`] reuses between rounds so a round allocates nothing.
#[derive(Debug, Clone, Default)]
struct Scratch {
    /// (score, position in the round's reports), sorted.
    sorted: Vec<(f64, usize)>,
    residuals: Vec<f64>,
    values: Vec<f64>,
}

/// Floor on an error estimate, so a perfectly consistent evaluator gets w_max rather
/// than a division by zero.
const MIN_ERROR: f64 = 1e-9;

impl Calibrated {
    /// The policy for a pool of `n` evaluators.
    pub fn new(n: usize, params: CalibratedParams) -> Result<Self> {
        params.validate()?;
        Ok(Self {
            params,
            n,
            tasks: vec![TaskTrust::new(n, &params)],
            scratch: Scratch::default(),
        })
    }

    /// The current error estimate Eₑ of `evaluator` on `task` (score points²).
    pub fn error_for(&self, evaluator: EvaluatorId, task: Task) -> Option<f64> {
        let t = self.tasks.get(task.index())?;
        t.states.get(evaluator.index()).map(|s| t.error_of(s, &self.params))
    }

    /// The signed bias of `evaluator` on `task` relative to the pool's median bias.
    pub fn relative_bias_for(&self, evaluator: EvaluatorId, task: Task) -> Option<f64> {
        let t = self.tasks.get(task.index())?;
        t.states.get(evaluator.index()).map(|s| s.bias - t.reference_bias)
    }

    /// Tracks one more evaluator at the prior; returns the new pool size.
    pub fn grow(&mut self) -> usize {
        let init = TaskTrust::new(1, &self.params).states[0];
        for t in &mut self.tasks {
            t.states.push(init);
        }
        self.n += 1;
        self.n
    }

    /// Checks a restored state: valid parameters, one estimate per evaluator in every
    /// task, every estimate finite, errors positive.
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        for (ti, t) in self.tasks.iter().enumerate() {
            check_pool_len("calibrated", ti, t.states.len(), self.n)?;
            check_restored("calibrated reference error", ti, t.reference_error, MIN_ERROR, f64::MAX)?;
            check_restored("calibrated reference bias", ti, t.reference_bias, -SCORE_MAX, SCORE_MAX)?;
            for (i, s) in t.states.iter().enumerate() {
                check_restored("calibrated bias", i, s.bias, -SCORE_MAX, SCORE_MAX)?;
                check_restored("calibrated slow error", i, s.q_slow, 0.0, f64::MAX)?;
                check_restored("calibrated fast error", i, s.q_fast, 0.0, f64::MAX)?;
            }
        }
        Ok(())
    }

    /// Canonical encoding: the seven parameters (prior error, slow, fast and reference
    /// rates, κ, w_min, w_max as f64), the pool size, then per task (a count first):
    /// seen (bool), reference error, reference bias, and per evaluator (a count first)
    /// bias, slow error, fast error.
    pub fn encode(&self, enc: &mut Encoder) {
        let p = &self.params;
        enc.f64(p.prior_error)
            .f64(p.slow_rate)
            .f64(p.fast_rate)
            .f64(p.reference_rate)
            .f64(p.bias_weight)
            .f64(p.w_min)
            .f64(p.w_max)
            .usize(self.n)
            .usize(self.tasks.len());
        for t in &self.tasks {
            enc.bool(t.seen)
                .f64(t.reference_error)
                .f64(t.reference_bias)
                .usize(t.states.len());
            for s in &t.states {
                enc.f64(s.bias).f64(s.q_slow).f64(s.q_fast);
            }
        }
    }

    fn task_mut(&mut self, task: Task) -> &mut TaskTrust {
        let (n, params) = (self.n, self.params);
        task_slot(&mut self.tasks, task, || TaskTrust::new(n, &params))
    }

    /// The weight of a task never seen: the prior (R₀ / R₀ = 1, within the clip).
    fn prior_weight(&self) -> f64 {
        1.0f64.clamp(self.params.w_min, self.params.w_max)
    }
}

impl TrustPolicy for Calibrated {
    fn name(&self) -> &'static str {
        "calibrated"
    }

    fn pool_size(&self) -> usize {
        self.n
    }

    fn weight(&self, evaluator: EvaluatorId) -> f64 {
        mean_over_seen(&self.tasks, |t| t.seen, |t| t.weight(evaluator, &self.params))
            .unwrap_or_else(|| self.prior_weight())
    }

    fn weight_for(&self, evaluator: EvaluatorId, task: Task) -> f64 {
        self.tasks
            .get(task.index())
            .map_or_else(|| self.prior_weight(), |t| t.weight(evaluator, &self.params))
    }

    fn penalize_missing(&mut self, evaluator: EvaluatorId, task: Task) -> TrustChange {
        let before = self.weight_for(evaluator, task);
        let p = self.params;
        let t = self.task_mut(task);
        let worst = SCORE_MAX + t.reference_bias.abs();
        let u = worst * worst;
        if let Some(s) = t.states.get_mut(evaluator.index()) {
            s.q_slow += p.slow_rate * (u - s.q_slow);
            s.q_fast += p.fast_rate * (u - s.q_fast);
            t.seen = true;
        }
        TrustChange {
            evaluator,
            before,
            after: self.weight_for(evaluator, task),
        }
    }

    fn update(&mut self, reports: &[Report], _consensus: f64, task: Task, changes: &mut Vec<TrustChange>) {
        let first_change = changes.len();
        record_unchanged(self, reports, task, changes);
        let known = reports.iter().filter(|r| r.evaluator.index() < self.n).count();
        // With one known report there is no reference to learn from.
        if known < 2 {
            return;
        }

        // 1. Leave-one-out medians of the other members' scores, leaving out every
        //    report identical to the evaluator's own. Deliberately unweighted: if trust
        //    chose the references, evaluators that agree with each other could earn
        //    trust by agreeing and then serve as each other's reference (a lock-in
        //    measured at ρ = 0.4). And exact agreement is not evidence of quality:
        //    independent honest scorers almost never tie to the last bit, while
        //    copycats, constant reporters, colluders and sybils tie by construction.
        let mut scratch = std::mem::take(&mut self.scratch);
        let sorted = &mut scratch.sorted;
        sorted.clear();
        sorted.extend(reports.iter().enumerate().map(|(i, r)| (r.score, i)));
        sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let residuals = &mut scratch.residuals;
        residuals.clear();
        residuals.resize(reports.len(), f64::NAN);
        let mut start = 0;
        while start < sorted.len() {
            // [start, end) is the run of reports tied with this score.
            let mut end = start + 1;
            while end < sorted.len() && sorted[end].0 == sorted[start].0 {
                end += 1;
            }
            let m = sorted.len() - (end - start);
            if m > 0 {
                // The r-th smallest of the others: ranks below the run, then above it.
                let other = |rank: usize| sorted[if rank < start { rank } else { rank + (end - start) }].0;
                let reference = if m % 2 == 1 {
                    other(m / 2)
                } else {
                    (other(m / 2 - 1) + other(m / 2)) / 2.0
                };
                for &(score, i) in &sorted[start..end] {
                    residuals[i] = score - reference;
                }
            }
            start = end;
        }
        // A unanimous committee says nothing about anyone: leave every estimate alone.
        if residuals.iter().all(|r| r.is_nan()) {
            self.scratch = scratch;
            return;
        }

        let p = self.params;
        let t = self.task_mut(task);
        t.seen = true;

        // 2. Bias and squared-error EWMAs.
        let b_ref = t.reference_bias;
        for (r, &res) in reports.iter().zip(scratch.residuals.iter()) {
            // NaN: everyone reported the same score, so this round says nothing.
            if res.is_nan() {
                continue;
            }
            if let Some(s) = t.states.get_mut(r.evaluator.index()) {
                let u = (res - b_ref) * (res - b_ref);
                s.bias += p.slow_rate * (res - s.bias);
                s.q_slow += p.slow_rate * (u - s.q_slow);
                s.q_fast += p.fast_rate * (u - s.q_fast);
            }
        }

        // 3. The pool's reference bias and error follow the committee medians.
        let values = &mut scratch.values;
        values.clear();
        values.extend(
            reports
                .iter()
                .filter_map(|r| t.states.get(r.evaluator.index()))
                .map(|s| s.bias),
        );
        if let Some(mb) = median_in_place(values) {
            t.reference_bias += p.reference_rate * (mb - t.reference_bias);
        }
        values.clear();
        values.extend(
            reports
                .iter()
                .filter_map(|r| t.states.get(r.evaluator.index()))
                .map(|s| t.error_of(s, &p)),
        );
        if let Some(me) = median_in_place(values) {
            t.reference_error += p.reference_rate * (me.max(MIN_ERROR) - t.reference_error);
        }

        for c in &mut changes[first_change..] {
            c.after = t.weight(c.evaluator, &p);
        }
        self.scratch = scratch;
    }
}
