//! Scenario files: every parameter of a simulation, in TOML, with documented defaults.
//!
//! A scenario describes the world (inference models, evaluators, tasks), the protocol
//! (rewards, cost scales, trust parameters, attack parameters) and the sweep grid.
//! Every field has a default (the values of `scenarios/default.toml`), so a scenario file
//! only states what it changes. Unknown keys are errors: a typo must not silently fall
//! back to a default.

use crate::{Result, SimError};
use poq_core::Task;
use poq_core::aggregate::Rule;
use poq_core::attack::{
    Attack, DEFAULT_CONSTANT, DEFAULT_COPYCAT_FALLBACK, DEFAULT_INTERMITTENT_P, DEFAULT_NOISE_SIGMA,
    DEFAULT_ON_OFF_THRESHOLD, DEFAULT_ON_OFF_WARMUP, DEFAULT_SHIFT, DEFAULT_WITHHOLD_THRESHOLD,
};
use poq_core::protocol::ProtocolConfig;
use poq_core::reward::{CostScale, EvaluatorScaling, RewardParams};
use poq_core::round::{MissingReport, RoundConfig};
use poq_core::trust::{Trust, TrustKind};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use poq_core::trust::TrustParams;

/// A normal distribution, truncated where it is used (scores to [0, 10], latencies to
/// at least 1 ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normal {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (>= 0).
    pub sd: f64,
}

/// An inference node: its quality per task and its latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Name used in outputs.
    pub name: String,
    /// Ground-truth quality (0–10) of its answers to QA prompts.
    pub qa: Normal,
    /// Ground-truth quality (0–10) of its summaries.
    pub summarization: Normal,
    /// Latency of one answer, in milliseconds.
    pub latency_ms: Normal,
}

/// Honest evaluators: how their scores relate to the ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Evaluators {
    /// Number of evaluators in the pool (N).
    pub count: usize,
    /// Each evaluator's noise standard deviation is drawn uniformly from this range.
    pub noise: [f64; 2],
    /// Each evaluator's additive bias is drawn uniformly from this range.
    pub bias: [f64; 2],
    /// Slope of an evaluator's score against the ground truth on QA (1 = aligned).
    pub qa_alignment: f64,
    /// Slope on summarization.
    pub summarization_alignment: f64,
    /// How many evaluators have their correlation inverted on one task.
    pub inverted: usize,
    /// The task on which they invert: "qa" or "summarization".
    pub inverted_task: Task,
    /// Each evaluator's latency per score, drawn uniformly from this range (ms).
    pub latency_ms: [f64; 2],
}

impl Default for Evaluators {
    fn default() -> Self {
        Self {
            count: 20,
            noise: [0.5, 1.5],
            bias: [-0.4, 0.4],
            qa_alignment: 1.0,
            summarization_alignment: 0.8,
            inverted: 1,
            inverted_task: Task::Summarization,
            latency_ms: [40.0, 160.0],
        }
    }
}

/// Costs: how raw latencies become normalized costs in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Costs {
    /// Inference latency that costs the full penalty β (ms).
    pub inference_reference_ms: f64,
    /// Evaluator latency that costs the full penalty β_e (ms).
    pub evaluator_reference_ms: f64,
}

impl Default for Costs {
    fn default() -> Self {
        Self {
            inference_reference_ms: 2500.0,
            evaluator_reference_ms: 200.0,
        }
    }
}

/// Parameters of the malicious behaviours (spec §5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttackParams {
    /// σ of the noise attack.
    pub noise_sigma: f64,
    /// b of boosting, sabotage, intermittent, collusion, on-off and sybil.
    pub shift: f64,
    /// p of the intermittent attack.
    pub intermittent_p: f64,
    /// The constant (lazy) attacker's score.
    pub constant: f64,
    /// The copycat's score before any consensus is published.
    pub copycat_fallback: f64,
    /// On-off: relative trust at or above which it attacks.
    pub on_off_threshold: f64,
    /// On-off: honest rounds before its first attack.
    pub on_off_warmup: u64,
    /// Withhold: distance from the others' median beyond which it stays silent.
    pub withhold_threshold: f64,
}

impl Default for AttackParams {
    fn default() -> Self {
        Self {
            noise_sigma: DEFAULT_NOISE_SIGMA,
            shift: DEFAULT_SHIFT,
            intermittent_p: DEFAULT_INTERMITTENT_P,
            constant: DEFAULT_CONSTANT,
            copycat_fallback: DEFAULT_COPYCAT_FALLBACK,
            on_off_threshold: DEFAULT_ON_OFF_THRESHOLD,
            on_off_warmup: DEFAULT_ON_OFF_WARMUP,
            withhold_threshold: DEFAULT_WITHHOLD_THRESHOLD,
        }
    }
}

