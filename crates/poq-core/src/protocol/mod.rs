//! The protocol: the one owner of everything between rounds.
//!
//! A [`crate::round::Round`] knows one round. Everything a round needs from the rounds
//! before it lives here, in one value: the configuration, the registry of evaluators
//! (ids and the tasks each scores) and inference nodes, the trust policy's state, the
//! reward book, the public history (last consensus; reference trust is computed from
//! trust), the next round id and the rounds still open. It is the only code that opens
//! rounds, updates trust and books rewards; the simulator and the node drive it with
//! the same calls:
//!
//! ```text
//!   open(beacon, node, task, cost) ─► RoundId ─► submit(id, evaluator, score, cost)* ─► close(id)
//!        committee from seed(beacon, id)                                                 ├─ finalize: Outcome (trust, book, history)
//!                                                                                        └─ expire:   Expiry  (missing-report rule only)
//!   reveal(id, truth) ─► Reveal  (a finalized spot-check's truth: trust learns from gold)
//! ```
//!
//! **Gold spot-checks.** Some rounds are spot-checks: prompts whose reference answer is
//! known to whoever submitted them. Nothing distinguishes them while they are open or
//! when they finalize: the protocol keeps the reports of the last
//! [`ProtocolConfig::reveal_window`] finalized rounds, and [`Protocol::reveal`] names
//! one of them with its truth (token F1 or ROUGE-L × 10 against the reference) after
//! the fact, when the trust policy learns from it ([`TrustPolicy::learn_gold`]). Since
//! any finalized round could still be revealed, an evaluator cannot tell from the
//! protocol which of its rounds were checks until its reports are in and counted. A
//! round is revealed at most once. On the network the submitter commits to the
//! reference's hash when it submits the request and reveals the reference after
//! finalization, so every node computes the same truth.
//!
//! Every call either succeeds or fails with a typed error and no change at all: a failed
//! finalize leaves [`Protocol::state_digest`] as it was.
//!
//! **Snapshots.** The whole state serializes (serde, through [`Snapshot`]) and restores
//! with every invariant checked ([`Protocol::restore`]). [`Protocol::state_digest`] is
//! SHA-256 over a canonical encoding ([`crate::encoding`]); two protocols that applied
//! the same calls have the same digest, whether one was restored from a snapshot midway
//! or not, because scratch buffers are neither serialized nor encoded.
//!
//! **Digest layout** (after the 12-byte prefix `poq/state/v2`): the configuration (rule:
//! a tag u8, 0 mean, 1 median, 2 trimmed mean followed by τ, 3 weighted mean, 4 weighted
//! median; quorum; α, β, α_e, β_e, B_eval; slashing (bool); evaluator scaling (u8: 0
//! flat, 1 trust); the two cost scales (tag 0 min–max followed by min and max, tag 1
//! reference followed by it); the missing-report rule (u8: 0 penalize, 1 ignore);
//! committee size; reveal window), the registry (evaluator count, then per evaluator its task count
//! and task indices as u8; inference node count), the trust state
//! ([`crate::trust::Trust::encode`]), the book ([`RewardBook::encode`]), the last
//! consensus (optional f64), rounds closed, next round id, the open rounds (a
//! count, then each in id order, [`crate::round::Round::encode`]), and the rounds
//! awaiting a truth (a count, then each in finalization order: id, task index as u8,
//! and its reports, a count then evaluator id as u32 and score as f64 each).

mod book;
mod seed;

pub use book::RewardBook;
pub use seed::{COMMITTEE_SEED_DOMAIN, committee_seed};

use crate::aggregate::Rule;
use crate::attack::History;
use crate::committee::sample_uniform;
use crate::encoding::Encoder;
use crate::reward::{CostScale, EvaluatorScaling};
use crate::round::{Expiry, MissingReport, Outcome, Round, RoundConfig, RoundSpec};
use crate::trust::{Report, Trust, TrustChange, TrustPolicy};
use crate::{CoreError, EvaluatorId, NodeId, Result, RoundId, SCORE_MAX, SCORE_MIN, Task};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::collections::VecDeque;

/// The version of [`Snapshot`]'s layout.
pub const SNAPSHOT_VERSION: u32 = 1;

