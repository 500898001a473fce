//! Gold-anchored competence trust (`gold`): weights learned from spot-checks, where the
//! truth is known, not from agreement.
//!
//! On real evaluator logs agreement cannot stand in for quality: the uninformative
//! models (a near-constant judge, two lexical overlaps) agree with each other, and every
//! agreement-based rule (ours, the published rule, CRH, CATD) follows them and
//! distrusts the one informative model. A fraction of rounds are therefore gold rounds:
//! prompts with known reference answers, scored like any other and indistinguishable
//! to evaluators until the protocol reveals their truth (token F1 or ROUGE-L × 10).
//! From them this policy learns, per evaluator and task:
//!
//! 1. **Calibration.** A linear regression of truth on score over the evaluator's gold
//!    reports, with exponentially decayed moments (rate `rate`, about 1/rate gold
//!    reports of memory): means s̄, t̄, deviations σ_s, σ_t and their correlation r.
//!    The correlation is shrunk toward 0 by the evidence, r̃ = r · n / (n + n₀), with
//!    n the decayed count and n₀ = `shrinkage`, and capped at `max_correlation`. A score
//!    s enters consensus as t̄ + r̃ (σ_t / σ_s)(s − s̄), kept within [0, 10]: every
//!    evaluator's report is mapped onto the truth's scale before any rule sees it, so a
//!    model that overstates quality by 2 points (the bi-encoder on QA) or a booster
//!    that adds 3 everywhere is corrected rather than outvoted.
//! 2. **Weight.** wₑ = max(0, r̃)² / (1 − r̃²), the signal-to-noise ratio of the
//!    calibrated score (the variance it explains over the variance it leaves), floored
//!    at w_min: an informative evaluator (r ≈ 0.8) weighs about 1.8, one that guesses
//!    (r ≈ 0) nearly nothing, one that is anti-correlated nothing. Until an evaluator
//!    has a fit (two distinct gold scores and truths), its scores pass unchanged and it
//!    weighs w_min: with no gold at all every weight is equal, so the weighted median
//!    is the median and the weighted mean the mean.
//! 3. **Standing.** Calibration absorbs any consistent shift, so the gold weight
//!    cannot tell a booster from the honest model it copies, and an honest but
//!    uninformative evaluator weighs as little as an attacker: the weight ranks
//!    informativeness, not honesty. Detection instead reads
//!    [`TrustPolicy::standing`], an embedded [`Calibrated`] estimator fed the ordinary
//!    rounds' raw reports (leave-one-out bias and variance against the committee).
//!
//! Gold rounds still go through [`TrustPolicy::update`] at finalization like any other
//! round (the protocol has not revealed them yet); [`TrustPolicy::learn_gold`] adds
//! their reports to the moments when the truth is revealed. A silent committee member
//! loses standing as under [`Calibrated`]; its gold moments are left alone, since
//! silence has no score to calibrate.
//!
//! With `trust` evaluator scaling ([`crate::reward::EvaluatorScaling::Trust`]) the
//! weights set the shares of the evaluator budget, so rewards follow gold performance:
//! an uninformative or lazy evaluator earns less than an informative one.

use super::{Calibrated, CalibratedParams, Report, TrustChange, TrustPolicy, check_restored};
use crate::encoding::Encoder;
use crate::params::check_param;
use crate::{CoreError, EvaluatorId, Result, SCORE_MAX, SCORE_MIN, Task};
use serde::{Deserialize, Serialize};

/// Parameters of [`Gold`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GoldParams {
    /// Decay of the gold moments per gold report; about 1/rate reports of memory.
    pub rate: f64,
    /// n₀: the correlation is shrunk by n / (n + n₀).
    pub shrinkage: f64,
    /// Cap on the shrunk correlation (bounds the weight at r²/(1 − r²)).
    pub max_correlation: f64,
    /// Lowest weight, that of an evaluator without a positive gold correlation.
    pub w_min: f64,
    /// The embedded agreement estimator that sets standing.
    pub agreement: CalibratedParams,
}

