//! Cost-aware rewards for inference and evaluator nodes (spec §4).
//!
//! - inference node: R_f = α · (c / 10) − β · ĉ_f
//! - evaluator:      R_e = (B_eval / K) · [α_e · (1 − dₑ) − β_e · ĉₑ]
//!
//! where c is the round's consensus, dₑ = |sₑ − c| / 10 and ĉ a cost normalized to
//! [0, 1] by a [`CostScale`]. A fixed evaluator budget split among K is what makes a
//! larger committee pay each evaluator less and vary more, while the inference reward
//! does not depend on K. Whether rewards may go negative (slashing) is a switch; when
//! it is off, negative rewards are floored at zero and the floor is the documented rule,
//! not a silent repair of bad input.
//!
//! **Evaluator budget shares** ([`EvaluatorScaling`]). The spec splits B_eval equally
//! (B_eval / K), which pays a distrusted booster almost what an honest evaluator earns.
//! With `trust` scaling each member's share is B_eval · wₑ / Σ w over the committee (the
//! weights the consensus used): with equal weights it is the spec's B_eval / K, the
//! budget is never exceeded, and a distrusted member's share goes to the trusted ones.
//!
//! **Missing reports.** A committee member that does not report is paid as a report at
//! the maximum deviation (d = 1) and the maximum cost (ĉ = 1): nothing unless slashing
//! is on, and then never more than any report would have earned
//! ([`RewardParams::missing_evaluator`]), so abstaining never pays better than reporting.

use crate::params::check_param;
use crate::{CoreError, Result};
use serde::{Deserialize, Serialize};

/// Reward parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardParams {
    /// α: weight of quality in the inference reward.
    pub alpha: f64,
    /// β: weight of cost in the inference reward.
    pub beta: f64,
    /// α_e: weight of agreement in the evaluator reward.
    pub alpha_eval: f64,
    /// β_e: weight of cost in the evaluator reward.
    pub beta_eval: f64,
    /// B_eval: the per-round evaluator budget, split among the K members.
    pub eval_budget: f64,
    /// Whether rewards may be negative (slashing); otherwise they are floored at 0.
    pub allow_negative: bool,
    /// How the evaluator budget is shared among the committee.
    pub evaluator_scaling: EvaluatorScaling,
}

/// How the per-round evaluator budget B_eval is shared among the committee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvaluatorScaling {
    /// B_eval / K each, as the spec writes it.
    #[default]
    Flat,
    /// B_eval · wₑ / Σ w: shares in proportion to the trust weights the consensus used.
    Trust,
}

impl EvaluatorScaling {
    /// Every scaling, for sweeps.
    pub const ALL: [EvaluatorScaling; 2] = [EvaluatorScaling::Flat, EvaluatorScaling::Trust];

    /// The name as scenario files spell it.
    pub fn name(self) -> &'static str {
        match self {
            EvaluatorScaling::Flat => "flat",
            EvaluatorScaling::Trust => "trust",
        }
    }
}

impl Default for RewardParams {
    fn default() -> Self {
        Self {
            alpha: 1.0,
            beta: 0.3,
            alpha_eval: 1.0,
            beta_eval: 0.3,
            eval_budget: 1.0,
            allow_negative: false,
            evaluator_scaling: EvaluatorScaling::Flat,
        }
    }
}

impl RewardParams {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("alpha", self.alpha),
            ("beta", self.beta),
            ("alpha_eval", self.alpha_eval),
            ("beta_eval", self.beta_eval),
            ("eval_budget", self.eval_budget),
        ] {
            check_param(name, v, v >= 0.0, "must be finite and >= 0")?;
        }
        Ok(())
    }

    fn floor(&self, r: f64) -> f64 {
        if self.allow_negative { r } else { r.max(0.0) }
    }

    /// R_f = α · (c / 10) − β · ĉ_f.
    pub fn inference(&self, consensus: f64, normalized_cost: f64) -> f64 {
        self.floor(self.alpha * (consensus / 10.0) - self.beta * normalized_cost)
    }

    /// R_e = (B_eval / K) · [α_e · (1 − d) − β_e · ĉ_e] (the flat share).
    pub fn evaluator(&self, committee_size: usize, deviation: f64, normalized_cost: f64) -> f64 {
        self.evaluator_with_share(
            self.eval_budget / committee_size.max(1) as f64,
            deviation,
            normalized_cost,
        )
    }

    /// The budget share of a member with trust weight `weight` in a committee of
    /// `committee_size` whose weights sum to `weight_sum` (see [`EvaluatorScaling`]).
    pub fn evaluator_share(&self, committee_size: usize, weight: f64, weight_sum: f64) -> f64 {
        match self.evaluator_scaling {
            EvaluatorScaling::Flat => self.eval_budget / committee_size.max(1) as f64,
            // Weights are finite and positive (the round checked them), so the sum is > 0.
            EvaluatorScaling::Trust => self.eval_budget * (weight / weight_sum),
        }
    }

    /// R_e = share · [α_e · (1 − d) − β_e · ĉ_e] for a budget share from
    /// [`RewardParams::evaluator_share`].
    pub fn evaluator_with_share(&self, share: f64, deviation: f64, normalized_cost: f64) -> f64 {
        self.floor(share * (self.alpha_eval * (1.0 - deviation) - self.beta_eval * normalized_cost))
    }

    /// What a member that did not report is paid: a report at the maximum deviation and
    /// the maximum cost, share · (−β_e); 0 unless slashing is on.
    pub fn missing_evaluator(&self, share: f64) -> f64 {
        self.evaluator_with_share(share, 1.0, 1.0)
    }
}

/// How a raw cost (latency in ms, tokens, price) becomes ĉ in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "scale", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CostScale {
    /// (cost − min) / (max − min) over the pool's known range; costs outside the range
    /// are an error, since the range is meant to contain every node.
    MinMax {
        /// Cheapest cost in the pool.
        min: f64,
        /// Most expensive cost in the pool.
        max: f64,
    },
    /// min(1, cost / reference): costs at or beyond the reference pay the full penalty.
    Reference {
        /// The reference cost, > 0.
        reference: f64,
    },
}

impl CostScale {
    /// Checks the scale's parameters.
    pub fn validate(&self) -> Result<()> {
        match *self {
            CostScale::MinMax { min, max } => {
                check_param("min", min, min >= 0.0, "must be finite and >= 0")?;
                check_param("max", max, max >= min, "must be finite and >= min")
            }
            CostScale::Reference { reference } => check_param("reference", reference, reference > 0.0, "must be > 0"),
        }
    }

    /// ĉ for a raw cost; a NaN, negative or (for min–max) out-of-range cost is an error.
    pub fn normalize(&self, cost: f64) -> Result<f64> {
        if !(cost.is_finite() && cost >= 0.0) {
            return Err(CoreError::InvalidCost { value: cost });
        }
        match *self {
            CostScale::MinMax { min, max } => {
                if cost < min || cost > max {
                    return Err(CoreError::InvalidCost { value: cost });
                }
                // A degenerate pool (all costs equal) has no cost spread to penalize.
                Ok(if max > min { (cost - min) / (max - min) } else { 0.0 })
            }
            CostScale::Reference { reference } => Ok((cost / reference).min(1.0)),
        }
    }
}
