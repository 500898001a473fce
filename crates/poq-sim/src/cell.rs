//! One Monte Carlo cell: an attack, a malicious fraction ρ, a committee size K, a
//! consensus rule and a trust policy, run for the scenario's rounds through
//! `poq_core::round::Round`.
//!
//! Paired design: for a given repetition the world draws (prompts, truth, committees,
//! honest scores) depend only on (seed, K), the malicious set only on (seed, ρ), and the
//! attack draws only on (seed, K, ρ, attack). Every rule and trust policy therefore faces
//! exactly the same rounds, and their differences are theirs alone. Each stream has its
//! own generator derived from the master seed, so results do not depend on which thread
//! runs a cell or in what order.

use crate::scenario::Scenario;
use crate::world::{RoundDraw, World};
use crate::{Result, SimError};
use poq_core::aggregate::{self, Rule};
use poq_core::attack::{self, History, Member};
use poq_core::reward::CostScale;
use poq_core::rng::{Xoshiro256PlusPlus, below, derive_seed};
use poq_core::round::{Round, RoundConfig};
use poq_core::stats;
use serde::Serialize;

/// Which cell to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellSpec {
    /// Attack name (spec §5).
    pub attack: String,
    /// Malicious fraction of the pool.
    pub rho: f64,
    /// Committee size.
    pub k: usize,
    /// Consensus rule name.
    pub rule: String,
    /// Trust policy name.
    pub trust: String,
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
    /// Pearson correlation of consensus with the ground truth over rounds.
    pub pearson: f64,
    /// Spearman correlation of consensus with the ground truth.
    pub spearman: f64,
    /// Mean absolute error of consensus against the ground truth (score points).
    pub mae: f64,
    /// Rewards paid minus the rewards an all-honest committee would have paid (same
    /// committee, rule and weights), per round, inference and evaluator rewards
    /// together (spec §6): > 0 means the attack inflated payouts.
    pub payout_inflation: f64,
    /// The inference node's part of [`CellResult::payout_inflation`].
    pub inference_inflation: f64,
    /// The evaluators' part of [`CellResult::payout_inflation`].
    pub evaluator_inflation: f64,
    /// Scores a trimmed mean drops per side at this K (null for other rules): 0 means
    /// the rule equalled the mean here (spec §2 asks that this be said).
    pub trimmed_per_side: Option<usize>,
    /// ROC AUC of low final trust for malicious evaluators; null without trust or
    /// without both classes.
    pub detection_auc: Option<f64>,
    /// Mean per-round reward of the inference node that answered.
    pub inference_reward_mean: f64,
    /// Variance of the per-round inference reward.
    pub inference_reward_var: f64,
    /// Mean per-round reward of a committee member.
    pub evaluator_reward_mean: f64,
    /// Variance of the per-round reward of a committee member.
    pub evaluator_reward_var: f64,
    /// Malicious evaluators in the pool.
    pub malicious: usize,
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

/// Everything one repetition of a cell measured, for experiments that need more than
/// [`CellResult`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellDetail {
    /// The summary numbers.
    pub result: CellResult,
    /// Which evaluators were malicious.
    pub malicious: Vec<bool>,
    /// Trust weights of every evaluator, sampled every `trace_every` rounds:
    /// (round, weights).
    pub trace: Vec<(usize, Vec<f64>)>,
    /// Per-round reward statistics per inference node.
    pub node_rewards: Vec<MeanVar>,
    /// Per-round reward statistics per evaluator (over the rounds it sat in).
    pub evaluator_rewards: Vec<MeanVar>,
}

