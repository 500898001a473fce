//! The round state machine (spec §1): a committee is opened, reports are submitted, and
//! the round ends finalized (an [`Outcome`]: consensus, deviations, trust changes and
//! rewards) or expired below its quorum (an [`Expiry`]).
//!
//! ```text
//!   open(config, spec, committee) ──► Collecting ──submit()*──┬─► finalize(trust) ──► Finalized
//!                                        │ rejects: non-member,  │   needs the quorum
//!                                        │ duplicate, NaN /      └─► expire(trust) ───► Expired
//!                                        │ out-of-range score,       only below the quorum
//!                                        │ bad cost                  (both reject every later call)
//! ```
//!
//! Every rejection is a typed [`CoreError`] and leaves the round unchanged. `finalize`
//! validates everything before touching the trust policy and fails without side effects
//! when the quorum is not reached, so a caller can wait for more reports and try again;
//! once it succeeds the round is closed, so trust is updated and rewards paid exactly
//! once. Rounds are opened and closed by [`crate::protocol::Protocol`], which the
//! simulator and the node drive alike.
//!
//! **Members who do not report** are treated by [`MissingReport`]: by default as a
//! report at the maximum deviation for trust ([`TrustPolicy::penalize_missing`]) and
//! paid as one ([`RewardParams::missing_evaluator`]: nothing unless slashing is on), on
//! finalization and on expiry alike: silence never earns more than a report would
//! have, costs trust like the worst report, and forcing a round to expire does not
//! dodge the rule.

use crate::aggregate::{self, Rule};
use crate::reward::{CostScale, RewardParams};
use crate::trust::{Report, TrustChange, TrustPolicy};
use crate::{CoreError, EvaluatorId, NodeId, Result, RoundId, SCORE_MAX, SCORE_MIN, Task};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// One value per committee member, on the stack for committees up to 32.
type PerMember = SmallVec<[f64; 32]>;

/// What happens to a committee member that does not report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissingReport {
    /// A report at the maximum deviation: trust falls as for the worst report, and it
    /// is paid as one (nothing unless slashing is on). The default.
    #[default]
    Penalize,
    /// Nothing happens: no trust change, no reward. Lets an evaluator abstain whenever
    /// reporting would cost it trust; kept to measure exactly that.
    Ignore,
}

impl MissingReport {
    /// Every rule, for sweeps.
    pub const ALL: [MissingReport; 2] = [MissingReport::Penalize, MissingReport::Ignore];

    /// The name as scenario files spell it.
    pub fn name(self) -> &'static str {
        match self {
            MissingReport::Penalize => "penalize",
            MissingReport::Ignore => "ignore",
        }
    }
}

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
    /// What happens to members that do not report.
    #[serde(default)]
    pub missing: MissingReport,
}

impl Default for RoundConfig {
    fn default() -> Self {
        Self {
            rule: Rule::Median,
            quorum: 0,
            rewards: RewardParams::default(),
            inference_cost: CostScale::Reference { reference: 1.0 },
            evaluator_cost: CostScale::Reference { reference: 1.0 },
            missing: MissingReport::Penalize,
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

/// What is being scored: the answer of one inference node to one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundSpec {
    /// The round's id.
    pub id: RoundId,
    /// The inference node that answered.
    pub node: NodeId,
    /// The prompt's task.
    pub task: Task,
    /// The inference node's raw cost (latency in ms, tokens, price).
    pub inference_cost: f64,
}

/// A report slot: the score and the normalized cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Slot {
    score: f64,
    cost: f64,
}

/// Where a round stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Taking reports.
    Collecting,
    /// Finalized: consensus computed, trust updated, rewards paid.
    Finalized,
    /// Expired below its quorum.
    Expired,
}

/// A round collecting reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round {
    config: RoundConfig,
    id: RoundId,
    node: NodeId,
    task: Task,
    /// ĉ_f, normalized when the round opened.
    inference_cost: f64,
    /// Sorted ascending, distinct.
    committee: Vec<EvaluatorId>,
    /// One slot per committee position.
    reports: Vec<Option<Slot>>,
    received: usize,
    phase: Phase,
}

/// What one committee member's report led to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReportOutcome {
    /// The evaluator.
    pub evaluator: EvaluatorId,
    /// Its reported score.
    pub score: f64,
    /// The score as consensus used it: the trust policy's calibration of `score`
    /// ([`TrustPolicy::calibrate`]), equal to it unless the policy calibrates.
    pub calibrated: f64,
    /// dₑ = |sₑ − c| / 10, on the calibrated score.
    pub deviation: f64,
    /// Trust weight before the update (the one the consensus used).
    pub weight_before: f64,
    /// Trust weight after the update.
    pub weight_after: f64,
    /// Its reward for the round.
    pub reward: f64,
}

