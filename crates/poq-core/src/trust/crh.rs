//! CRH, the conflict-resolution truth-discovery method (Li et al., SIGMOD 2014), in
//! its streaming form: the baseline users would pick instead of a bespoke rule.
//!
//! CRH alternates two steps over a data set: the truth is the weighted mean of the
//! claims (the squared loss's minimiser), and a source's weight is
//! wₑ = log(Σₖ Dₖ / Dₑ), where Dₑ is its total loss against the truths and the loss of
//! one continuous claim is (s − c)² / σ, with σ the standard deviation of that object's
//! claims (so objects on which everyone disagrees count less). Rounds arrive one at a
//! time here, so the truth step is the round's consensus, computed with the current
//! weights, and the weight step follows the streaming variants (Li et al., KDD 2015):
//!
//! - Dₑ is an exponentially weighted mean of e's normalised losses (rate `rate`, about
//!   1/rate claims of memory) rather than a sum: committees are random, so claim
//!   counts differ only by chance, and a sum would charge an evaluator for being drawn
//!   often. Every evaluator starts at the prior loss.
//! - A round whose reports are all equal (σ = 0) says nothing about anyone and is
//!   skipped, as is a round with fewer than two reports.
//! - Weights are clipped to [w_min, w_max]: log(Σ/Dₑ) is 0 for an evaluator that holds
//!   all the pool's loss and grows without bound as its loss vanishes.
//!
//! Kept per task, like ours: an evaluator's overall weight is the mean over the tasks
//! seen. When a gold round (a spot-check with a known truth) is revealed,
//! [`TrustPolicy::learn_gold`] learns from its reports once more, against the revealed
//! truth in the consensus's place: the gold-calibrated CRH baseline.
//!
//! **Missing reports.** A committee member that did not report is charged the loss of a
//! report 10 points (the whole scale) off in a round of typical spread: 10² / σ̄, with
//! σ̄ an exponentially weighted mean of the rounds' σ.

use super::{
    Report, TrustChange, TrustPolicy, check_pool_len, check_restored, mean_over_seen, record_unchanged, task_slot,
};
use crate::encoding::Encoder;
use crate::params::check_param;
use crate::{CoreError, EvaluatorId, Result, SCORE_MAX, Task};
use serde::{Deserialize, Serialize};

/// Parameters of [`Crh`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrhParams {
    /// Prior loss D₀ of every evaluator, and prior spread σ̄₀ (score points).
    pub prior_loss: f64,
    /// Rate of the loss and spread averages; about 1/rate claims of memory.
    pub rate: f64,
    /// Lowest weight.
    pub w_min: f64,
    /// Highest weight.
    pub w_max: f64,
}

impl Default for CrhParams {
    fn default() -> Self {
        Self {
            prior_loss: 1.0,
            rate: 0.02,
            w_min: 0.01,
            w_max: 10.0,
        }
    }
}

impl CrhParams {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        check_param("prior_loss", self.prior_loss, self.prior_loss > 0.0, "must be > 0")?;
        check_param(
            "rate",
            self.rate,
            self.rate > 0.0 && self.rate <= 1.0,
            "must be in (0, 1]",
        )?;
        check_param("w_min", self.w_min, self.w_min > 0.0, "must be > 0")?;
        check_param("w_max", self.w_max, self.w_max >= self.w_min, "must be >= w_min")
    }
}

/// Floor on a loss, so a perfect evaluator gets w_max rather than a division by zero.
const MIN_LOSS: f64 = 1e-12;

/// One task's losses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskLoss {
    /// Dₑ per evaluator.
    loss: Vec<f64>,
    /// Σₖ Dₖ, recomputed in id order after every change.
    total: f64,
    /// σ̄, the typical spread of a round's reports.
    spread: f64,
    /// Whether any round of this task has been learned from.
    seen: bool,
}

impl TaskLoss {
    fn new(n: usize, p: &CrhParams) -> Self {
        let mut t = Self {
            loss: vec![p.prior_loss; n],
            total: 0.0,
            spread: p.prior_loss,
            seen: false,
        };
        t.retotal();
        t
    }

    fn weight(&self, evaluator: EvaluatorId, p: &CrhParams) -> f64 {
        self.loss
            .get(evaluator.index())
            .map_or(1.0, |&d| (self.total / d.max(MIN_LOSS)).ln().clamp(p.w_min, p.w_max))
    }

    fn retotal(&mut self) {
        self.total = self.loss.iter().sum();
    }
}

/// Streaming CRH trust (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crh {
    params: CrhParams,
    n: usize,
    /// Indexed by [`Task::index`]; grown when a new task appears.
    tasks: Vec<TaskLoss>,
}

impl Crh {
    /// The policy for a pool of `n` evaluators.
    pub fn new(n: usize, params: CrhParams) -> Result<Self> {
        params.validate()?;
        Ok(Self {
            params,
            n,
            tasks: vec![TaskLoss::new(n, &params)],
        })
    }

    /// The current loss Dₑ of `evaluator` on `task`.
    pub fn loss_for(&self, evaluator: EvaluatorId, task: Task) -> Option<f64> {
        self.tasks.get(task.index())?.loss.get(evaluator.index()).copied()
    }