impl Default for GoldParams {
    fn default() -> Self {
        Self {
            rate: 0.01,
            shrinkage: 5.0,
            max_correlation: 0.99,
            w_min: 1e-3,
            agreement: CalibratedParams::default(),
        }
    }
}

impl GoldParams {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        check_param(
            "rate",
            self.rate,
            self.rate > 0.0 && self.rate <= 1.0,
            "must be in (0, 1]",
        )?;
        check_param("shrinkage", self.shrinkage, self.shrinkage >= 0.0, "must be >= 0")?;
        check_param(
            "max_correlation",
            self.max_correlation,
            self.max_correlation > 0.0 && self.max_correlation < 1.0,
            "must be in (0, 1)",
        )?;
        check_param("w_min", self.w_min, self.w_min > 0.0, "must be > 0")?;
        self.agreement.validate()
    }

    fn weight_bound(&self) -> f64 {
        let r = self.max_correlation;
        (r * r / (1.0 - r * r)).max(self.w_min)
    }
}

/// Below this a second moment counts as zero (no spread, no fit).
const MIN_SPREAD: f64 = 1e-12;

/// One evaluator's decayed gold moments on one task.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Moments {
    /// Decayed count n.
    count: f64,
    /// s̄.
    mean_score: f64,
    /// t̄.
    mean_truth: f64,
    /// Decayed Σ(s − s̄)².
    css: f64,
    /// Decayed Σ(t − t̄)².
    ctt: f64,
    /// Decayed Σ(s − s̄)(t − t̄).
    cst: f64,
}

/// A usable calibration: where to centre and how steeply to map.
struct Fit {
    correlation: f64,
    mean_score: f64,
    mean_truth: f64,
    slope: f64,
}

impl Moments {
    const NONE: Moments = Moments {
        count: 0.0,
        mean_score: 0.0,
        mean_truth: 0.0,
        css: 0.0,
        ctt: 0.0,
        cst: 0.0,
    };

    /// Adds one gold report: a decayed, weighted Welford step (old mass scaled by
    /// 1 − rate, which leaves the means and scales the co-moments).
    fn add(&mut self, score: f64, truth: f64, rate: f64) {
        let keep = 1.0 - rate;
        self.count = keep * self.count + 1.0;
        let ds = score - self.mean_score;
        let dt = truth - self.mean_truth;
        self.mean_score += ds / self.count;
        self.mean_truth += dt / self.count;
        self.css = keep * self.css + ds * (score - self.mean_score);
        self.ctt = keep * self.ctt + dt * (truth - self.mean_truth);
        self.cst = keep * self.cst + ds * (truth - self.mean_truth);
    }

    fn fit(&self, p: &GoldParams) -> Option<Fit> {
        if self.css <= MIN_SPREAD || self.ctt <= MIN_SPREAD {
            return None;
        }
        let r = (self.cst / (self.css * self.ctt).sqrt()).clamp(-1.0, 1.0);
        let shrunk = (r * self.count / (self.count + p.shrinkage)).min(p.max_correlation);
        Some(Fit {
            correlation: shrunk,
            mean_score: self.mean_score,
            mean_truth: self.mean_truth,
            slope: shrunk * (self.ctt / self.css).sqrt(),
        })
    }

    fn weight(&self, p: &GoldParams) -> f64 {
        self.fit(p).map_or(p.w_min, |f| {
            let r = f.correlation.max(0.0);
            (r * r / (1.0 - r * r)).max(p.w_min)
        })
    }

    fn calibrate(&self, score: f64, p: &GoldParams) -> f64 {
        self.fit(p).map_or(score, |f| {
            (f.mean_truth + f.slope * (score - f.mean_score)).clamp(SCORE_MIN, SCORE_MAX)
        })
    }
}

/// One task's gold moments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskGold {
    moments: Vec<Moments>,
    seen: bool,
}