impl AttackParams {
    /// The attack called `name` with these parameters.
    pub fn attack(&self, name: &str) -> Result<Attack> {
        let a = match Attack::from_name(name)? {
            Attack::None => Attack::None,
            Attack::Noise { .. } => Attack::Noise {
                sigma: self.noise_sigma,
            },
            Attack::Boosting { .. } => Attack::Boosting { shift: self.shift },
            Attack::Sabotage { .. } => Attack::Sabotage { shift: self.shift },
            Attack::Intermittent { .. } => Attack::Intermittent {
                p: self.intermittent_p,
                shift: self.shift,
            },
            Attack::Collusion { .. } => Attack::Collusion { shift: self.shift },
            Attack::OnOff { .. } => Attack::OnOff {
                shift: self.shift,
                threshold: self.on_off_threshold,
                warmup: self.on_off_warmup,
            },
            Attack::Constant { .. } => Attack::Constant { value: self.constant },
            Attack::Copycat { .. } => Attack::Copycat {
                fallback: self.copycat_fallback,
            },
            Attack::Sybil { .. } => Attack::Sybil { shift: self.shift },
            Attack::Withhold { .. } => Attack::Withhold {
                threshold: self.withhold_threshold,
            },
        };
        a.validate()?;
        Ok(a)
    }
}

/// Protocol rules beyond a single round's formulas.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProtocolParams {
    /// A round finalizes once more than this fraction of its committee reported
    /// (0.5: a strict majority; 1: everyone); below it, it expires.
    pub quorum: f64,
    /// What happens to a committee member that does not report.
    pub missing: MissingReport,
    /// g: the fraction of rounds that are gold spot-checks (a prompt with a known
    /// reference, scored like any other; its truth is revealed after it finalizes and
    /// it is left out of the alignment metrics). 0: none.
    pub gold_fraction: f64,
    /// The fraction of a replayed log's prompts, per task, held out as the gold set:
    /// spot-checks draw only from them, ordinary rounds never do. Used by replays
    /// whenever a cell has gold rounds, and by the gold experiment in every cell, so
    /// all its cells score the same live prompts.
    pub gold_holdout: f64,
    /// Finalized rounds whose reports the protocol keeps for a truth to be revealed,
    /// when gold rounds are on (0 is used otherwise).
    pub reveal_window: usize,
}

impl Default for ProtocolParams {
    fn default() -> Self {
        Self {
            quorum: 0.5,
            missing: MissingReport::Penalize,
            gold_fraction: 0.0,
            gold_holdout: 0.2,
            reveal_window: 8,
        }
    }
}

impl ProtocolParams {
    /// Reports a committee of `k` needs: ⌊quorum · K⌋ + 1, at most K.
    pub fn quorum_of(&self, k: usize) -> usize {
        ((self.quorum * k as f64).floor() as usize + 1).min(k)
    }
}

/// The sweep grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Grid {
    /// Malicious fractions ρ of the evaluator pool.
    pub rhos: Vec<f64>,
    /// Committee sizes K.
    pub ks: Vec<usize>,
    /// Attack names (spec §5, lower case).
    pub attacks: Vec<String>,
    /// Consensus rule names (as `poq aggregate --rule`).
    pub rules: Vec<String>,
    /// Trust policy names.
    pub trusts: Vec<String>,
    /// Trimming fraction τ of the trimmed mean.
    pub trim: f64,
    /// Gold fractions g the gold experiment compares.
    pub gold_fractions: Vec<f64>,
}

