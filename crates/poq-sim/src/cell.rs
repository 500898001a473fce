//! One Monte Carlo cell: an attack, a malicious fraction ρ, a committee size K, a
//! defense (consensus rule and trust policy), a missing-report rule and an evaluator
//! reward scaling, run for the scenario's rounds by [`crate::play`].
//!
//! Paired design: for a given repetition the world draws (answers, truth, honest
//! scores) and the committee beacons depend only on (seed, K), the malicious set only on
//! (seed, ρ), and the attack draws only on (seed, K, ρ, attack). Every defense therefore
//! faces exactly the same rounds, and their differences are theirs alone. Each stream
//! has its own generator derived from the master seed, so results do not depend on
//! which thread runs a cell or in what order.
//!
//! Numbers that cannot be computed are absent, never 0: a constant consensus has no
//! correlation (`None`), a run without attack or trust has no detection AUC.

use crate::defense::Defense;
use crate::scenario::Scenario;
use poq_core::aggregate::Rule;
use poq_core::attack::Attack;
use poq_core::protocol::RewardBook;
use poq_core::reward::EvaluatorScaling;
use poq_core::rng::{Xoshiro256PlusPlus, derive_seed, shuffle};
use poq_core::round::MissingReport;
use poq_core::trust::TrustKind;
use serde::Serialize;

/// Which cell to run; every field is typed, parsed once from the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CellSpec {
    /// The malicious evaluators' behaviour, with its parameters.
    pub attack: Attack,
    /// Malicious fraction of the pool.
    pub rho: f64,
    /// Committee size.
    pub k: usize,
    /// Consensus rule.
    pub rule: Rule,
    /// Trust policy.
    pub trust: TrustKind,
    /// What a committee member that does not report gets.
    pub missing: MissingReport,
    /// How the evaluator budget is shared.
    pub scaling: EvaluatorScaling,
    /// g: the fraction of rounds that are gold spot-checks.
    pub gold_fraction: f64,
}

impl CellSpec {
    /// A cell of `scenario` with its missing-report rule and reward scaling.
    pub fn new(scenario: &Scenario, attack: Attack, rho: f64, k: usize, defense: Defense) -> Self {
        Self {
            attack,
            rho,
            k,
            rule: defense.rule,
            trust: defense.trust,
            missing: scenario.protocol.missing,
            scaling: scenario.rewards.evaluator_scaling,
            gold_fraction: scenario.protocol.gold_fraction,
        }
    }

    /// The cell's defense.
    pub fn defense(&self) -> Defense {
        Defense {
            rule: self.rule,
            trust: self.trust,
        }
    }
}