/// Gold-anchored competence trust (see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gold {
    params: GoldParams,
    n: usize,
    /// Indexed by [`Task::index`]; grown when a new task appears.
    tasks: Vec<TaskGold>,
    /// The agreement estimator behind [`TrustPolicy::standing`].
    agreement: Calibrated,
    /// The agreement estimator's changes, discarded; not state.
    #[serde(skip)]
    scratch: Vec<TrustChange>,
}

/// Equality is over the state only, never the scratch.
impl PartialEq for Gold {
    fn eq(&self, other: &Self) -> bool {
        self.params == other.params
            && self.n == other.n
            && self.tasks == other.tasks
            && self.agreement == other.agreement
    }
}

impl Gold {
    /// The policy for a pool of `n` evaluators.
    pub fn new(n: usize, params: GoldParams) -> Result<Self> {
        params.validate()?;
        Ok(Self {
            params,
            n,
            tasks: Vec::new(),
            agreement: Calibrated::new(n, params.agreement)?,
            scratch: Vec::new(),
        })
    }

    /// The calibration of `evaluator` on `task` as (shrunk correlation r̃, slope,
    /// intercept): a score s maps to intercept + slope · s before clamping. `None`
    /// until it has a fit.
    pub fn calibration_for(&self, evaluator: EvaluatorId, task: Task) -> Option<(f64, f64, f64)> {
        let m = self.tasks.get(task.index())?.moments.get(evaluator.index())?;
        m.fit(&self.params)
            .map(|f| (f.correlation, f.slope, f.mean_truth - f.slope * f.mean_score))
    }

    /// The decayed number of gold reports of `evaluator` on `task`.
    pub fn gold_count_for(&self, evaluator: EvaluatorId, task: Task) -> Option<f64> {
        if evaluator.index() >= self.n {
            return None;
        }
        Some(
            self.tasks
                .get(task.index())
                .map_or(0.0, |t| t.moments[evaluator.index()].count),
        )
    }

    /// Tracks one more evaluator, with no gold reports; returns the new pool size.
    pub fn grow(&mut self) -> usize {
        for t in &mut self.tasks {
            t.moments.push(Moments::NONE);
        }
        self.agreement.grow();
        self.n += 1;
        self.n
    }

    /// Checks a restored state: valid parameters, one entry per evaluator in every task,
    /// counts in [0, 1/rate], means within the score scale, second moments finite and
    /// non-negative, and a valid agreement estimator of the same pool.
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        self.agreement.validate()?;
        if self.agreement.pool_size() != self.n {
            return Err(CoreError::InvalidSnapshot {
                reason: format!(
                    "gold trust tracks {} evaluators, its agreement estimator {}",
                    self.n,
                    self.agreement.pool_size()
                ),
            });
        }
        let max_count = 1.0 / self.params.rate;
        for (ti, t) in self.tasks.iter().enumerate() {
            if t.moments.len() != self.n {
                return Err(CoreError::InvalidSnapshot {
                    reason: format!(
                        "gold trust task #{ti} has {} evaluators, the pool {}",
                        t.moments.len(),
                        self.n
                    ),
                });
            }
            for (i, m) in t.moments.iter().enumerate() {
                check_restored("gold count", i, m.count, 0.0, max_count * (1.0 + 1e-12))?;
                check_restored("gold mean score", i, m.mean_score, SCORE_MIN, SCORE_MAX)?;
                check_restored("gold mean truth", i, m.mean_truth, SCORE_MIN, SCORE_MAX)?;
                check_restored("gold score spread", i, m.css, 0.0, f64::MAX)?;
                check_restored("gold truth spread", i, m.ctt, 0.0, f64::MAX)?;
                check_restored("gold co-spread", i, m.cst, f64::MIN, f64::MAX)?;
            }
        }
        Ok(())
    }

    /// Canonical encoding: rate, shrinkage, max correlation, w_min (f64), the pool
    /// size, then per task (a count first): seen (bool) and per evaluator (a count
    /// first) its count, mean score, mean truth and the three co-moments (f64); then the
    /// agreement estimator ([`Calibrated::encode`], its parameters included).
    pub fn encode(&self, enc: &mut Encoder) {
        let p = &self.params;
        enc.f64(p.rate)
            .f64(p.shrinkage)
            .f64(p.max_correlation)
            .f64(p.w_min)
            .usize(self.n)
            .usize(self.tasks.len());
        for t in &self.tasks {
            enc.bool(t.seen).usize(t.moments.len());
            for m in &t.moments {
                enc.f64(m.count)
                    .f64(m.mean_score)
                    .f64(m.mean_truth)
                    .f64(m.css)
                    .f64(m.ctt)
                    .f64(m.cst);
            }
        }
        self.agreement.encode(enc);
    }

    fn moments(&self, evaluator: EvaluatorId, task: Task) -> Option<&Moments> {
        self.tasks.get(task.index())?.moments.get(evaluator.index())
    }

    fn task_mut(&mut self, task: Task) -> &mut TaskGold {
        while self.tasks.len() <= task.index() {
            self.tasks.push(TaskGold {
                moments: vec![Moments::NONE; self.n],
                seen: false,
            });
        }
        &mut self.tasks[task.index()]
    }

    /// The highest weight the policy can give.
    pub fn w_max(&self) -> f64 {
        self.params.weight_bound()
    }
}

