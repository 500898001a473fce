//! The round state machine (spec §1): a committee is opened, reports are submitted, and
//! finalizing turns them into an [`Outcome`]: consensus, deviations, trust changes and
//! rewards.
//!
//! ```text
//!   open(config, id, node, cost, committee) ──► Collecting ──submit()*──► finalize(trust) ──► Finalized
//!                                                   │ rejects: non-member, duplicate,          │ rejects every
//!                                                   │ NaN / out-of-range score, bad cost       │ later call
//! ```
//!
//! Every rejection is a typed [`CoreError`] and leaves the round unchanged. `finalize`
//! validates everything before touching the trust policy and fails without side effects
//! when the quorum is not reached, so a caller can wait for more reports and try again;
//! once it succeeds the round is closed, so trust is updated and rewards paid exactly
//! once. The simulator and the node drive this same code.

use crate::aggregate::{self, Rule};
use crate::reward::{CostScale, RewardParams};
use crate::trust::{Report, TrustChange, TrustPolicy};
use crate::{CoreError, EvaluatorId, Result, SCORE_MAX, SCORE_MIN, TaskId};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// Everything a round needs to know besides its reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundConfig {
    /// The consensus rule.
    pub rule: Rule,
    /// Reports required to finalize; 0 means the whole committee.
    pub quorum: usize,
    /// Reward parameters.
    pub rewards: RewardParams,
    /// Normalization of the inference node's cost.
    pub inference_cost: CostScale,
    /// Normalization of evaluators' costs.
    pub evaluator_cost: CostScale,
}

impl Default for RoundConfig {
    fn default() -> Self {
        Self {
            rule: Rule::Median,
            quorum: 0,
            rewards: RewardParams::default(),
            inference_cost: CostScale::Reference { reference: 1.0 },
            evaluator_cost: CostScale::Reference { reference: 1.0 },
        }
    }
}

impl RoundConfig {
    /// Checks every part of the configuration.
    pub fn validate(&self) -> Result<()> {
        self.rule.validate()?;
        self.rewards.validate()?;
        self.inference_cost.validate()?;
        self.evaluator_cost.validate()
    }
}

/// A round collecting reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    config: RoundConfig,
    id: u64,
    inference_node: u32,
    inference_cost: f64,
    committee: Vec<EvaluatorId>,
    /// (score, normalized cost) per committee position.
    reports: Vec<Option<(f64, f64)>>,
    received: usize,
    finalized: bool,
    task: TaskId,
}

/// What one committee member's report led to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReportOutcome {
    /// The evaluator.
    pub evaluator: EvaluatorId,
    /// Its reported score.
    pub score: f64,
    /// dₑ = |sₑ − c| / 10.
    pub deviation: f64,
    /// Trust weight before the update (the one the consensus used).
    pub weight_before: f64,
    /// Trust weight after the update.
    pub weight_after: f64,
    /// Its reward for the round.
    pub reward: f64,
}

/// The result of a finalized round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Round number.
    pub round: u64,
    /// The inference node whose answer was scored.
    pub inference_node: u32,
    /// The consensus quality c in [0, 10].
    pub consensus: f64,
    /// For a trimmed mean: scores dropped per side (0 means it equalled the mean).
    pub trimmed_per_side: Option<usize>,
    /// The inference node's reward.
    pub inference_reward: f64,
    /// One entry per received report, in committee order.
    pub reports: Vec<ReportOutcome>,
    /// Committee members that did not report.
    pub missing: Vec<EvaluatorId>,
}

impl Round {
    /// Opens round `id` for `inference_node`'s answer with raw cost `inference_cost`,
    /// scored by `committee` (distinct ids below `pool_size`).
    pub fn open(
        config: RoundConfig,
        id: u64,
        inference_node: u32,
        inference_cost: f64,
        mut committee: Vec<EvaluatorId>,
        pool_size: usize,
    ) -> Result<Self> {
        config.validate()?;
        if committee.is_empty() || committee.len() > pool_size {
            return Err(CoreError::CommitteeSize {
                k: committee.len(),
                n: pool_size,
            });
        }
        if let Some(&evaluator) = committee.iter().find(|&&e| e as usize >= pool_size) {
            return Err(CoreError::UnknownEvaluator {
                evaluator,
                pool: pool_size,
            });
        }
        committee.sort_unstable();
        if let Some(w) = committee.windows(2).find(|w| w[0] == w[1]) {
            return Err(CoreError::DuplicateMember {
                evaluator: w[0],
                round: id,
            });
        }
        let inference_cost = config.inference_cost.normalize(inference_cost)?;
        let k = committee.len();
        Ok(Self {
            config,
            id,
            inference_node,
            inference_cost,
            committee,
            reports: vec![None; k],
            received: 0,
            finalized: false,
            task: 0,
        })
    }