    /// Tracks one more evaluator at the prior loss; returns the new pool size.
    pub fn grow(&mut self) -> usize {
        for t in &mut self.tasks {
            t.loss.push(self.params.prior_loss);
            t.retotal();
        }
        self.n += 1;
        self.n
    }

    /// Checks a restored state: valid parameters, one loss per evaluator in every task,
    /// every loss finite and non-negative, the total their sum, the spread positive.
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        for (ti, t) in self.tasks.iter().enumerate() {
            check_pool_len("crh", ti, t.loss.len(), self.n)?;
            for (i, &d) in t.loss.iter().enumerate() {
                check_restored("crh loss", i, d, 0.0, f64::MAX)?;
            }
            let sum: f64 = t.loss.iter().sum();
            if t.total != sum {
                return Err(CoreError::InvalidSnapshot {
                    reason: format!("crh trust task #{ti} total is {}, its losses sum to {sum}", t.total),
                });
            }
            check_restored("crh spread", ti, t.spread, f64::MIN_POSITIVE, f64::MAX)?;
        }
        Ok(())
    }

    /// Canonical encoding: prior loss, rate, w_min, w_max (f64), the pool size, then per
    /// task (a count first): seen (bool), spread, total, and the losses (a length and
    /// one f64 per evaluator).
    pub fn encode(&self, enc: &mut Encoder) {
        let p = &self.params;
        enc.f64(p.prior_loss)
            .f64(p.rate)
            .f64(p.w_min)
            .f64(p.w_max)
            .usize(self.n)
            .usize(self.tasks.len());
        for t in &self.tasks {
            enc.bool(t.seen).f64(t.spread).f64(t.total).f64s(&t.loss);
        }
    }

    fn task_mut(&mut self, task: Task) -> &mut TaskLoss {
        let (n, params) = (self.n, self.params);
        task_slot(&mut self.tasks, task, || TaskLoss::new(n, &params))
    }

    /// The weight of a task never seen: every loss at the prior, log n.
    fn prior_weight(&self) -> f64 {
        (self.n as f64).ln().clamp(self.params.w_min, self.params.w_max)
    }

    /// Learns from a round's reports against `truth` (the consensus, or a revealed
    /// gold truth).
    fn learn(&mut self, reports: &[Report], truth: f64, task: Task, changes: &mut Vec<TrustChange>) {
        let first = changes.len();
        record_unchanged(self, reports, task, changes);
        let n = self.n;
        let known = || reports.iter().filter(move |r| r.evaluator.index() < n);
        let k = known().count();
        if k < 2 {
            return;
        }
        let k = k as f64;
        let mean = known().map(|r| r.score).sum::<f64>() / k;
        let sd = (known().map(|r| (r.score - mean) * (r.score - mean)).sum::<f64>() / k).sqrt();
        if sd <= 0.0 {
            return;
        }
        let p = self.params;
        let t = self.task_mut(task);
        t.seen = true;
        for r in known() {
            let loss = (r.score - truth) * (r.score - truth) / sd;
            let d = &mut t.loss[r.evaluator.index()];
            *d += p.rate * (loss - *d);
        }
        t.spread += p.rate * (sd - t.spread);
        t.retotal();
        for c in &mut changes[first..] {
            c.after = t.weight(c.evaluator, &p);
        }
    }
}

impl TrustPolicy for Crh {
    fn name(&self) -> &'static str {
        "crh"
    }

    fn pool_size(&self) -> usize {
        self.n
    }

    fn weight(&self, evaluator: EvaluatorId) -> f64 {
        if evaluator.index() >= self.n {
            return 1.0;
        }
        mean_over_seen(&self.tasks, |t| t.seen, |t| t.weight(evaluator, &self.params))
            .unwrap_or_else(|| self.prior_weight())
    }

    fn weight_for(&self, evaluator: EvaluatorId, task: Task) -> f64 {
        if evaluator.index() >= self.n {
            return 1.0;
        }
        self.tasks
            .get(task.index())
            .map_or_else(|| self.prior_weight(), |t| t.weight(evaluator, &self.params))
    }

    fn update(&mut self, reports: &[Report], consensus: f64, task: Task, changes: &mut Vec<TrustChange>) {
        self.learn(reports, consensus, task, changes);
    }

    fn learn_gold(&mut self, reports: &[Report], truth: f64, task: Task, changes: &mut Vec<TrustChange>) {
        self.learn(reports, truth, task, changes);
    }

    fn penalize_missing(&mut self, evaluator: EvaluatorId, task: Task) -> TrustChange {
        let before = self.weight_for(evaluator, task);
        if evaluator.index() < self.n {
            let rate = self.params.rate;
            let t = self.task_mut(task);
            let loss = SCORE_MAX * SCORE_MAX / t.spread;
            let d = &mut t.loss[evaluator.index()];
            *d += rate * (loss - *d);
            t.retotal();
            t.seen = true;
        }
        TrustChange {
            evaluator,
            before,
            after: self.weight_for(evaluator, task),
        }
    }
}