impl TrustPolicy for Gold {
    fn name(&self) -> &'static str {
        "gold"
    }

    fn pool_size(&self) -> usize {
        self.n
    }

    fn weight(&self, evaluator: EvaluatorId) -> f64 {
        if evaluator.index() >= self.n {
            return 1.0;
        }
        let (sum, count) = self.tasks.iter().filter(|t| t.seen).fold((0.0, 0usize), |(s, c), t| {
            (s + t.moments[evaluator.index()].weight(&self.params), c + 1)
        });
        if count == 0 {
            self.params.w_min
        } else {
            sum / count as f64
        }
    }

    fn weight_for(&self, evaluator: EvaluatorId, task: Task) -> f64 {
        if evaluator.index() >= self.n {
            return 1.0;
        }
        self.moments(evaluator, task)
            .map_or(self.params.w_min, |m| m.weight(&self.params))
    }

    fn calibrate(&self, evaluator: EvaluatorId, task: Task, score: f64) -> f64 {
        self.moments(evaluator, task)
            .map_or(score, |m| m.calibrate(score, &self.params))
    }

    fn standing(&self, evaluator: EvaluatorId) -> f64 {
        self.agreement.weight(evaluator)
    }

    fn update(&mut self, reports: &[Report], consensus: f64, task: Task, changes: &mut Vec<TrustChange>) {
        for r in reports {
            let w = self.weight_for(r.evaluator, task);
            changes.push(TrustChange {
                evaluator: r.evaluator,
                before: w,
                after: w,
            });
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        self.agreement.update(reports, consensus, task, &mut scratch);
        self.scratch = scratch;
    }

    fn learn_gold(&mut self, reports: &[Report], truth: f64, task: Task, changes: &mut Vec<TrustChange>) {
        let p = self.params;
        let n = self.n;
        let t = self.task_mut(task);
        for r in reports {
            let i = r.evaluator.index();
            let before = t.moments.get(i).map_or(1.0, |m| m.weight(&p));
            if i < n {
                t.moments[i].add(r.score, truth, p.rate);
                t.seen = true;
            }
            changes.push(TrustChange {
                evaluator: r.evaluator,
                before,
                after: t.moments.get(i).map_or(1.0, |m| m.weight(&p)),
            });
        }
    }

    fn penalize_missing(&mut self, evaluator: EvaluatorId, task: Task) -> TrustChange {
        self.agreement.penalize_missing(evaluator, task);
        let w = self.weight_for(evaluator, task);
        TrustChange {
            evaluator,
            before: w,
            after: w,
        }
    }
}