/// What every round of a protocol shares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolConfig {
    /// Consensus rule, quorum, rewards, cost scales and the missing-report rule.
    pub round: RoundConfig,
    /// K: evaluators drawn per round.
    pub committee_size: usize,
    /// How many of the most recently finalized rounds keep their reports so that a
    /// gold truth can still be revealed for them (0: no spot-checks). Absent in a
    /// configuration file, 0.
    #[serde(default)]
    pub reveal_window: usize,
}

impl ProtocolConfig {
    /// Checks every value.
    pub fn validate(&self) -> Result<()> {
        self.round.validate()?;
        if self.committee_size == 0 {
            return Err(CoreError::CommitteeSize { k: 0, n: 0 });
        }
        if self.round.quorum > self.committee_size {
            return Err(CoreError::InvalidParameter {
                name: "quorum",
                value: self.round.quorum as f64,
                reason: "must not exceed the committee size (0 means the whole committee)",
            });
        }
        Ok(())
    }
}

/// One evaluator's registration: the tasks it scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The tasks, sorted and distinct.
    pub tasks: Vec<Task>,
}

impl Registration {
    /// An evaluator scoring every task.
    pub fn all_tasks() -> Self {
        Self {
            tasks: Task::ALL.to_vec(),
        }
    }

    /// An evaluator scoring `tasks` (sorted and deduplicated here).
    pub fn new(mut tasks: Vec<Task>) -> Self {
        tasks.sort_unstable();
        tasks.dedup();
        Self { tasks }
    }
}

/// How a round ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Closed {
    /// Finalized with its quorum.
    Finalized(Outcome),
    /// Expired below its quorum.
    Expired(Expiry),
}

/// The whole protocol state, as it serializes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// [`SNAPSHOT_VERSION`].
    pub version: u32,
    /// The configuration.
    pub config: ProtocolConfig,
    /// The evaluator registry, by id.
    pub evaluators: Vec<Registration>,
    /// Registered inference nodes.
    pub nodes: usize,
    /// The trust policy and its state.
    pub trust: Trust,
    /// Rewards so far.
    pub book: RewardBook,
    /// The last published consensus.
    pub last_consensus: Option<f64>,
    /// Rounds finalized or expired.
    pub closed: u64,
    /// The id the next round gets.
    pub next_round: RoundId,
    /// Rounds still open, in id order.
    pub open: Vec<Round>,
    /// Finalized rounds a gold truth may still be revealed for, oldest first.
    #[serde(default)]
    pub revealable: Vec<Revealable>,
}

/// A finalized round kept so that a gold truth can be revealed for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revealable {
    /// The round.
    pub round: RoundId,
    /// Its task.
    pub task: Task,
    /// Its reports, in committee order (raw scores, as submitted).
    pub reports: Vec<RevealableReport>,
}

/// One report of a [`Revealable`] round.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevealableReport {
    /// Who reported.
    pub evaluator: EvaluatorId,
    /// The score.
    pub score: f64,
}

/// What revealing a spot-check's truth did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reveal {
    /// The round.
    pub round: RoundId,
    /// Its task.
    pub task: Task,
    /// The revealed truth.
    pub truth: f64,
    /// One change per report, in report order, in the task's weights.
    pub changes: Vec<TrustChange>,
}

/// The protocol state machine (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Snapshot", try_from = "Snapshot")]
pub struct Protocol {
    config: ProtocolConfig,
    evaluators: Vec<Registration>,
    nodes: usize,
    trust: Trust,
    book: RewardBook,
    last_consensus: Option<f64>,
    closed: u64,
    next_round: RoundId,
    open: BTreeMap<RoundId, Round>,
    /// Finalized rounds awaiting a possible truth, oldest first, at most
    /// `config.reveal_window`.
    revealable: VecDeque<Revealable>,
    /// Per task index, the evaluators registered for it, ascending (derived from the
    /// registry).
    eligible: Vec<Vec<EvaluatorId>>,
}

fn eligible_of(evaluators: &[Registration]) -> Vec<Vec<EvaluatorId>> {
    Task::ALL
        .iter()
        .map(|t| {
            (0..evaluators.len() as u32)
                .map(EvaluatorId)
                .filter(|e| evaluators[e.index()].tasks.contains(t))
                .collect()
        })
        .collect()
}

