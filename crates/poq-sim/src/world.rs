//! Worlds: where the rounds' prompts, ground truth and honest scores come from.
//!
//! A [`World`] draws one round at a time: which inference node answered, the task, the
//! ground-truth quality (0–10) of the answer, its latency, a committee of K evaluators,
//! and what each member would honestly report. Attacks are applied afterwards by the
//! cell runner, so the same world draw serves every defense.
//!
//! - [`SyntheticWorld`]: models and evaluators from a [`Scenario`]: per-task quality
//!   and latency distributions, evaluators with their own bias, noise and per-task
//!   alignment, some inverted on one task.
//! - [`crate::replay::ReplayWorld`]: rounds drawn from logged real records.

use crate::scenario::Scenario;
use poq_core::EvaluatorId;
use poq_core::committee::draw_uniform_into;
use poq_core::rng::{Xoshiro256PlusPlus, below, standard_normal_pair, unit_f64};
use serde::{Deserialize, Serialize};

/// The two workloads of the publications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Question answering (ground truth: SQuAD token F1 × 10).
    Qa,
    /// Summarization (ground truth: ROUGE-L F × 10).
    Summarization,
}

/// One round as the world produced it, before any attack.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoundDraw {
    /// The inference node that answered.
    pub node: u32,
    /// Whether the prompt was QA (else summarization).
    pub qa: bool,
    /// Ground-truth quality of the answer, in [0, 10].
    pub truth: f64,
    /// The inference node's latency (ms).
    pub latency_ms: f64,
    /// The committee, sorted ascending.
    pub committee: Vec<EvaluatorId>,
    /// What each member would honestly report, in committee order, in [0, 10].
    pub honest: Vec<f64>,
    /// Each member's scoring latency (ms), in committee order.
    pub eval_latency_ms: Vec<f64>,
}

/// A source of rounds.
pub trait World: Sync {
    /// Evaluators in the pool (N).
    fn evaluators(&self) -> usize;
    /// Inference nodes.
    fn nodes(&self) -> usize;
    /// Display name of inference node `i`.
    fn node_name(&self, i: usize) -> String;
    /// Display name of evaluator `i`.
    fn evaluator_name(&self, i: usize) -> String;
    /// The largest committee every round can seat.
    fn max_k(&self) -> usize;
    /// Draws one round with a committee of `k` (`k <= max_k()`) into `out`.
    fn draw(&self, rng: &mut Xoshiro256PlusPlus, k: usize, out: &mut RoundDraw);
}

/// An evaluator of the synthetic world.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyntheticEvaluator {
    /// Standard deviation of its scoring noise.
    pub noise: f64,
    /// Its additive bias.
    pub bias: f64,
    /// Slope against the ground truth on QA (negative: inverted).
    pub qa_slope: f64,
    /// Slope on summarization.
    pub summarization_slope: f64,
    /// Its latency per score (ms).
    pub latency_ms: f64,
}

/// The synthetic world of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticWorld {
    scenario: Scenario,
    evaluators: Vec<SyntheticEvaluator>,
}

/// Scores are centred here before an evaluator's slope applies, so a slope of −1
/// mirrors quality around the middle of the scale.
const CENTRE: f64 = 5.0;

fn uniform_in(rng: &mut Xoshiro256PlusPlus, r: [f64; 2]) -> f64 {
    r[0] + (r[1] - r[0]) * unit_f64(rng)
}

impl SyntheticWorld {
    /// Builds the world; evaluators' traits are drawn from `seed`, so every cell of a
    /// sweep meets the same evaluators.
    pub fn new(scenario: &Scenario, seed: u64) -> Self {
        let mut rng = Xoshiro256PlusPlus::from_u64(seed ^ 0x0005_EED0_F3A1);
        let e = &scenario.evaluators;
        let evaluators = (0..e.count)
            .map(|i| {
                let inverted = i < e.inverted;
                let (mut qa, mut su) = (e.qa_alignment, e.summarization_alignment);
                if inverted {
                    if e.inverted_task == "qa" {
                        qa = -qa;
                    } else {
                        su = -su;
                    }
                }
                SyntheticEvaluator {
                    noise: uniform_in(&mut rng, e.noise),
                    bias: uniform_in(&mut rng, e.bias),
                    qa_slope: qa,
                    summarization_slope: su,
                    latency_ms: uniform_in(&mut rng, e.latency_ms),
                }
            })
            .collect();
        Self {
            scenario: scenario.clone(),
            evaluators,
        }
    }

    /// The evaluators' drawn traits.
    pub fn evaluator_traits(&self) -> &[SyntheticEvaluator] {
        &self.evaluators
    }
}

impl World for SyntheticWorld {
    fn evaluators(&self) -> usize {
        self.evaluators.len()
    }

    fn nodes(&self) -> usize {
        self.scenario.models.len()
    }

    fn node_name(&self, i: usize) -> String {
        self.scenario
            .models
            .get(i)
            .map_or_else(|| format!("node-{i}"), |m| m.name.clone())
    }

    fn evaluator_name(&self, i: usize) -> String {
        format!("e{i:02}")
    }

    fn max_k(&self) -> usize {
        self.evaluators.len()
    }

    fn draw(&self, rng: &mut Xoshiro256PlusPlus, k: usize, out: &mut RoundDraw) {
        let models = &self.scenario.models;
        let node = below(rng, models.len() as u64) as usize;
        let m = &models[node];
        let qa = unit_f64(rng) < self.scenario.qa_fraction;
        let q = if qa { m.qa } else { m.summarization };
        let (z_truth, z_latency) = standard_normal_pair(rng);
        let truth = (q.mean + q.sd * z_truth).clamp(0.0, 10.0);
        let latency_ms = (m.latency_ms.mean + m.latency_ms.sd * z_latency).max(1.0);
        // k <= N is checked by the caller (Scenario::validate and the sweep); a bad k
        // leaves an empty committee, which Round::open then rejects by name.
        let k = k.clamp(1, self.evaluators.len());
        if draw_uniform_into(rng, self.evaluators.len(), k, &mut out.committee).is_err() {
            out.committee.clear();
        }
        out.honest.clear();
        out.eval_latency_ms.clear();
        // Normals come in pairs (one Box–Muller step each); the last may go unused.
        let mut spare: Option<f64> = None;
        for &e in &out.committee {
            let z = match spare.take() {
                Some(z) => z,
                None => {
                    let (a, b) = standard_normal_pair(rng);
                    spare = Some(b);
                    a
                }
            };
            let ev = &self.evaluators[e as usize];
            let slope = if qa { ev.qa_slope } else { ev.summarization_slope };
            let s = CENTRE + slope * (truth - CENTRE) + ev.bias + ev.noise * z;
            out.honest.push(s.clamp(0.0, 10.0));
            out.eval_latency_ms.push(ev.latency_ms);
        }
        out.node = node as u32;
        out.qa = qa;
        out.truth = truth;
        out.latency_ms = latency_ms;
    }
}
