//! CATD, confidence-aware truth discovery (Li et al., VLDB 2015), in streaming form: the
//! second baseline users would pick instead of a bespoke rule.
//!
//! CATD's point is that a source with few claims has an uncertain error, so its weight
//! should be a conservative one: the reciprocal of the upper end of a confidence
//! interval on its error variance. With nₑ claims and squared-error sum Sₑ = Σ(s − c)²
//! against the truths, Sₑ/σₑ² is χ² with nₑ degrees of freedom, and the weight is
//! wₑ = χ²(α/2, nₑ) / Sₑ, with χ²(α/2, ·) the lower α/2 quantile
//! ([`crate::stats::chi_squared_quantile`]). As nₑ grows the quantile approaches nₑ,
//! and the weight the inverse mean squared error; with few claims it is much smaller.
//!
//! Rounds arrive one at a time, so the truth is the round's consensus under the current
//! weights (CATD pairs with the weighted mean), and counts and sums decay: on each of
//! e's claims, nₑ ← (1 − rate)·nₑ + 1 and Sₑ ← (1 − rate)·Sₑ + (s − c)², about
//! 1/rate claims of memory and at most 1/rate effective claims. An evaluator with no
//! claims has no confidence at all and gets w_min, as do those with so few that the
//! quantile is 0; weights are clipped to [w_min, w_max].
//!
//! Kept per task, like ours. When a gold round is revealed, [`TrustPolicy::learn_gold`]
//! counts its reports once more, against the revealed truth: the gold-calibrated
//! CATD baseline.
//!
//! **Missing reports.** A committee member that did not report is counted as a claim
//! 10 points (the whole scale) off: nₑ grows by one and Sₑ by 100.

use super::{Report, TrustChange, TrustPolicy, check_pool_len, check_restored, mean_over_seen, task_slot};
use crate::encoding::Encoder;
use crate::params::check_param;
use crate::stats::chi_squared_quantile;
use crate::{EvaluatorId, Result, SCORE_MAX, Task};
use serde::{Deserialize, Serialize};

/// Parameters of [`Catd`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatdParams {
    /// Significance level α of the confidence interval (CATD's default 0.05).
    pub alpha: f64,
    /// Decay of the counts and sums per claim; about 1/rate claims of memory.
    pub rate: f64,
    /// Lowest weight.
    pub w_min: f64,
    /// Highest weight.
    pub w_max: f64,
}

impl Default for CatdParams {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            rate: 0.02,
            w_min: 1e-3,
            w_max: 1e3,
        }
    }
}

impl CatdParams {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        check_param(
            "alpha",
            self.alpha,
            self.alpha > 0.0 && self.alpha < 1.0,
            "must be in (0, 1)",
        )?;
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

/// Floor on a squared-error sum, so a perfect evaluator gets w_max rather than a
/// division by zero.
const MIN_SSE: f64 = 1e-12;

/// One evaluator's decayed claim count and squared-error sum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    count: f64,
    sse: f64,
}

impl Claims {
    const NONE: Claims = Claims { count: 0.0, sse: 0.0 };

    fn add(&mut self, squared_error: f64, rate: f64) {
        self.count = (1.0 - rate) * self.count + 1.0;
        self.sse = (1.0 - rate) * self.sse + squared_error;
    }

    fn weight(&self, p: &CatdParams) -> f64 {
        if self.count <= 0.0 {
            return p.w_min;
        }
        let q = chi_squared_quantile(p.alpha / 2.0, self.count).unwrap_or(0.0);
        (q / self.sse.max(MIN_SSE)).clamp(p.w_min, p.w_max)
    }
}

/// One task's claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskClaims {
    claims: Vec<Claims>,
    seen: bool,
}

impl TaskClaims {
    fn new(n: usize) -> Self {
        Self {
            claims: vec![Claims::NONE; n],
            seen: false,
        }
    }

    fn weight(&self, evaluator: EvaluatorId, p: &CatdParams) -> f64 {
        self.claims.get(evaluator.index()).map_or(1.0, |c| c.weight(p))
    }
}

/// Streaming CATD trust (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catd {
    params: CatdParams,
    n: usize,
    /// Indexed by [`Task::index`]; grown when a new task appears.
    tasks: Vec<TaskClaims>,
}

impl Catd {
    /// The policy for a pool of `n` evaluators.
    pub fn new(n: usize, params: CatdParams) -> Result<Self> {
        params.validate()?;
        Ok(Self {
            params,
            n,
            tasks: vec![TaskClaims::new(n)],
        })
    }