fn invalid(reason: String) -> CoreError {
    CoreError::InvalidSnapshot { reason }
}

impl Protocol {
    /// A protocol with `evaluators` registered (ids in order) and `nodes` inference
    /// nodes; `trust` must track exactly the registered evaluators.
    pub fn new(config: ProtocolConfig, trust: Trust, evaluators: Vec<Registration>, nodes: usize) -> Result<Self> {
        config.validate()?;
        if let Some(index) = evaluators.iter().position(|r| r.tasks.is_empty()) {
            return Err(CoreError::NoTasks { index });
        }
        if trust.pool_size() != evaluators.len() {
            return Err(CoreError::PoolMismatch {
                trust: trust.pool_size(),
                registered: evaluators.len(),
            });
        }
        let evaluators: Vec<Registration> = evaluators.into_iter().map(|r| Registration::new(r.tasks)).collect();
        Ok(Self {
            config,
            book: RewardBook::new(nodes, evaluators.len()),
            eligible: eligible_of(&evaluators),
            evaluators,
            nodes,
            trust,
            last_consensus: None,
            closed: 0,
            next_round: RoundId(0),
            open: BTreeMap::new(),
            revealable: VecDeque::new(),
        })
    }

    /// Registers one more evaluator for `tasks`; it starts at the trust policy's prior.
    pub fn register_evaluator(&mut self, tasks: Vec<Task>) -> Result<EvaluatorId> {
        let registration = Registration::new(tasks);
        if registration.tasks.is_empty() {
            return Err(CoreError::NoTasks {
                index: self.evaluators.len(),
            });
        }
        let id = EvaluatorId(self.evaluators.len() as u32);
        for t in &registration.tasks {
            self.eligible[t.index()].push(id);
        }
        self.evaluators.push(registration);
        self.trust.grow();
        self.book.resize(self.nodes, self.evaluators.len());
        Ok(id)
    }

    /// Registers one more inference node.
    pub fn register_node(&mut self) -> NodeId {
        let id = NodeId(self.nodes as u32);
        self.nodes += 1;
        self.book.resize(self.nodes, self.evaluators.len());
        id
    }

    /// The configuration.
    pub fn config(&self) -> &ProtocolConfig {
        &self.config
    }

    /// Registered evaluators.
    pub fn evaluators(&self) -> usize {
        self.evaluators.len()
    }

    /// Registered inference nodes.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// The evaluators registered for `task`, ascending.
    pub fn eligible(&self, task: Task) -> &[EvaluatorId] {
        &self.eligible[task.index()]
    }

    /// The trust policy and its state.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// The weight a round of `task` gives `evaluator`.
    pub fn weight(&self, evaluator: EvaluatorId, task: Task) -> f64 {
        self.trust.weight_for(evaluator, task)
    }

    /// The reward book.
    pub fn book(&self) -> &RewardBook {
        &self.book
    }

    /// The last published consensus.
    pub fn last_consensus(&self) -> Option<f64> {
        self.last_consensus
    }

    /// The id the next opened round gets.
    pub fn next_round(&self) -> RoundId {
        self.next_round
    }

    /// An open round.
    pub fn round(&self, id: RoundId) -> Option<&Round> {
        self.open.get(&id)
    }

    /// The open rounds, in id order.
    pub fn open_rounds(&self) -> impl Iterator<Item = &Round> {
        self.open.values()
    }

    /// The pool's reference trust for `task`: the upper median of the published
    /// weights of the evaluators registered for it (1 when none is).
    pub fn reference_trust(&self, task: Task) -> f64 {
        let mut w: smallvec::SmallVec<[f64; 64]> = self.eligible[task.index()]
            .iter()
            .map(|&e| self.trust.weight_for(e, task))
            .collect();
        if w.is_empty() {
            return 1.0;
        }
        let mid = w.len() / 2;
        let (_, m, _) = w.select_nth_unstable_by(mid, f64::total_cmp);
        *m
    }