impl Default for Grid {
    fn default() -> Self {
        Self {
            rhos: vec![0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
            ks: vec![3, 5, 7, 9, 15],
            attacks: Attack::NAMES.iter().map(|s| s.to_string()).collect(),
            rules: ["mean", "median", "trimmed-mean", "weighted-mean", "weighted-median"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            trusts: ["none", "published", "calibrated", "crh", "catd", "gold"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            trim: poq_core::aggregate::DEFAULT_TRIM,
            gold_fractions: vec![0.0, 0.01, 0.02, 0.05, 0.1],
        }
    }
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Name printed in every output.
    pub name: String,
    /// Master seed of every random draw.
    pub seed: u64,
    /// Rounds per Monte Carlo cell.
    pub rounds: usize,
    /// Independent repetitions (seeds) per cell; results are averaged.
    pub seeds: usize,
    /// Fraction of prompts that are QA (the rest are summarization).
    pub qa_fraction: f64,
    /// The inference nodes.
    pub models: Vec<Model>,
    /// The evaluator pool.
    pub evaluators: Evaluators,
    /// Cost normalization.
    pub costs: Costs,
    /// Reward parameters (spec §4).
    pub rewards: RewardParams,
    /// Trust policy parameters (spec §3).
    pub trust: TrustParams,
    /// Attack parameters (spec §5).
    pub attack: AttackParams,
    /// Quorum and the missing-report rule.
    pub protocol: ProtocolParams,
    /// The sweep grid.
    pub grid: Grid,
}

fn model(name: &str, qa: f64, summarization: f64, latency: f64) -> Model {
    Model {
        name: name.to_string(),
        qa: Normal { mean: qa, sd: 1.5 },
        summarization: Normal {
            mean: summarization,
            sd: 1.2,
        },
        latency_ms: Normal {
            mean: latency,
            sd: latency * 0.15,
        },
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "default".to_string(),
            seed: 42,
            rounds: 5000,
            seeds: 1,
            qa_fraction: 0.5,
            // Five models from weak and slow to strong and fast, as in the published pool.
            models: vec![
                model("weak-slow", 3.5, 3.0, 1800.0),
                model("small", 4.5, 4.0, 1400.0),
                model("medium", 5.5, 5.0, 1100.0),
                model("large", 6.5, 6.0, 800.0),
                model("strong-fast", 7.5, 7.0, 500.0),
            ],
            evaluators: Evaluators::default(),
            costs: Costs::default(),
            rewards: RewardParams::default(),
            trust: TrustParams::default(),
            attack: AttackParams::default(),
            protocol: ProtocolParams::default(),
            grid: Grid::default(),
        }
    }
}

/// Most rounds per cell a scenario may ask for (each cell keeps two f64 per round).
pub const MAX_ROUNDS: usize = 100_000_000;
/// Most repetitions per cell.
pub const MAX_SEEDS: usize = 10_000;

fn invalid(name: &str, value: impl ToString, reason: &str) -> SimError {
    SimError::InvalidScenario {
        name: name.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn check_range(name: &str, r: [f64; 2], lo: f64) -> Result<()> {
    if !(r[0].is_finite() && r[1].is_finite() && r[0] >= lo && r[1] >= r[0]) {
        return Err(invalid(
            name,
            format!("{r:?}"),
            &format!("must be [low, high] with {lo} <= low <= high"),
        ));
    }
    Ok(())
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let scenario: Scenario = toml::from_str(&text).map_err(|e| SimError::Scenario {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks every value, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_ROUNDS).contains(&self.rounds) {
            return Err(invalid("rounds", self.rounds, "must be between 1 and 100,000,000"));
        }
        if !(1..=MAX_SEEDS).contains(&self.seeds) {
            return Err(invalid("seeds", self.seeds, "must be between 1 and 10,000"));
        }
        if !(0.0..=1.0).contains(&self.qa_fraction) {
            return Err(invalid("qa_fraction", self.qa_fraction, "must be in [0, 1]"));
        }
        if self.models.is_empty() {
            return Err(invalid("models", 0, "at least one model is required"));
        }
        for (i, m) in self.models.iter().enumerate() {
            for (field, n) in [
                ("qa", m.qa),
                ("summarization", m.summarization),
                ("latency_ms", m.latency_ms),
            ] {
                if !(n.mean.is_finite() && n.sd.is_finite() && n.sd >= 0.0) {
                    return Err(invalid(
                        &format!("models[{i}].{field}"),
                        format!("{{ mean = {}, sd = {} }}", n.mean, n.sd),
                        "mean must be finite and sd finite and >= 0",
                    ));
                }
            }
        }
        let e = &self.evaluators;
        if e.count < 2 {
            return Err(invalid("evaluators.count", e.count, "must be at least 2"));
        }
        check_range("evaluators.noise", e.noise, 0.0)?;
        check_range("evaluators.bias", e.bias, -10.0)?;
        check_range("evaluators.latency_ms", e.latency_ms, 0.0)?;
        for (name, v) in [
            ("evaluators.qa_alignment", e.qa_alignment),
            ("evaluators.summarization_alignment", e.summarization_alignment),
        ] {
            if !v.is_finite() {
                return Err(invalid(name, v, "must be finite"));
            }
        }
        if e.inverted > e.count {
            return Err(invalid(
                "evaluators.inverted",
                e.inverted,
                "cannot exceed evaluators.count",
            ));
        }
        if !(0.0..=1.0).contains(&self.protocol.quorum) {
            return Err(invalid(
                "protocol.quorum",
                self.protocol.quorum,
                "must be a fraction in [0, 1]",
            ));
        }
        if !(0.0..=1.0).contains(&self.protocol.gold_fraction) {
            return Err(invalid(
                "protocol.gold_fraction",
                self.protocol.gold_fraction,
                "must be a fraction in [0, 1]",
            ));
        }
        if !(0.0..1.0).contains(&self.protocol.gold_holdout) {
            return Err(invalid(
                "protocol.gold_holdout",
                self.protocol.gold_holdout,
                "must be a fraction in [0, 1)",
            ));
        }
        if self.protocol.gold_fraction > 0.0 && self.protocol.reveal_window == 0 {
            return Err(invalid(
                "protocol.reveal_window",
                0,
                "must be at least 1 when protocol.gold_fraction > 0",
            ));
        }
        for &g in &self.grid.gold_fractions {
            if !(0.0..=1.0).contains(&g) {
                return Err(invalid("grid.gold_fractions", g, "each must be a fraction in [0, 1]"));
            }
        }
        for (name, v) in [
            ("costs.inference_reference_ms", self.costs.inference_reference_ms),
            ("costs.evaluator_reference_ms", self.costs.evaluator_reference_ms),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(invalid(name, v, "must be > 0"));
            }
        }
        self.rewards.validate()?;
        self.trust.validate()?;
        let g = &self.grid;
        for &rho in &g.rhos {
            if !(0.0..=1.0).contains(&rho) {
                return Err(invalid("grid.rhos", rho, "each must be in [0, 1]"));
            }
        }
        for &k in &g.ks {
            if k == 0 || k > e.count {
                return Err(invalid("grid.ks", k, "each must be between 1 and evaluators.count"));
            }
        }
        self.attacks()?;
        self.rules()?;
        self.trusts()?;
        for (name, v) in [
            ("grid.rhos", g.rhos.len()),
            ("grid.ks", g.ks.len()),
            ("grid.gold_fractions", g.gold_fractions.len()),
        ] {
            if v == 0 {
                return Err(invalid(name, "[]", "must not be empty"));
            }
        }
        Ok(())
    }

    /// The grid's attacks, with this scenario's parameters.
    pub fn attacks(&self) -> Result<Vec<Attack>> {
        self.grid.attacks.iter().map(|a| self.attack.attack(a)).collect()
    }

    /// The grid's consensus rules.
    pub fn rules(&self) -> Result<Vec<Rule>> {
        Ok(self
            .grid
            .rules
            .iter()
            .map(|r| Rule::from_name(r, self.grid.trim))
            .collect::<poq_core::Result<_>>()?)
    }

    /// The grid's trust policies.
    pub fn trusts(&self) -> Result<Vec<TrustKind>> {
        Ok(self
            .grid
            .trusts
            .iter()
            .map(|t| TrustKind::from_name(t))
            .collect::<poq_core::Result<_>>()?)
    }

    /// The trust policy `kind` with this scenario's parameters, for `n` evaluators.
    pub fn trust(&self, kind: TrustKind, n: usize) -> Result<Trust> {
        Ok(kind.build(&self.trust, n)?)
    }

    /// The protocol configuration of a cell: this scenario's rewards, costs and quorum,
    /// with the cell's rule, committee size, missing-report rule and evaluator scaling.
    pub fn protocol_config(
        &self,
        rule: Rule,
        k: usize,
        missing: MissingReport,
        scaling: EvaluatorScaling,
    ) -> ProtocolConfig {
        ProtocolConfig {
            round: RoundConfig {
                rule,
                quorum: self.protocol.quorum_of(k),
                rewards: RewardParams {
                    evaluator_scaling: scaling,
                    ..self.rewards
                },
                inference_cost: CostScale::Reference {
                    reference: self.costs.inference_reference_ms,
                },
                evaluator_cost: CostScale::Reference {
                    reference: self.costs.evaluator_reference_ms,
                },
                missing,
            },
            committee_size: k,
            reveal_window: 0,
        }
    }

    /// Fits the scenario to a world it did not describe (a replay) with `n` evaluators:
    /// the pool is the world's, and committee sizes it cannot seat are dropped (the
    /// whole pool is the committee when none fits).
    pub fn fit_to_pool(&mut self, n: usize) {
        self.evaluators.count = n;
        self.evaluators.inverted = self.evaluators.inverted.min(n);
        self.grid.ks.retain(|&k| k <= n);
        if self.grid.ks.is_empty() {
            self.grid.ks.push(n);
        }
    }

    /// The demo preset (`scenarios/demo.toml`), which `poq demo` plays.
    pub fn demo() -> Result<Self> {
        let scenario: Scenario = toml::from_str(DEMO_TOML).map_err(|e| SimError::Scenario {
            path: "scenarios/demo.toml".into(),
            reason: e.to_string(),
        })?;
        scenario.validate()?;
        Ok(scenario)
    }
}

/// The demo preset, compiled in from `scenarios/demo.toml`.
pub const DEMO_TOML: &str = include_str!("../../../scenarios/demo.toml");