    /// The decayed claim count and squared-error sum of `evaluator` on `task`.
    pub fn claims_for(&self, evaluator: EvaluatorId, task: Task) -> Option<(f64, f64)> {
        let c = self.tasks.get(task.index())?.claims.get(evaluator.index())?;
        Some((c.count, c.sse))
    }

    /// Tracks one more evaluator, with no claims; returns the new pool size.
    pub fn grow(&mut self) -> usize {
        for t in &mut self.tasks {
            t.claims.push(Claims::NONE);
        }
        self.n += 1;
        self.n
    }

    /// Checks a restored state: valid parameters, one entry per evaluator in every task,
    /// counts in [0, 1/rate] and sums finite and non-negative.
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        let max_count = 1.0 / self.params.rate;
        for (ti, t) in self.tasks.iter().enumerate() {
            check_pool_len("catd", ti, t.claims.len(), self.n)?;
            for (i, c) in t.claims.iter().enumerate() {
                // The decayed count approaches 1/rate from below; allow rounding.
                check_restored("catd claim count", i, c.count, 0.0, max_count * (1.0 + 1e-12))?;
                check_restored("catd squared-error sum", i, c.sse, 0.0, f64::MAX)?;
            }
        }
        Ok(())
    }

    /// Canonical encoding: α, rate, w_min, w_max (f64), the pool size, then per task (a
    /// count first): seen (bool), and per evaluator (a count first) its claim count and
    /// squared-error sum (f64).
    pub fn encode(&self, enc: &mut Encoder) {
        let p = &self.params;
        enc.f64(p.alpha)
            .f64(p.rate)
            .f64(p.w_min)
            .f64(p.w_max)
            .usize(self.n)
            .usize(self.tasks.len());
        for t in &self.tasks {
            enc.bool(t.seen).usize(t.claims.len());
            for c in &t.claims {
                enc.f64(c.count).f64(c.sse);
            }
        }
    }

    fn task_mut(&mut self, task: Task) -> &mut TaskClaims {
        let n = self.n;
        task_slot(&mut self.tasks, task, || TaskClaims::new(n))
    }

    /// Learns from a round's reports against `truth` (the consensus, or a revealed
    /// gold truth).
    fn learn(&mut self, reports: &[Report], truth: f64, task: Task, changes: &mut Vec<TrustChange>) {
        let p = self.params;
        let n = self.n;
        let t = self.task_mut(task);
        for r in reports {
            let before = t.weight(r.evaluator, &p);
            if r.evaluator.index() < n {
                t.claims[r.evaluator.index()].add((r.score - truth) * (r.score - truth), p.rate);
                t.seen = true;
            }
            changes.push(TrustChange {
                evaluator: r.evaluator,
                before,
                after: t.weight(r.evaluator, &p),
            });
        }
    }
}

impl TrustPolicy for Catd {
    fn name(&self) -> &'static str {
        "catd"
    }

    fn pool_size(&self) -> usize {
        self.n
    }

    fn weight(&self, evaluator: EvaluatorId) -> f64 {
        if evaluator.index() >= self.n {
            return 1.0;
        }
        mean_over_seen(&self.tasks, |t| t.seen, |t| t.weight(evaluator, &self.params)).unwrap_or(self.params.w_min)
    }

    fn weight_for(&self, evaluator: EvaluatorId, task: Task) -> f64 {
        if evaluator.index() >= self.n {
            return 1.0;
        }
        self.tasks
            .get(task.index())
            .map_or(self.params.w_min, |t| t.weight(evaluator, &self.params))
    }

    fn update(&mut self, reports: &[Report], consensus: f64, task: Task, changes: &mut Vec<TrustChange>) {
        self.learn(reports, consensus, task, changes);
    }

    fn learn_gold(&mut self, reports: &[Report], truth: f64, task: Task, changes: &mut Vec<TrustChange>) {
        self.learn(reports, truth, task, changes);
    }

    fn penalize_missing(&mut self, evaluator: EvaluatorId, task: Task) -> TrustChange {
        let p = self.params;
        let n = self.n;
        let t = self.task_mut(task);
        let before = t.weight(evaluator, &p);
        if evaluator.index() < n {
            t.claims[evaluator.index()].add(SCORE_MAX * SCORE_MAX, p.rate);
            t.seen = true;
        }
        TrustChange {
            evaluator,
            before,
            after: t.weight(evaluator, &p),
        }
    }
}