    /// What an attacker can see when scoring open round `id`: the round's id, the last
    /// published consensus and the reference trust of the round's task.
    pub fn history(&self, id: RoundId) -> Result<History> {
        let round = self.open.get(&id).ok_or(CoreError::UnknownRound { round: id })?;
        Ok(History {
            round: id.0,
            last_consensus: self.last_consensus,
            reference_trust: self.reference_trust(round.task()),
        })
    }

    /// Opens the next round for `node`'s answer to a prompt of `task`, with raw cost
    /// `inference_cost`; its committee of K is drawn from
    /// [`committee_seed`]`(beacon, id)` among the evaluators registered for `task`.
    pub fn open(&mut self, beacon: &[u8; 32], node: NodeId, task: Task, inference_cost: f64) -> Result<RoundId> {
        if node.index() >= self.nodes {
            return Err(CoreError::UnknownNode {
                node,
                nodes: self.nodes,
            });
        }
        let id = self.next_round;
        let eligible = &self.eligible[task.index()];
        let seed = committee_seed(beacon, id);
        let committee = sample_uniform(&seed, eligible.len(), self.config.committee_size)?
            .into_iter()
            .map(|p| eligible[p as usize])
            .collect();
        let spec = RoundSpec {
            id,
            node,
            task,
            inference_cost,
        };
        let round = Round::open(self.config.round, spec, committee, self.evaluators.len())?;
        self.open.insert(id, round);
        self.next_round = RoundId(id.0 + 1);
        Ok(id)
    }

    fn open_mut(&mut self, id: RoundId) -> Result<&mut Round> {
        self.open.get_mut(&id).ok_or(CoreError::UnknownRound { round: id })
    }

    /// Records `evaluator`'s report for open round `id` (see [`Round::submit`]).
    pub fn submit(&mut self, id: RoundId, evaluator: EvaluatorId, score: f64, cost: f64) -> Result<()> {
        self.open_mut(id)?.submit(evaluator, score, cost)
    }

    /// Finalizes open round `id`: consensus, trust updates, rewards booked, history
    /// advanced, round closed. Fails with no change below the quorum.
    pub fn finalize(&mut self, id: RoundId) -> Result<Outcome> {
        let round = self.open.get_mut(&id).ok_or(CoreError::UnknownRound { round: id })?;
        let outcome = round.finalize(&mut self.trust)?;
        self.open.remove(&id);
        if self.config.reveal_window > 0 {
            if self.revealable.len() == self.config.reveal_window {
                self.revealable.pop_front();
            }
            self.revealable.push_back(Revealable {
                round: id,
                task: outcome.task,
                reports: outcome
                    .reports
                    .iter()
                    .map(|r| RevealableReport {
                        evaluator: r.evaluator,
                        score: r.score,
                    })
                    .collect(),
            });
        }
        self.book.record(&outcome);
        self.last_consensus = Some(outcome.consensus);
        self.closed += 1;
        Ok(outcome)
    }

    /// Expires open round `id` below its quorum: the missing-report rule for its silent
    /// members, nothing else. Fails with no change when the quorum was reached.
    pub fn expire(&mut self, id: RoundId) -> Result<Expiry> {
        let round = self.open.get_mut(&id).ok_or(CoreError::UnknownRound { round: id })?;
        let expiry = round.expire(&mut self.trust)?;
        self.open.remove(&id);
        self.book.record_expiry(&expiry);
        self.closed += 1;
        Ok(expiry)
    }

    /// Reveals the truth of finalized round `id`, a gold spot-check: the trust policy
    /// learns from its reports against `truth` ([`TrustPolicy::learn_gold`]) and the
    /// round can no longer be revealed. Fails with no change when `truth` is not a
    /// score or `id` is not among the rounds awaiting one.
    pub fn reveal(&mut self, id: RoundId, truth: f64) -> Result<Reveal> {
        if !(truth.is_finite() && (SCORE_MIN..=SCORE_MAX).contains(&truth)) {
            return Err(CoreError::InvalidTruth {
                round: id,
                value: truth,
            });
        }
        let at = self
            .revealable
            .iter()
            .position(|r| r.round == id)
            .ok_or(CoreError::NotRevealable {
                round: id,
                window: self.config.reveal_window,
            })?;
        let Some(r) = self.revealable.remove(at) else {
            unreachable!("position {at} was just found");
        };
        let reports: Vec<Report> = r
            .reports
            .iter()
            .map(|x| Report {
                evaluator: x.evaluator,
                score: x.score,
            })
            .collect();
        let mut changes = Vec::with_capacity(reports.len());
        self.trust.learn_gold(&reports, truth, r.task, &mut changes);
        Ok(Reveal {
            round: id,
            task: r.task,
            truth,
            changes,
        })
    }