/// What happened to a committee member that did not report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MissingOutcome {
    /// The evaluator.
    pub evaluator: EvaluatorId,
    /// Trust weight before the round.
    pub weight_before: f64,
    /// Trust weight after it (equal under [`MissingReport::Ignore`]).
    pub weight_after: f64,
    /// Its reward: 0 unless slashing is on under [`MissingReport::Penalize`].
    pub reward: f64,
}

/// The result of a finalized round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The round.
    pub round: RoundId,
    /// The inference node whose answer was scored.
    pub inference_node: NodeId,
    /// The prompt's task.
    pub task: Task,
    /// The consensus quality c in [0, 10].
    pub consensus: f64,
    /// For a trimmed mean: scores dropped per side (0 means it equalled the mean).
    pub trimmed_per_side: Option<usize>,
    /// The inference node's reward.
    pub inference_reward: f64,
    /// One entry per received report, in committee order.
    pub reports: Vec<ReportOutcome>,
    /// Committee members that did not report, in committee order.
    pub missing: Vec<MissingOutcome>,
}

impl Outcome {
    /// Every reward the round paid: the inference node's plus every evaluator's.
    pub fn total_paid(&self) -> f64 {
        self.inference_reward
            + self.reports.iter().map(|r| r.reward).sum::<f64>()
            + self.missing.iter().map(|m| m.reward).sum::<f64>()
    }
}

/// The result of a round that expired below its quorum: no consensus, no inference
/// reward; silent members treated by the missing-report rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expiry {
    /// The round.
    pub round: RoundId,
    /// The inference node whose answer went unscored.
    pub inference_node: NodeId,
    /// The prompt's task.
    pub task: Task,
    /// Reports received.
    pub received: usize,
    /// Reports that were needed.
    pub quorum: usize,
    /// Committee members that did not report, in committee order.
    pub missing: Vec<MissingOutcome>,
}

impl Round {
    /// Opens round `spec.id` for `spec.node`'s answer, scored by `committee` (distinct
    /// ids below `pool_size`). The configuration and the cost are checked here.
    pub fn open(
        config: RoundConfig,
        spec: RoundSpec,
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
        if let Some(&evaluator) = committee.iter().find(|&&e| e.index() >= pool_size) {
            return Err(CoreError::UnknownEvaluator {
                evaluator,
                pool: pool_size,
            });
        }
        committee.sort_unstable();
        if let Some(w) = committee.windows(2).find(|w| w[0] == w[1]) {
            return Err(CoreError::DuplicateMember {
                evaluator: w[0],
                round: spec.id,
            });
        }
        let inference_cost = config.inference_cost.normalize(spec.inference_cost)?;
        let k = committee.len();
        Ok(Self {
            config,
            id: spec.id,
            node: spec.node,
            task: spec.task,
            inference_cost,
            committee,
            reports: vec![None; k],
            received: 0,
            phase: Phase::Collecting,
        })
    }

    /// The task of the prompt being scored.
    pub fn task(&self) -> Task {
        self.task
    }

    /// The round's id.
    pub fn id(&self) -> RoundId {
        self.id
    }

    /// The inference node whose answer is scored.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The round's configuration.
    pub fn config(&self) -> &RoundConfig {
        &self.config
    }

    /// The committee, sorted ascending.
    pub fn committee(&self) -> &[EvaluatorId] {
        &self.committee
    }

    /// Reports received so far.
    pub fn received(&self) -> usize {
        self.received
    }

    /// The score `evaluator` reported, if it is a member and has reported.
    pub fn report_of(&self, evaluator: EvaluatorId) -> Option<f64> {
        let pos = self.committee.binary_search(&evaluator).ok()?;
        self.reports[pos].map(|s| s.score)
    }

    /// Reports needed to finalize.
    pub fn quorum(&self) -> usize {
        if self.config.quorum == 0 {
            self.committee.len()
        } else {
            self.config.quorum.min(self.committee.len())
        }
    }

    /// Where the round stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether the round has been finalized.
    pub fn is_finalized(&self) -> bool {
        self.phase == Phase::Finalized
    }

    fn check_open(&self) -> Result<()> {
        match self.phase {
            Phase::Collecting => Ok(()),
            Phase::Finalized | Phase::Expired => Err(CoreError::RoundClosed { round: self.id }),
        }
    }

    /// Records `evaluator`'s score and raw cost. Rejects non-members, second reports,
    /// scores that are not finite or outside [0, 10], and invalid costs; a rejected
    /// report changes nothing.
    pub fn submit(&mut self, evaluator: EvaluatorId, score: f64, cost: f64) -> Result<()> {
        self.check_open()?;
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
        self.reports[pos] = Some(Slot { score, cost });
        self.received += 1;
        Ok(())
    }

