//! Worlds: where the rounds' answers, ground truth and honest scores come from.
//!
//! A [`World`] is asked two things per round. First, [`World::answer`]: which inference
//! node answered, the task, the ground-truth quality (0–10) of the answer and its
//! latency. Then, once the protocol has drawn the committee, [`World::honest_scores`]:
//! what each member would honestly report and how long it takes. The committee is the
//! protocol's, never the world's; attacks are applied afterwards by the round loop
//! ([`crate::play`]), so the same world draws serve every defense.
//!
//! - [`SyntheticWorld`]: models and evaluators from a [`Scenario`]: per-task quality
//!   and latency distributions, evaluators with their own bias, noise and per-task
//!   alignment, some inverted on one task.
//! - [`crate::replay::ReplayWorld`]: rounds drawn from logged real records.

use crate::scenario::Scenario;
use poq_core::rng::{Xoshiro256PlusPlus, below, standard_normal_pair, unit_f64};
use poq_core::{EvaluatorId, NodeId, Task};
use serde::Serialize;

/// One answer to be scored, as the world produced it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// The inference node that answered.
    pub node: NodeId,
    /// The prompt's task.
    pub task: Task,
    /// Ground-truth quality of the answer, in [0, 10].
    pub truth: f64,
    /// The inference node's latency (ms).
    pub latency_ms: f64,
    /// Which logged record it is (replay), or 0.
    pub record: usize,
}

/// What one committee member would honestly report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HonestReport {
    /// The score its model gives, in [0, 10].
    pub score: f64,
    /// Its scoring latency (ms).
    pub latency_ms: f64,
}

/// A source of rounds. Every evaluator of a world can score every task.
pub trait World: Sync {
    /// Evaluators in the pool (N).
    fn evaluators(&self) -> usize;
    /// Inference nodes.
    fn nodes(&self) -> usize;
    /// Display name of inference node `i`.
    fn node_name(&self, i: usize) -> String;
    /// Display name of evaluator `i`.
    fn evaluator_name(&self, i: usize) -> String;
    /// What evaluator `i` runs, for display: its noise level (synthetic) or its
    /// evaluator model (replay).
    fn evaluator_kind(&self, i: usize) -> String;
    /// Inference node `i`'s mean answer quality (0–10) and mean latency (ms).
    fn node_profile(&self, i: usize) -> (f64, f64);
    /// Draws the next answer.
    fn answer(&self, rng: &mut Xoshiro256PlusPlus) -> Answer;
    /// Draws the answer of a gold spot-check: a prompt with a known reference, from the
    /// world's gold set (a replay's held-out prompts). The default draws like
    /// [`World::answer`]: a synthetic world knows every truth.
    fn gold_answer(&self, rng: &mut Xoshiro256PlusPlus) -> Answer {
        self.answer(rng)
    }
    /// The evaluator models whose honest scores [`World::model_score`] gives, for the
    /// best-single-model baseline (a replay's logged evaluators; none by default).
    fn models(&self) -> Vec<String> {
        Vec::new()
    }
    /// Model `m`'s honest score of `answer` (an index into [`World::models`]).
    fn model_score(&self, _answer: &Answer, _m: usize) -> Option<f64> {
        None
    }
    /// What each member of `committee` would honestly report for `answer`, in committee
    /// order, into `out` (cleared first).
    fn honest_scores(
        &self,
        answer: &Answer,
        committee: &[EvaluatorId],
        rng: &mut Xoshiro256PlusPlus,
        out: &mut Vec<HonestReport>,
    );
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

/// Mixed into the world seed before the evaluators' traits are drawn, so the trait
/// stream differs from every labelled stream of the same seed.
const TRAITS_SALT: u64 = 0x0005_EED0_F3A1;

fn uniform_in(rng: &mut Xoshiro256PlusPlus, r: [f64; 2]) -> f64 {
    r[0] + (r[1] - r[0]) * unit_f64(rng)
}

impl SyntheticWorld {
    /// Builds the world; evaluators' traits are drawn from `seed`, so every cell of a
    /// sweep meets the same evaluators.
    pub fn new(scenario: &Scenario, seed: u64) -> Self {
        let mut rng = Xoshiro256PlusPlus::from_u64(seed ^ TRAITS_SALT);
        let e = &scenario.evaluators;
        let evaluators = (0..e.count)
            .map(|i| {
                let inverted = i < e.inverted;
                let (mut qa, mut su) = (e.qa_alignment, e.summarization_alignment);
                if inverted {
                    match e.inverted_task {
                        Task::Qa => qa = -qa,
                        Task::Summarization => su = -su,
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

    fn evaluator_kind(&self, i: usize) -> String {
        self.evaluators
            .get(i)
            .map_or_else(String::new, |e| format!("noise {:.2}", e.noise))
    }

    /// The scenario's means, mixed over tasks by the QA fraction (before the
    /// truncation to [0, 10] and to at least 1 ms that draws undergo).
    fn node_profile(&self, i: usize) -> (f64, f64) {
        let q = self.scenario.qa_fraction;
        self.scenario.models.get(i).map_or((f64::NAN, f64::NAN), |m| {
            (q * m.qa.mean + (1.0 - q) * m.summarization.mean, m.latency_ms.mean)
        })
    }

    fn answer(&self, rng: &mut Xoshiro256PlusPlus) -> Answer {
        let models = &self.scenario.models;
        let node = below(rng, models.len() as u64) as usize;
        let m = &models[node];
        let task = if unit_f64(rng) < self.scenario.qa_fraction {
            Task::Qa
        } else {
            Task::Summarization
        };
        let q = match task {
            Task::Qa => m.qa,
            Task::Summarization => m.summarization,
        };
        let (z_truth, z_latency) = standard_normal_pair(rng);
        Answer {
            node: NodeId(node as u32),
            task,
            truth: (q.mean + q.sd * z_truth).clamp(0.0, 10.0),
            latency_ms: (m.latency_ms.mean + m.latency_ms.sd * z_latency).max(1.0),
            record: 0,
        }
    }

    fn honest_scores(
        &self,
        answer: &Answer,
        committee: &[EvaluatorId],
        rng: &mut Xoshiro256PlusPlus,
        out: &mut Vec<HonestReport>,
    ) {
        out.clear();
        // Normals come in pairs (one Box–Muller step each); the last may go unused.
        let mut spare: Option<f64> = None;
        for &e in committee {
            let z = match spare.take() {
                Some(z) => z,
                None => {
                    let (a, b) = standard_normal_pair(rng);
                    spare = Some(b);
                    a
                }
            };
            // The protocol seats registered evaluators only: every id is below N.
            let Some(ev) = self.evaluators.get(e.index()) else {
                continue;
            };
            let slope = match answer.task {
                Task::Qa => ev.qa_slope,
                Task::Summarization => ev.summarization_slope,
            };
            let s = CENTRE + slope * (answer.truth - CENTRE) + ev.bias + ev.noise * z;
            out.push(HonestReport {
                score: s.clamp(0.0, 10.0),
                latency_ms: ev.latency_ms,
            });
        }
    }
}
