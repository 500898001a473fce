//! Synthetic participants: a gateway, inference nodes and evaluators that act on the
//! finalized ledger the way real ones would, with synthetic scorers (no model time) and
//! optional Byzantine behaviour. The deterministic simulation, the crash loop and the
//! benchmark drive the network with them.
//!
//! Every draw comes from the workload's seed; given the same sequence of ledger states
//! it emits the same transactions.

use poq_core::rng::{Xoshiro256PlusPlus, below, chance};
use poq_core::{RoundId, Task};
use poq_ledger::tx::commitment;
use poq_ledger::{Body, Hash, Keypair, Ledger, Receipt, Signature, Tx};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How a synthetic evaluator behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Commits and reveals its score.
    Honest,
    /// Commits, then never reveals.
    Withhold,
    /// Reveals a score other than the one it committed to.
    Switch,
    /// Sends a second commit and replays its old transactions.
    Replay,
}

impl Behaviour {
    /// The behaviour's name.
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Honest => "honest",
            Behaviour::Withhold => "withhold",
            Behaviour::Switch => "switch",
            Behaviour::Replay => "replay",
        }
    }
}

/// The keys a workload acts with.
#[derive(Debug, Clone)]
pub struct Actors {
    /// The gateway that submits rounds.
    pub gateway: Keypair,
    /// Inference nodes (with the model each registered).
    pub nodes: Vec<(Keypair, String)>,
    /// Evaluators and how each behaves.
    pub evaluators: Vec<(Keypair, Behaviour)>,
}

/// A synthetic workload.
#[derive(Debug)]
pub struct Workload {
    actors: Actors,
    rng: Xoshiro256PlusPlus,
    /// Rounds submitted per block.
    rounds_per_block: u64,
    /// Rounds still to submit (`None`: no limit).
    remaining: Option<u64>,
    next_request: u64,
    /// (round, evaluator index, 0 commit / 1 reveal) → the height it was last sent at.
    sent: BTreeMap<(RoundId, usize, u8), u64>,
    old: Vec<Vec<u8>>,
    ttl: u64,
}

/// Blocks after which a commit or reveal that has not landed is sent again (a
/// validator that crashed may have lost it from its mempool).
pub const RESEND_AFTER: u64 = 4;

/// The quality a synthetic scorer sees in an answer: a number in [0, 10] derived from
/// the answer's hash, so every honest evaluator agrees up to its own noise.
pub fn true_quality(answer: &Hash) -> f64 {
    (u16::from_le_bytes([answer.0[0], answer.0[1]]) % 101) as f64 / 10.0
}

impl Workload {
    /// A workload of `actors` submitting `rounds_per_block` rounds a block (at most
    /// `limit` in all), seeded by `seed`.
    pub fn new(actors: Actors, seed: u64, rounds_per_block: u64, limit: Option<u64>) -> Self {
        Self {
            actors,
            rng: Xoshiro256PlusPlus::from_u64(seed),
            rounds_per_block,
            remaining: limit,
            next_request: 0,
            sent: BTreeMap::new(),
            old: Vec::new(),
            ttl: 40,
        }
    }

    /// Rounds submitted so far.
    pub fn submitted(&self) -> u64 {
        self.next_request
    }

    /// The score evaluator `e` would report for `answer` in `round`: the true quality
    /// plus its own deterministic noise of at most ±0.5, clipped to [0, 10].
    fn honest_score(e: usize, round: RoundId, answer: &Hash) -> f64 {
        let h = Hash::of(
            "poq/workload/noise",
            &[&(e as u64).to_le_bytes(), &round.0.to_le_bytes()],
        );
        let noise = (h.0[0] as f64 / 255.0) - 0.5;
        ((true_quality(answer) + noise).clamp(0.0, 10.0) * 100.0).round() / 100.0
    }

    fn salt(e: usize, round: RoundId) -> [u8; 32] {
        Hash::of(
            "poq/workload/salt",
            &[&(e as u64).to_le_bytes(), &round.0.to_le_bytes()],
        )
        .0
    }