    fn check_tracked<T: TrustPolicy + ?Sized>(&self, trust: &T) -> Result<()> {
        match self.committee.iter().find(|&&e| e.index() >= trust.pool_size()) {
            Some(&evaluator) => Err(CoreError::UnknownEvaluator {
                evaluator,
                pool: trust.pool_size(),
            }),
            None => Ok(()),
        }
    }

    /// Applies the missing-report rule to every silent member; `weights` and `shares`
    /// hold each committee position's weight before the round and budget share.
    fn settle_missing<T: TrustPolicy + ?Sized>(
        &self,
        trust: &mut T,
        weights: &[f64],
        shares: &[f64],
    ) -> Vec<MissingOutcome> {
        let mut missing = Vec::new();
        for (i, (&evaluator, slot)) in self.committee.iter().zip(&self.reports).enumerate() {
            if slot.is_some() {
                continue;
            }
            missing.push(match self.config.missing {
                MissingReport::Penalize => MissingOutcome {
                    evaluator,
                    weight_before: weights[i],
                    weight_after: trust.penalize_missing(evaluator, self.task).after,
                    reward: self.config.rewards.missing_evaluator(shares[i]),
                },
                MissingReport::Ignore => MissingOutcome {
                    evaluator,
                    weight_before: weights[i],
                    weight_after: trust.weight_for(evaluator, self.task),
                    reward: 0.0,
                },
            });
        }
        missing
    }

    /// Every committee position's weight before the round (checked finite and positive,
    /// so a bad policy fails here, before any state changes) and budget share.
    fn weights_and_shares<T: TrustPolicy + ?Sized>(&self, trust: &T) -> Result<(PerMember, PerMember)> {
        let weights: PerMember = self.committee.iter().map(|&e| trust.weight_for(e, self.task)).collect();
        aggregate::validate_weights(&weights, &weights)?;
        let k = self.committee.len();
        let sum: f64 = weights.iter().sum();
        let shares = weights
            .iter()
            .map(|&w| self.config.rewards.evaluator_share(k, w, sum))
            .collect();
        Ok((weights, shares))
    }

    /// Computes the outcome, updates `trust` and closes the round. Fails, changing
    /// nothing, when fewer than [`Round::quorum`] reports arrived, when the round is
    /// already closed, or when `trust` does not track every committee member.
    pub fn finalize<T: TrustPolicy + ?Sized>(&mut self, trust: &mut T) -> Result<Outcome> {
        self.check_open()?;
        self.check_tracked(trust)?;
        let need = self.quorum();
        if self.received < need {
            return Err(CoreError::QuorumNotReached {
                round: self.id,
                got: self.received,
                need,
            });
        }
        // Per-member buffers live on the stack for committees up to 32.
        let (all_weights, shares) = self.weights_and_shares(trust)?;
        let mut reports: SmallVec<[Report; 32]> = SmallVec::new();
        let mut costs: SmallVec<[f64; 32]> = SmallVec::new();
        let mut weights: SmallVec<[f64; 32]> = SmallVec::new();
        let mut report_shares: SmallVec<[f64; 32]> = SmallVec::new();
        for (i, (&evaluator, slot)) in self.committee.iter().zip(&self.reports).enumerate() {
            if let Some(s) = slot {
                reports.push(Report {
                    evaluator,
                    score: s.score,
                });
                costs.push(s.cost);
                weights.push(all_weights[i]);
                report_shares.push(shares[i]);
            }
        }
        // The scores consensus uses: each report on the policy's scale (the identity
        // unless the policy calibrates).
        let task = self.task;
        let scores: SmallVec<[f64; 32]> = reports
            .iter()
            .map(|r| trust.calibrate(r.evaluator, task, r.score))
            .collect();

        // c = Agg({s}, w): the only step that can still fail, and it runs before any
        // state changes.
        let rule = self.config.rule;
        let (consensus, trimmed_per_side) = match rule {
            Rule::TrimmedMean { trim } => {
                let t = aggregate::trimmed_mean(&scores, trim)?;
                (t.value, Some(t.per_side))
            }
            _ => (aggregate::aggregate(rule, &scores, Some(&weights))?, None),
        };

        let mut changes: Vec<TrustChange> = Vec::with_capacity(reports.len());
        trust.update(&reports, consensus, self.task, &mut changes);
        let missing = self.settle_missing(trust, &all_weights, &shares);

        let rewards = self.config.rewards;
        let outcomes = reports
            .iter()
            .enumerate()
            .map(|(i, r)| {
                // d = |s − c| / 10, with s as consensus used it
                let deviation = (scores[i] - consensus).abs() / 10.0;
                ReportOutcome {
                    evaluator: r.evaluator,
                    score: r.score,
                    calibrated: scores[i],
                    deviation,
                    weight_before: weights[i],
                    weight_after: changes.get(i).map_or(weights[i], |c| c.after),
                    reward: rewards.evaluator_with_share(report_shares[i], deviation, costs[i]),
                }
            })
            .collect();

        self.phase = Phase::Finalized;
        Ok(Outcome {
            round: self.id,
            inference_node: self.node,
            task: self.task,
            consensus,
            trimmed_per_side,
            inference_reward: rewards.inference(consensus, self.inference_cost),
            reports: outcomes,
            missing,
        })
    }

