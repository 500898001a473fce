//! The published adaptive trust rule, reproduced exactly (spec §3).
//!
//! dₑ = |sₑ − c| / 10 and wₑ ← clip(wₑ · (1 + λ(0.5 − dₑ)), w_min, w_max).
//!
//! Its flaw, kept on purpose: any evaluator whose typical deviation is under 0.5 (a gap
//! under 5 points) gains weight every round, so honest evaluators and moderate boosters
//! alike saturate at w_max and the weighted mean collapses into the plain mean. And c is
//! the round's own consensus, so colluders who move it are never flagged.
//!
//! A committee member that did not report is updated as a report at the maximum
//! deviation, d = 1: wₑ ← clip(wₑ · (1 − λ/2), w_min, w_max), never more than any report
//! could have left it.

use super::{Report, TrustChange, TrustPolicy, check_restored};
use crate::encoding::Encoder;
use crate::params::check_param;
use crate::{EvaluatorId, Result, Task};
use serde::{Deserialize, Serialize};

/// Parameters of the published rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishedParams {
    /// Initial weight w₀.
    pub initial: f64,
    /// Learning rate λ.
    pub lambda: f64,
    /// Lower clip w_min.
    pub w_min: f64,
    /// Upper clip w_max.
    pub w_max: f64,
}

impl Default for PublishedParams {
    fn default() -> Self {
        Self {
            initial: 1.0,
            lambda: 0.2,
            w_min: 0.05,
            w_max: 2.0,
        }
    }
}

impl PublishedParams {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        check_param("w_min", self.w_min, self.w_min > 0.0, "must be > 0")?;
        check_param("w_max", self.w_max, self.w_max >= self.w_min, "must be >= w_min")?;
        check_param(
            "initial",
            self.initial,
            (self.w_min..=self.w_max).contains(&self.initial),
            "must lie in [w_min, w_max]",
        )?;
        // λ < 2 keeps the factor 1 + λ(0.5 − d) positive for every d in [0, 1].
        check_param(
            "lambda",
            self.lambda,
            (0.0..2.0).contains(&self.lambda),
            "must be in [0, 2)",
        )
    }
}

/// The published multiplicative trust rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    params: PublishedParams,
    w: Vec<f64>,
}

impl Published {
    /// The rule for a pool of `n` evaluators, all starting at w₀.
    pub fn new(n: usize, params: PublishedParams) -> Result<Self> {
        params.validate()?;
        Ok(Self {
            params,
            w: vec![params.initial; n],
        })
    }

    /// Tracks one more evaluator at w₀; returns the new pool size.
    pub fn grow(&mut self) -> usize {
        self.w.push(self.params.initial);
        self.w.len()
    }

    /// Checks a restored state: valid parameters, every weight in [w_min, w_max].
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        for (i, &w) in self.w.iter().enumerate() {
            check_restored("published weight", i, w, self.params.w_min, self.params.w_max)?;
        }
        Ok(())
    }

    /// Canonical encoding: initial, λ, w_min, w_max (f64), then the weights (a length
    /// and one f64 per evaluator, in id order).
    pub fn encode(&self, enc: &mut Encoder) {
        let p = &self.params;
        enc.f64(p.initial).f64(p.lambda).f64(p.w_min).f64(p.w_max).f64s(&self.w);
    }

    fn step(&mut self, evaluator: EvaluatorId, d: f64) -> TrustChange {
        let p = self.params;
        let Some(w) = self.w.get_mut(evaluator.index()) else {
            // Untracked ids keep the neutral weight, and still get their entry.
            return TrustChange {
                evaluator,
                before: 1.0,
                after: 1.0,
            };
        };
        let before = *w;
        *w = (before * (1.0 + p.lambda * (0.5 - d))).clamp(p.w_min, p.w_max);
        TrustChange {
            evaluator,
            before,
            after: *w,
        }
    }
}

impl TrustPolicy for Published {
    fn name(&self) -> &'static str {
        "published"
    }

    fn pool_size(&self) -> usize {
        self.w.len()
    }

    fn weight(&self, evaluator: EvaluatorId) -> f64 {
        self.w.get(evaluator.index()).copied().unwrap_or(1.0)
    }

    fn update(&mut self, reports: &[Report], consensus: f64, _task: Task, changes: &mut Vec<TrustChange>) {
        for r in reports {
            let d = (r.score - consensus).abs() / 10.0;
            let change = self.step(r.evaluator, d);
            changes.push(change);
        }
    }

    fn penalize_missing(&mut self, evaluator: EvaluatorId, _task: Task) -> TrustChange {
        self.step(evaluator, 1.0)
    }
}