/// The numbers `results.json` reports per cell (averaged over repetitions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellResult {
    /// Attack name.
    pub attack: String,
    /// Malicious fraction.
    pub rho: f64,
    /// Committee size.
    pub k: usize,
    /// Consensus rule.
    pub rule: String,
    /// Trust policy.
    pub trust: String,
    /// The missing-report rule ("penalize" or "ignore").
    pub missing: String,
    /// The evaluator reward scaling ("flat" or "trust").
    pub evaluator_scaling: String,
    /// g: the fraction of rounds that were meant to be gold spot-checks.
    pub gold_fraction: f64,
    /// Gold rounds played (averaged over repetitions); they are left out of every
    /// alignment metric.
    pub gold_rounds: f64,
    /// Pearson correlation of consensus with the ground truth over finalized ordinary
    /// rounds; null when undefined (a constant consensus).
    pub pearson: Option<f64>,
    /// Spearman correlation of consensus with the ground truth; null when undefined.
    pub spearman: Option<f64>,
    /// Mean absolute error of consensus against the ground truth (score points); null
    /// when no round finalized.
    pub mae: Option<f64>,
    /// Rewards paid minus the rewards an all-honest committee would have paid (same
    /// committee, rule and weights, everyone reporting), per round, inference and
    /// evaluator rewards together (spec §6): > 0 means the attack inflated payouts.
    pub payout_inflation: f64,
    /// The inference node's part of [`CellResult::payout_inflation`].
    pub inference_inflation: f64,
    /// The evaluators' part of [`CellResult::payout_inflation`].
    pub evaluator_inflation: f64,
    /// Scores a trimmed mean drops per side at this K (null for other rules): 0 means
    /// the rule equalled the mean here (spec §2 asks that this be said).
    pub trimmed_per_side: Option<usize>,
    /// ROC AUC of low final standing ([`poq_core::trust::TrustPolicy::standing`], the
    /// weight for every policy but `gold`) for malicious evaluators; null without
    /// trust or without both classes.
    pub detection_auc: Option<f64>,
    /// The logged evaluator model whose honest scores alone correlate best with the
    /// ground truth on the same rounds as `pearson` (replays only; null elsewhere).
    pub best_model: Option<String>,
    /// That model's Pearson correlation with the ground truth on those rounds: the bar
    /// a committee's consensus is measured against.
    pub best_model_pearson: Option<f64>,
    /// Mean per-round reward of the inference node that answered.
    pub inference_reward_mean: f64,
    /// Variance of the per-round inference reward.
    pub inference_reward_var: f64,
    /// Mean per-round reward of a committee member (silent members included).
    pub evaluator_reward_mean: f64,
    /// Variance of the per-round reward of a committee member.
    pub evaluator_reward_var: f64,
    /// Malicious evaluators in the pool.
    pub malicious: usize,
    /// Rounds that expired below their quorum (averaged over repetitions).
    pub expired: f64,
    /// Fraction of committee seats that did not report.
    pub missing_rate: f64,
    /// A malicious evaluator's total reward over the run, relative to an honest
    /// evaluator's (means of each class): above 1, the attack paid. Null without both
    /// classes or when honest evaluators earned nothing.
    pub malicious_reward_ratio: Option<f64>,
    /// A malicious evaluator's final overall trust relative to an honest one's (means of
    /// each class). Null without both classes.
    pub malicious_trust_ratio: Option<f64>,
}

/// Running mean and variance (Welford).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct MeanVar {
    /// Observations.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    m2: f64,
}

impl MeanVar {
    /// Adds one observation.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Population variance (0 for fewer than two observations).
    pub fn var(&self) -> f64 {
        if self.n < 2 { 0.0 } else { self.m2 / self.n as f64 }
    }
}

/// Everything one repetition of a cell measured, for experiments (and `poq demo`) that
/// need more than [`CellResult`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellDetail {
    /// The summary numbers.
    pub result: CellResult,
    /// Which evaluators were malicious.
    pub malicious: Vec<bool>,
    /// Trust weights of every evaluator, sampled every `trace_every` rounds:
    /// (round, weights).
    pub trace: Vec<(usize, Vec<f64>)>,
    /// Every evaluator's overall trust weight at the end.
    pub final_weights: Vec<f64>,
    /// Per-round reward statistics per inference node.
    pub node_rewards: Vec<MeanVar>,
    /// Per-round reward statistics per evaluator (over the rounds it sat in).
    pub evaluator_rewards: Vec<MeanVar>,
    /// The protocol's reward book at the end.
    pub book: RewardBook,
    /// The protocol's state digest at the end, hex.
    pub state_digest: String,
}

/// FNV-1a, to turn a stream label into a sub-seed index independent of grid order.
fn stream(label: &str) -> u64 {
    label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The generator of the stream named `label` of a master seed.
pub fn rng_for(master: &[u8; 32], label: &str) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::from_seed_bytes(derive_seed(master, stream(label)))
}

/// The master seed bytes of a scenario seed.
pub fn master_seed(seed: u64) -> [u8; 32] {
    let mut m = [0u8; 32];
    m[..8].copy_from_slice(&seed.to_le_bytes());
    m[8..16].copy_from_slice(b"poq-sim1");
    m
}

/// The malicious set for (repetition, ρ): round(ρ·N) evaluators of a seeded shuffle.
pub fn malicious_set(master: &[u8; 32], rep: usize, rho: f64, n: usize) -> Vec<bool> {
    let mut rng = rng_for(master, &format!("malicious/{rep}/{rho}"));
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut rng, &mut order);
    let count = ((rho * n as f64).round() as usize).min(n);
    let mut flags = vec![false; n];
    for &i in &order[..count] {
        flags[i] = true;
    }
    flags
}