    /// The transactions the participants send after seeing `ledger` (finalized at its
    /// height), for the blocks that follow.
    pub fn txs(&mut self, ledger: &Ledger) -> Vec<Vec<u8>> {
        let network = *ledger.network();
        let height = ledger.height();
        let expires = height + self.ttl;
        let mut out = Vec::new();
        let n = match self.remaining {
            Some(r) => r.min(self.rounds_per_block),
            None => self.rounds_per_block,
        };
        for _ in 0..n {
            let request = self.next_request;
            self.next_request += 1;
            let node = below(&mut self.rng, self.actors.nodes.len() as u64) as usize;
            let (key, model) = &self.actors.nodes[node];
            let req = request.to_le_bytes();
            let receipt = Receipt {
                node: key.public(),
                gateway: self.actors.gateway.public(),
                request: Hash::of("poq/workload/request", &[&req]),
                prompt: Hash::of("poq/workload/prompt", &[&req]),
                answer: Hash::of("poq/workload/answer", &[&req]),
                model: model.clone(),
                task: Task::Qa,
                cost: (below(&mut self.rng, 1000) as f64) / 1000.0,
                expires,
                reference: None,
                signature: Signature([0; 64]),
            }
            .signed(&network, key);
            out.push(Tx::sign(&network, &self.actors.gateway, expires, Body::Submit { receipt }).encode());
        }
        if let Some(r) = &mut self.remaining {
            *r -= n;
        }
        let next = height + 1;
        for round in ledger.state().rounds.values().filter(|r| r.drawn()) {
            for (pos, member) in round.members.iter().enumerate() {
                let Some(e) = self.actors.evaluators.iter().position(|(k, _)| k.public() == *member) else {
                    continue;
                };
                let (key, behaviour) = &self.actors.evaluators[e];
                let score = Self::honest_score(e, round.id, &round.receipt.answer);
                let cost = 0.05 + e as f64 / 100.0;
                let salt = Self::salt(e, round.id);
                let due = |sent: &BTreeMap<(RoundId, usize, u8), u64>, what: u8| {
                    sent.get(&(round.id, e, what))
                        .is_none_or(|&at| height >= at + RESEND_AFTER)
                };
                if round.accepts_commit(next) && round.commits[pos].is_none() && due(&self.sent, 0) {
                    // A replaying evaluator also sends a second, different commit.
                    let scores: &[f64] = if *behaviour == Behaviour::Replay {
                        &[score, 10.0 - score]
                    } else {
                        &[score]
                    };
                    for &s in scores {
                        let c = commitment(&network, round.id, member, s, cost, &salt);
                        let body = Body::Commit {
                            round: round.id,
                            commitment: c,
                        };
                        out.push(Tx::sign(&network, key, expires, body).encode());
                    }
                    self.sent.insert((round.id, e, 0), height);
                }
                if round.accepts_reveal(next)
                    && round.commits[pos].is_some()
                    && round.reveals[pos].is_none()
                    && due(&self.sent, 1)
                {
                    let revealed = match behaviour {
                        Behaviour::Withhold => None,
                        Behaviour::Switch => Some((score + 3.0).min(10.0)),
                        _ => Some(score),
                    };
                    if let Some(s) = revealed {
                        out.push(
                            Tx::sign(
                                &network,
                                key,
                                expires,
                                Body::Reveal {
                                    round: round.id,
                                    score: s,
                                    cost,
                                    salt,
                                },
                            )
                            .encode(),
                        );
                    }
                    self.sent.insert((round.id, e, 1), height);
                }
            }
        }
        let replayers = self.actors.evaluators.iter().any(|(_, b)| *b == Behaviour::Replay);
        if replayers && !self.old.is_empty() && chance(&mut self.rng, 0.5) {
            let i = below(&mut self.rng, self.old.len() as u64) as usize;
            out.push(self.old[i].clone());
        }
        self.old.extend(out.iter().take(4).cloned());
        if self.old.len() > 256 {
            self.old.drain(..128);
        }
        // Forget what was sent for rounds that closed.
        let open: BTreeSet<RoundId> = ledger.state().rounds.keys().copied().collect();
        self.sent.retain(|(r, _, _), _| open.contains(r));
        out
    }
}