    /// The finalized rounds a truth may still be revealed for, oldest first.
    pub fn revealable(&self) -> impl Iterator<Item = &Revealable> {
        self.revealable.iter()
    }

    /// Closes open round `id` at its deadline: finalized if it reached its quorum,
    /// expired otherwise.
    pub fn close(&mut self, id: RoundId) -> Result<Closed> {
        let round = self.open.get(&id).ok_or(CoreError::UnknownRound { round: id })?;
        if round.received() >= round.quorum() {
            self.finalize(id).map(Closed::Finalized)
        } else {
            self.expire(id).map(Closed::Expired)
        }
    }

    /// The whole state as a serializable value.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            version: SNAPSHOT_VERSION,
            config: self.config,
            evaluators: self.evaluators.clone(),
            nodes: self.nodes,
            trust: self.trust.clone(),
            book: self.book.clone(),
            last_consensus: self.last_consensus,
            closed: self.closed,
            next_round: self.next_round,
            open: self.open.values().cloned().collect(),
            revealable: self.revealable.iter().cloned().collect(),
        }
    }

    /// Rebuilds a protocol from a snapshot, checking every invariant: the version, the
    /// configuration, registrations, trust state and pool size, book sizes and
    /// finiteness, the last consensus, and every open round (its configuration is the
    /// protocol's, its id below the next id, its node registered, its committee
    /// registered for its task).
    pub fn restore(s: Snapshot) -> Result<Self> {
        if s.version != SNAPSHOT_VERSION {
            return Err(invalid(format!(
                "version {} (this build reads version {SNAPSHOT_VERSION})",
                s.version
            )));
        }
        s.trust.validate()?;
        let n = s.evaluators.len();
        let b = &s.book;
        let sizes = [
            ("inference", b.inference.len(), s.nodes),
            ("inference_rounds", b.inference_rounds.len(), s.nodes),
            ("evaluator", b.evaluator.len(), n),
            ("evaluator_rounds", b.evaluator_rounds.len(), n),
            ("evaluator_missed", b.evaluator_missed.len(), n),
        ];
        for (name, got, want) in sizes {
            if got != want {
                return Err(invalid(format!("book.{name} has {got} entries, the registry {want}")));
            }
        }
        if let Some(v) = b.inference.iter().chain(&b.evaluator).find(|v| !v.is_finite()) {
            return Err(invalid(format!("the book holds a non-finite balance {v}")));
        }
        if let Some(c) = s.last_consensus
            && !(c.is_finite() && (SCORE_MIN..=SCORE_MAX).contains(&c))
        {
            return Err(invalid(format!("last consensus {c} is not a score in [0, 10]")));
        }
        let mut p = Protocol::new(s.config, s.trust, s.evaluators, s.nodes)?;
        p.book = s.book;
        p.last_consensus = s.last_consensus;
        p.closed = s.closed;
        p.next_round = s.next_round;
        for r in s.open {
            r.validate(n)?;
            if *r.config() != p.config.round {
                return Err(invalid(format!(
                    "{} has a configuration other than the protocol's",
                    r.id()
                )));
            }
            if r.id() >= p.next_round {
                return Err(invalid(format!(
                    "open {} is not below the next id {}",
                    r.id(),
                    p.next_round.0
                )));
            }
            if r.node().index() >= p.nodes {
                return Err(invalid(format!("{} scores unregistered {}", r.id(), r.node())));
            }
            if let Some(e) = r
                .committee()
                .iter()
                .find(|e| !p.evaluators[e.index()].tasks.contains(&r.task()))
            {
                return Err(invalid(format!(
                    "{} seats {e}, not registered for {}",
                    r.id(),
                    r.task()
                )));
            }
            if r.committee().len() != p.config.committee_size {
                return Err(invalid(format!(
                    "{} has a committee of {}, the protocol draws {}",
                    r.id(),
                    r.committee().len(),
                    p.config.committee_size
                )));
            }
            let id = r.id();
            if p.open.insert(id, r).is_some() {
                return Err(invalid(format!("{id} appears twice")));
            }
        }
        if s.revealable.len() > p.config.reveal_window {
            return Err(invalid(format!(
                "{} rounds await a truth, the reveal window is {}",
                s.revealable.len(),
                p.config.reveal_window
            )));
        }
        for r in s.revealable {
            if r.round >= p.next_round || p.open.contains_key(&r.round) {
                return Err(invalid(format!("{} awaits a truth but was never finalized", r.round)));
            }
            if p.revealable.iter().any(|q| q.round == r.round) {
                return Err(invalid(format!("{} awaits a truth twice", r.round)));
            }
            if r.reports.len() > p.config.committee_size {
                return Err(invalid(format!(
                    "{} kept {} reports, more than a committee of {}",
                    r.round,
                    r.reports.len(),
                    p.config.committee_size
                )));
            }
            for x in &r.reports {
                if x.evaluator.index() >= n || !p.evaluators[x.evaluator.index()].tasks.contains(&r.task) {
                    return Err(invalid(format!(
                        "{} kept a report of {}, not registered for {}",
                        r.round, x.evaluator, r.task
                    )));
                }
                if !(x.score.is_finite() && (SCORE_MIN..=SCORE_MAX).contains(&x.score)) {
                    return Err(invalid(format!("{} kept a report of {}", r.round, x.score)));
                }
            }
            p.revealable.push_back(r);
        }
        Ok(p)
    }

    /// The canonical encoding of the whole state (layout in the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut enc = Encoder::new();
        let c = &self.config.round;
        match c.rule {
            Rule::Mean => enc.u8(0),
            Rule::Median => enc.u8(1),
            Rule::TrimmedMean { trim } => enc.u8(2).f64(trim),
            Rule::WeightedMean => enc.u8(3),
            Rule::WeightedMedian => enc.u8(4),
        };
        let r = &c.rewards;
        enc.usize(c.quorum)
            .f64(r.alpha)
            .f64(r.beta)
            .f64(r.alpha_eval)
            .f64(r.beta_eval)
            .f64(r.eval_budget)
            .bool(r.allow_negative)
            .u8(match r.evaluator_scaling {
                EvaluatorScaling::Flat => 0,
                EvaluatorScaling::Trust => 1,
            });
        for scale in [c.inference_cost, c.evaluator_cost] {
            match scale {
                CostScale::MinMax { min, max } => enc.u8(0).f64(min).f64(max),
                CostScale::Reference { reference } => enc.u8(1).f64(reference),
            };
        }
        enc.u8(match c.missing {
            MissingReport::Penalize => 0,
            MissingReport::Ignore => 1,
        })
        .usize(self.config.committee_size)
        .usize(self.config.reveal_window)
        .usize(self.evaluators.len());
        for reg in &self.evaluators {
            enc.usize(reg.tasks.len());
            for t in &reg.tasks {
                enc.u8(t.index() as u8);
            }
        }
        enc.usize(self.nodes);
        self.trust.encode(&mut enc);
        self.book.encode(&mut enc);
        enc.opt_f64(self.last_consensus)
            .u64(self.closed)
            .u64(self.next_round.0)
            .usize(self.open.len());
        for round in self.open.values() {
            round.encode(&mut enc);
        }
        enc.usize(self.revealable.len());
        for r in &self.revealable {
            enc.u64(r.round.0).u8(r.task.index() as u8).usize(r.reports.len());
            for x in &r.reports {
                enc.u32(x.evaluator.0).f64(x.score);
            }
        }
        enc.finish()
    }

    /// SHA-256 of `poq/state/v2` followed by [`Protocol::encode`].
    pub fn state_digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"poq/state/v2");
        h.update(self.encode());
        h.finalize().into()
    }
}

impl From<Protocol> for Snapshot {
    fn from(p: Protocol) -> Self {
        p.snapshot()
    }
}

impl TryFrom<Snapshot> for Protocol {
    type Error = CoreError;
    fn try_from(s: Snapshot) -> Result<Self> {
        Protocol::restore(s)
    }
}
