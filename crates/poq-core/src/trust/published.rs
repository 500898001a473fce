//! The published adaptive trust rule, reproduced exactly (spec §3).
//!
//! dₑ = |sₑ − c| / 10 and wₑ ← clip(wₑ · (1 + λ(0.5 − dₑ)), w_min, w_max).
//!
//! Its flaw, kept on purpose: any evaluator whose typical deviation is under 0.5 (a gap
//! under 5 points) gains weight every round, so honest evaluators and moderate boosters
//! alike saturate at w_max and the weighted mean collapses into the plain mean. And c is
//! the round's own consensus, so colluders who move it are never flagged.

use super::{Report, TrustChange, TrustPolicy, check_param};
use crate::{EvaluatorId, Result};
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
#[derive(Debug, Clone, PartialEq)]
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
}

impl TrustPolicy for Published {
    fn name(&self) -> &'static str {
        "published"
    }

    fn pool_size(&self) -> usize {
        self.w.len()
    }

    fn weight(&self, evaluator: EvaluatorId) -> f64 {
        self.w.get(evaluator as usize).copied().unwrap_or(1.0)
    }

    fn update(&mut self, reports: &[Report], consensus: f64, changes: &mut Vec<TrustChange>) {
        let p = self.params;
        for r in reports {
            let Some(w) = self.w.get_mut(r.evaluator as usize) else {
                // Untracked ids keep the neutral weight, and still get their entry.
                changes.push(TrustChange {
                    evaluator: r.evaluator,
                    before: 1.0,
                    after: 1.0,
                });
                continue;
            };
            let before = *w;
            let d = (r.score - consensus).abs() / 10.0;
            *w = (before * (1.0 + p.lambda * (0.5 - d))).clamp(p.w_min, p.w_max);
            changes.push(TrustChange {
                evaluator: r.evaluator,
                before,
                after: *w,
            });
        }
    }
}
