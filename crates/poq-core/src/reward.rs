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

use crate::trust::check_param;
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

    /// R_e = (B_eval / K) · [α_e · (1 − d) − β_e · ĉ_e].
    pub fn evaluator(&self, committee_size: usize, deviation: f64, normalized_cost: f64) -> f64 {
        let share = self.eval_budget / committee_size.max(1) as f64;
        self.floor(share * (self.alpha_eval * (1.0 - deviation) - self.beta_eval * normalized_cost))
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

/// Rewards accumulated per node across rounds.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RewardBook {
    /// Total reward per inference node, by id.
    pub inference: Vec<f64>,
    /// Rounds served per inference node.
    pub inference_rounds: Vec<u64>,
    /// Total reward per evaluator, by id.
    pub evaluator: Vec<f64>,
    /// Rounds evaluated per evaluator.
    pub evaluator_rounds: Vec<u64>,
}

impl RewardBook {
    /// An empty book for `inference_nodes` and `evaluators` nodes.
    pub fn new(inference_nodes: usize, evaluators: usize) -> Self {
        Self {
            inference: vec![0.0; inference_nodes],
            inference_rounds: vec![0; inference_nodes],
            evaluator: vec![0.0; evaluators],
            evaluator_rounds: vec![0; evaluators],
        }
    }

    /// Adds one round's outcome to the totals; ids beyond the book grow it.
    pub fn record(&mut self, outcome: &crate::round::Outcome) {
        let f = outcome.inference_node as usize;
        if f >= self.inference.len() {
            self.inference.resize(f + 1, 0.0);
            self.inference_rounds.resize(f + 1, 0);
        }
        self.inference[f] += outcome.inference_reward;
        self.inference_rounds[f] += 1;
        for r in &outcome.reports {
            let e = r.evaluator as usize;
            if e >= self.evaluator.len() {
                self.evaluator.resize(e + 1, 0.0);
                self.evaluator_rounds.resize(e + 1, 0);
            }
            self.evaluator[e] += r.reward;
            self.evaluator_rounds[e] += 1;
        }
    }
}