    /// Sets the task of the prompt being scored (default 0), for trust policies that
    /// keep trust per task.
    pub fn for_task(mut self, task: TaskId) -> Self {
        self.task = task;
        self
    }

    /// The task of the prompt being scored.
    pub fn task(&self) -> TaskId {
        self.task
    }

    /// The round number.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The committee, sorted ascending.
    pub fn committee(&self) -> &[EvaluatorId] {
        &self.committee
    }

    /// Reports received so far.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Reports needed to finalize.
    pub fn quorum(&self) -> usize {
        if self.config.quorum == 0 {
            self.committee.len()
        } else {
            self.config.quorum.min(self.committee.len())
        }
    }

    /// Records `evaluator`'s score and raw cost. Rejects non-members, second reports,
    /// scores that are not finite or outside [0, 10], and invalid costs; a rejected
    /// report changes nothing.
    pub fn submit(&mut self, evaluator: EvaluatorId, score: f64, cost: f64) -> Result<()> {
        if self.finalized {
            return Err(CoreError::RoundClosed { round: self.id });
        }
        let Ok(pos) = self.committee.binary_search(&evaluator) else {
            return Err(CoreError::NotInCommittee {
                evaluator,
                round: self.id,
            });
        };
        if self.reports[pos].is_some() {
            return Err(CoreError::DuplicateReport {
                evaluator,
                round: self.id,
            });
        }
        if !(score.is_finite() && (SCORE_MIN..=SCORE_MAX).contains(&score)) {
            return Err(CoreError::InvalidReport {
                evaluator,
                round: self.id,
                value: score,
            });
        }
        let cost = self.config.evaluator_cost.normalize(cost)?;
        self.reports[pos] = Some((score, cost));
        self.received += 1;
        Ok(())
    }

    /// Whether the round has been finalized.
    pub fn is_finalized(&self) -> bool {
        self.finalized
    }

    /// Computes the outcome, updates `trust` and closes the round. Fails, changing
    /// nothing, when fewer than [`Round::quorum`] reports arrived, when the round is
    /// already closed, or when `trust` does not track every committee member.
    pub fn finalize<T: TrustPolicy + ?Sized>(&mut self, trust: &mut T) -> Result<Outcome> {
        if self.finalized {
            return Err(CoreError::RoundClosed { round: self.id });
        }
        if let Some(&evaluator) = self.committee.iter().find(|&&e| e as usize >= trust.pool_size()) {
            return Err(CoreError::UnknownEvaluator {
                evaluator,
                pool: trust.pool_size(),
            });
        }
        let need = self.quorum();
        if self.received < need {
            return Err(CoreError::QuorumNotReached {
                round: self.id,
                got: self.received,
                need,
            });
        }
        let k = self.committee.len();
        // Per-report buffers live on the stack for committees up to 32.
        let mut reports: SmallVec<[Report; 32]> = SmallVec::new();
        let mut costs: SmallVec<[f64; 32]> = SmallVec::new();
        let mut missing = Vec::new();
        for (&evaluator, slot) in self.committee.iter().zip(&self.reports) {
            match *slot {
                Some((score, cost)) => {
                    reports.push(Report { evaluator, score });
                    costs.push(cost);
                }
                None => missing.push(evaluator),
            }
        }
        let scores: SmallVec<[f64; 32]> = reports.iter().map(|r| r.score).collect();
        let weights: SmallVec<[f64; 32]> = reports
            .iter()
            .map(|r| trust.weight_for(r.evaluator, self.task))
            .collect();

        // c = Agg({s}, w): the only step that can still fail (a policy returning an
        // invalid weight), and it runs before any state changes.
        let rule = self.config.rule;
        let (consensus, trimmed_per_side) = match rule {
            Rule::TrimmedMean { trim } => {
                let t = aggregate::trimmed_mean(&scores, trim)?;
                (t.value, Some(t.per_side))
            }
            _ => (aggregate::aggregate(rule, &scores, Some(&weights))?, None),
        };

        let mut changes: Vec<TrustChange> = Vec::with_capacity(reports.len());
        trust.update_for(&reports, consensus, self.task, &mut changes);

        let rewards = self.config.rewards;
        let outcomes = reports
            .iter()
            .zip(&costs)
            .zip(&weights)
            .enumerate()
            .map(|(i, ((r, &cost), &w))| {
                // d = |s − c| / 10
                let deviation = (r.score - consensus).abs() / 10.0;
                ReportOutcome {
                    evaluator: r.evaluator,
                    score: r.score,
                    deviation,
                    weight_before: w,
                    weight_after: changes.get(i).map_or(w, |c| c.after),
                    reward: rewards.evaluator(k, deviation, cost),
                }
            })
            .collect();

        self.finalized = true;
        Ok(Outcome {
            round: self.id,
            inference_node: self.inference_node,
            consensus,
            trimmed_per_side,
            inference_reward: rewards.inference(consensus, self.inference_cost),
            reports: outcomes,
            missing,
        })
    }
}
