//! The reward book: what every node has earned, accumulated across rounds.

use crate::encoding::Encoder;
use crate::round::{Expiry, Outcome};
use serde::{Deserialize, Serialize};

/// Rewards accumulated per node across rounds, indexed by id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardBook {
    /// Total reward per inference node.
    pub inference: Vec<f64>,
    /// Rounds finalized per inference node.
    pub inference_rounds: Vec<u64>,
    /// Total reward per evaluator.
    pub evaluator: Vec<f64>,
    /// Rounds each evaluator reported in (and was paid for).
    pub evaluator_rounds: Vec<u64>,
    /// Rounds each evaluator sat in without reporting.
    pub evaluator_missed: Vec<u64>,
}

fn grow<T: Clone + Default>(v: &mut Vec<T>, index: usize) -> &mut T {
    if index >= v.len() {
        v.resize(index + 1, T::default());
    }
    &mut v[index]
}

impl RewardBook {
    /// An empty book for `inference_nodes` and `evaluators` nodes.
    pub fn new(inference_nodes: usize, evaluators: usize) -> Self {
        Self {
            inference: vec![0.0; inference_nodes],
            inference_rounds: vec![0; inference_nodes],
            evaluator: vec![0.0; evaluators],
            evaluator_rounds: vec![0; evaluators],
            evaluator_missed: vec![0; evaluators],
        }
    }

    /// Adds one finalized round to the totals; ids beyond the book grow it (the protocol
    /// sizes it to its registry, so they do not occur there).
    pub fn record(&mut self, outcome: &Outcome) {
        let f = outcome.inference_node.index();
        *grow(&mut self.inference, f) += outcome.inference_reward;
        *grow(&mut self.inference_rounds, f) += 1;
        for r in &outcome.reports {
            let e = r.evaluator.index();
            *grow(&mut self.evaluator, e) += r.reward;
            *grow(&mut self.evaluator_rounds, e) += 1;
        }
        self.record_missing(&outcome.missing);
    }

    /// Adds an expired round: only its silent members' (non-positive) rewards.
    pub fn record_expiry(&mut self, expiry: &Expiry) {
        self.record_missing(&expiry.missing);
    }

    fn record_missing(&mut self, missing: &[crate::round::MissingOutcome]) {
        for m in missing {
            let e = m.evaluator.index();
            *grow(&mut self.evaluator, e) += m.reward;
            *grow(&mut self.evaluator_missed, e) += 1;
            grow(&mut self.evaluator_rounds, e);
        }
    }

    /// Grows the book to `inference_nodes` and `evaluators` entries.
    pub fn resize(&mut self, inference_nodes: usize, evaluators: usize) {
        self.inference.resize(inference_nodes, 0.0);
        self.inference_rounds.resize(inference_nodes, 0);
        self.evaluator.resize(evaluators, 0.0);
        self.evaluator_rounds.resize(evaluators, 0);
        self.evaluator_missed.resize(evaluators, 0);
    }

    /// Everything paid so far, to both kinds of node.
    pub fn total(&self) -> f64 {
        self.inference.iter().sum::<f64>() + self.evaluator.iter().sum::<f64>()
    }

    /// Canonical encoding: inference totals (f64s), inference rounds (a count, then
    /// u64s), evaluator totals, evaluator rounds, evaluator missed rounds.
    pub fn encode(&self, enc: &mut Encoder) {
        enc.f64s(&self.inference);
        let counts = |enc: &mut Encoder, v: &[u64]| {
            enc.usize(v.len());
            for &x in v {
                enc.u64(x);
            }
        };
        counts(enc, &self.inference_rounds);
        enc.f64s(&self.evaluator);
        counts(enc, &self.evaluator_rounds);
        counts(enc, &self.evaluator_missed);
    }
}