/// FNV-1a, to turn a stream label into a sub-seed index independent of grid order.
fn stream(label: &str) -> u64 {
    label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn rng_for(master: &[u8; 32], label: &str) -> Xoshiro256PlusPlus {
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
    for i in (1..n).rev() {
        order.swap(i, below(&mut rng, i as u64 + 1) as usize);
    }
    let count = ((rho * n as f64).round() as usize).min(n);
    let mut flags = vec![false; n];
    for &i in &order[..count] {
        flags[i] = true;
    }
    flags
}

/// Runs repetition `rep` of a cell; `trace_every` > 0 samples trust weights.
pub fn run_once(
    scenario: &Scenario,
    world: &dyn World,
    spec: &CellSpec,
    rep: usize,
    trace_every: usize,
) -> Result<CellDetail> {
    let n = world.evaluators();
    if spec.k == 0 || spec.k > world.max_k() {
        return Err(SimError::InvalidScenario {
            name: "k".to_string(),
            value: spec.k.to_string(),
            reason: format!("must be between 1 and {} for this world", world.max_k()),
        });
    }
    let master = master_seed(scenario.seed);
    let attack = scenario.attack.attack(&spec.attack)?;
    let rule = Rule::from_name(&spec.rule, scenario.grid.trim)?;
    let mut trust = scenario.trust_policy(&spec.trust, n)?;
    let config = RoundConfig {
        rule,
        quorum: 0,
        rewards: scenario.rewards,
        inference_cost: CostScale::Reference {
            reference: scenario.costs.inference_reference_ms,
        },
        evaluator_cost: CostScale::Reference {
            reference: scenario.costs.evaluator_reference_ms,
        },
    };
    let malicious = malicious_set(&master, rep, spec.rho, n);
    let mut world_rng = rng_for(&master, &format!("world/{rep}/{}", spec.k));
    let mut attack_rng = rng_for(
        &master,
        &format!("attack/{rep}/{}/{}/{}", spec.k, spec.rho, spec.attack),
    );

    let rounds = scenario.rounds;
    // Scenario::validate caps rounds, so these reservations are bounded.
    let mut consensus = Vec::with_capacity(rounds);
    let mut truth = Vec::with_capacity(rounds);
    let (mut inf_paid, mut inf_honest, mut eval_paid, mut eval_honest) = (0.0, 0.0, 0.0, 0.0);
    let mut node_rewards = vec![MeanVar::default(); world.nodes()];
    let mut evaluator_rewards = vec![MeanVar::default(); n];
    let (mut inf_all, mut eval_all) = (MeanVar::default(), MeanVar::default());
    let mut trace = Vec::new();
    let mut draw = RoundDraw::default();
    let mut members: Vec<Member> = Vec::with_capacity(spec.k);
    let mut reported = Vec::with_capacity(spec.k);
    let mut weights_before = Vec::with_capacity(spec.k);
    let mut last_consensus = None;
    let needs_reference = matches!(attack, poq_core::attack::Attack::OnOff { .. });
    let mut pool_weights = Vec::new();

    for t in 0..rounds {
        if trace_every > 0 && t % trace_every == 0 {
            trace.push((t, trust.weights()));
        }
        world.draw(&mut world_rng, spec.k, &mut draw);
        // The pool's median trust is public; only the on-off attacker reads it.
        let reference_trust = if needs_reference {
            pool_weights.clear();
            pool_weights.extend((0..n as u32).map(|e| trust.weight_for(e, if draw.qa { 0 } else { 1 })));
            pool_weights.sort_unstable_by(f64::total_cmp);
            pool_weights[pool_weights.len() / 2]
        } else {
            1.0
        };
        members.clear();
        weights_before.clear();
        let task: poq_core::TaskId = if draw.qa { 0 } else { 1 };
        for (&e, &h) in draw.committee.iter().zip(&draw.honest) {
            let w = trust.weight_for(e, task);
            weights_before.push(w);
            members.push(Member {
                honest: h,
                malicious: malicious[e as usize],
                trust: w,
            });
        }
        let history = History {
            round: t as u64,
            last_consensus,
            reference_trust,
        };
        attack::apply(&attack, &members, &history, &mut attack_rng, &mut reported);

        let mut round =
            Round::open(config, t as u64, draw.node, draw.latency_ms, draw.committee.clone(), n)?.for_task(task);
        for ((&e, &s), &l) in draw.committee.iter().zip(&reported).zip(&draw.eval_latency_ms) {
            round.submit(e, s, l)?;
        }
        let outcome = round.finalize(trust.as_mut())?;

        // What an all-honest committee would have been paid, same rule, same weights.
        let honest_c = aggregate::aggregate(rule, &draw.honest, Some(&weights_before))?;
        let inf_cost = config.inference_cost.normalize(draw.latency_ms)?;
        inf_honest += scenario.rewards.inference(honest_c, inf_cost);
        for (&h, &l) in draw.honest.iter().zip(&draw.eval_latency_ms) {
            let cost = config.evaluator_cost.normalize(l)?;
            eval_honest += scenario.rewards.evaluator(spec.k, (h - honest_c).abs() / 10.0, cost);
        }
        inf_paid += outcome.inference_reward;
        node_rewards[draw.node as usize].push(outcome.inference_reward);
        inf_all.push(outcome.inference_reward);
        for r in &outcome.reports {
            eval_paid += r.reward;
            evaluator_rewards[r.evaluator as usize].push(r.reward);
            eval_all.push(r.reward);
        }
        consensus.push(outcome.consensus);
        truth.push(draw.truth);
        last_consensus = Some(outcome.consensus);
    }
    if trace_every > 0 {
        trace.push((rounds, trust.weights()));
    }

    // Nothing to detect without trust, or without an attack (the "malicious" then
    // behave honestly).
    let detection_auc = if spec.trust == "none" || matches!(attack, poq_core::attack::Attack::None) {
        None
    } else {
        let suspicion: Vec<f64> = trust.weights().iter().map(|w| -w).collect();
        stats::auc(&suspicion, &malicious)
    };
    let result = CellResult {
        attack: spec.attack.clone(),
        rho: spec.rho,
        k: spec.k,
        rule: spec.rule.clone(),
        trust: spec.trust.clone(),
        // A constant consensus (every round the same value) has no correlation: 0.
        pearson: stats::pearson(&consensus, &truth).unwrap_or(0.0),
        spearman: stats::spearman(&consensus, &truth).unwrap_or(0.0),
        mae: stats::mae(&consensus, &truth).unwrap_or(0.0),
        payout_inflation: ((inf_paid - inf_honest) + (eval_paid - eval_honest)) / rounds as f64,
        inference_inflation: (inf_paid - inf_honest) / rounds as f64,
        evaluator_inflation: (eval_paid - eval_honest) / rounds as f64,
        trimmed_per_side: match rule {
            Rule::TrimmedMean { trim } => Some(aggregate::trim_count(trim, spec.k)),
            _ => None,
        },
        detection_auc,
        inference_reward_mean: inf_all.mean,
        inference_reward_var: inf_all.var(),
        evaluator_reward_mean: eval_all.mean,
        evaluator_reward_var: eval_all.var(),
        malicious: malicious.iter().filter(|&&m| m).count(),
    };
    Ok(CellDetail {
        result,
        malicious,
        trace,
        node_rewards,
        evaluator_rewards,
    })
}

/// Runs every repetition of a cell and averages the summary numbers.
pub fn run_cell(scenario: &Scenario, world: &dyn World, spec: &CellSpec) -> Result<CellResult> {
    let reps: Vec<CellResult> = (0..scenario.seeds)
        .map(|rep| run_once(scenario, world, spec, rep, 0).map(|d| d.result))
        .collect::<Result<_>>()?;
    let avg = |f: fn(&CellResult) -> f64| reps.iter().map(f).sum::<f64>() / reps.len() as f64;
    let auc: Option<Vec<f64>> = reps.iter().map(|r| r.detection_auc).collect();
    let mut out = reps[0].clone();
    out.pearson = avg(|r| r.pearson);
    out.spearman = avg(|r| r.spearman);
    out.mae = avg(|r| r.mae);
    out.payout_inflation = avg(|r| r.payout_inflation);
    out.inference_inflation = avg(|r| r.inference_inflation);
    out.evaluator_inflation = avg(|r| r.evaluator_inflation);
    out.detection_auc = auc.map(|v| v.iter().sum::<f64>() / v.len() as f64);
    out.inference_reward_mean = avg(|r| r.inference_reward_mean);
    out.inference_reward_var = avg(|r| r.inference_reward_var);
    out.evaluator_reward_mean = avg(|r| r.evaluator_reward_mean);
    out.evaluator_reward_var = avg(|r| r.evaluator_reward_var);
    Ok(out)
}