    /// Closes a round that did not reach its quorum: no consensus and no inference
    /// reward; silent members are treated by the missing-report rule (members that did
    /// report are left alone: there is no consensus to judge them by). Fails, changing
    /// nothing, when the quorum was reached (finalize it instead), when the round is
    /// already closed, or when `trust` does not track every committee member.
    pub fn expire<T: TrustPolicy + ?Sized>(&mut self, trust: &mut T) -> Result<Expiry> {
        self.check_open()?;
        self.check_tracked(trust)?;
        let need = self.quorum();
        if self.received >= need {
            return Err(CoreError::QuorumReached {
                round: self.id,
                got: self.received,
                need,
            });
        }
        let (all_weights, shares) = self.weights_and_shares(trust)?;
        let missing = self.settle_missing(trust, &all_weights, &shares);
        self.phase = Phase::Expired;
        Ok(Expiry {
            round: self.id,
            inference_node: self.node,
            task: self.task,
            received: self.received,
            quorum: need,
            missing,
        })
    }

    /// Checks a deserialized open round: collecting, a valid configuration, a sorted committee of
    /// distinct members below `pool_size`, one slot per member, a received count that
    /// matches, and every stored score and cost in range.
    pub fn validate(&self, pool_size: usize) -> Result<()> {
        let bad = |reason: String| CoreError::InvalidSnapshot {
            reason: format!("{}: {reason}", self.id),
        };
        self.config.validate()?;
        if self.phase != Phase::Collecting {
            return Err(bad(format!("is {:?}, but only collecting rounds are open", self.phase)));
        }
        if self.committee.is_empty() || self.committee.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad(format!(
                "committee {:?} is not sorted and distinct",
                self.committee
            )));
        }
        if let Some(e) = self.committee.iter().find(|e| e.index() >= pool_size) {
            return Err(bad(format!(
                "committee member {e} is not registered ({pool_size} evaluators)"
            )));
        }
        if self.reports.len() != self.committee.len() {
            return Err(bad(format!(
                "{} report slots for {} members",
                self.reports.len(),
                self.committee.len()
            )));
        }
        let count = self.reports.iter().filter(|r| r.is_some()).count();
        if count != self.received {
            return Err(bad(format!(
                "received is {} but {count} slots are filled",
                self.received
            )));
        }
        let in_unit = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        if !in_unit(self.inference_cost) {
            return Err(bad(format!(
                "normalized inference cost {} is not in [0, 1]",
                self.inference_cost
            )));
        }
        for s in self.reports.iter().flatten() {
            if !(s.score.is_finite() && (SCORE_MIN..=SCORE_MAX).contains(&s.score) && in_unit(s.cost)) {
                return Err(bad(format!(
                    "stored report (score {}, cost {}) is out of range",
                    s.score, s.cost
                )));
            }
        }
        Ok(())
    }

    /// Appends the canonical encoding: id, node (u64), task index (u8), normalized
    /// inference cost, phase (u8: 0 collecting, 1 finalized, 2 expired), the committee
    /// (a count, then each id as u64), then per slot a tag (0 empty, 1 filled) followed
    /// for a filled slot by the score and the normalized cost. The configuration is the
    /// protocol's and is encoded there.
    pub fn encode(&self, enc: &mut crate::encoding::Encoder) {
        enc.u64(self.id.0)
            .u64(u64::from(self.node.0))
            .u8(self.task.index() as u8)
            .f64(self.inference_cost)
            .u8(match self.phase {
                Phase::Collecting => 0,
                Phase::Finalized => 1,
                Phase::Expired => 2,
            })
            .usize(self.committee.len());
        for e in &self.committee {
            enc.u64(u64::from(e.0));
        }
        for slot in &self.reports {
            match slot {
                None => {
                    enc.u8(0);
                }
                Some(s) => {
                    enc.u8(1).f64(s.score).f64(s.cost);
                }
            }
        }
    }
}
