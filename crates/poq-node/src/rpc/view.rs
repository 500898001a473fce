//! The JSON a node's API answers with: what a client of the ledger needs, computed
//! from one locked look at the ledger and serialized outside the lock.

use poq_core::{RoundId, Task};
use poq_ledger::{Hash, Ledger, PublicKey, Receipt, Roles};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /v1/poq/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    /// The network id.
    pub network: Hash,
    /// The last applied height.
    pub height: u64,
    /// The chained state digest there.
    pub digest: Hash,
    /// The validators (the genesis' set).
    pub validators: Vec<PublicKey>,
    /// Transactions waiting in this node's mempool.
    pub mempool: usize,
    /// Rounds submitted and not closed.
    pub open_rounds: usize,
    /// Rounds finalized since the genesis.
    pub rounds_finalized: u64,
    /// Rounds expired since the genesis.
    pub rounds_expired: u64,
    /// Transactions blocks carried that the ledger rejected, by reason.
    pub rejected: BTreeMap<String, u64>,
}

/// One registered key in `GET /v1/poq/nodes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// The key.
    pub key: PublicKey,
    /// Its roles.
    pub roles: Roles,
    /// Spendable micro-units.
    pub balance: i64,
    /// Bonded micro-units.
    pub bond: u64,
    /// Its trust weight per task it evaluates (evaluators only).
    pub trust: BTreeMap<String, f64>,
    /// Rounds it took part in: answered (inference) or reported in (evaluator).
    pub rounds: u64,
    /// Rounds it was drawn for and did not report in (evaluators).
    pub missed: u64,
    /// Rewards accumulated, in protocol units.
    pub rewards: f64,
}

/// One committee member's progress in an open round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    /// The member.
    pub key: PublicKey,
    /// Whether its commit landed.
    pub committed: bool,
    /// Whether its reveal landed.
    pub revealed: bool,
    /// Its trust weight for the round's task.
    pub trust: f64,
}

/// An open, drawn round as an evaluator sees it (`POST /v1/poq/duties`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DutyView {
    /// The round.
    pub round: RoundId,
    /// Its task.
    pub task: Task,
    /// The signed receipt (the hashes of the bytes to score, the gateway that holds them).
    pub receipt: Receipt,
    /// The committee.
    pub members: Vec<MemberView>,
    /// Whether a commit is accepted in the next block.
    pub commit_open: bool,
    /// Whether a reveal is accepted in the next block.
    pub reveal_open: bool,
    /// The last reveal height.
    pub reveal_until: u64,
    /// The last published consensus (what a copycat would copy).
    pub last_consensus: Option<f64>,
    /// The pool's reference trust for the task (its median weight).
    pub reference_trust: f64,
}

/// `POST /v1/poq/duties`: the open rounds where any of some keys sits on the committee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DutiesView {
    /// The height the view is of.
    pub height: u64,
    /// The network id (commitments bind it).
    pub network: Hash,
    /// The rounds.
    pub rounds: Vec<DutyView>,
}

/// The request of `POST /v1/poq/duties`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DutiesRequest {
    /// The evaluator keys to look for.
    pub keys: Vec<PublicKey>,
}

/// The answer to `POST /v1/poq/tx`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    /// The transaction's hash.
    pub hash: Hash,
}

/// The status of `ledger` (with this node's mempool length).
pub fn status(ledger: &Ledger, mempool: usize) -> StatusView {
    let s = ledger.state();
    let closed: u64 = ledger.protocol().book().inference_rounds.iter().sum();
    // Every closed round either finalized (and counted in the book) or expired.
    let finalized = closed;
    StatusView {
        network: *ledger.network(),
        height: ledger.height(),
        digest: *ledger.digest(),
        validators: s.validators.clone(),
        mempool,
        open_rounds: s.rounds.len(),
        rounds_finalized: finalized,
        rounds_expired: s.next_round.0.saturating_sub(finalized + s.rounds.len() as u64),
        rejected: s.rejected.iter().map(|(r, n)| (r.name().to_string(), *n)).collect(),
    }
}

/// Every registered key of `ledger`, in key order.
pub fn nodes(ledger: &Ledger) -> Vec<NodeView> {
    let p = ledger.protocol();
    let book = p.book();
    ledger
        .state()
        .accounts
        .iter()
        .filter(|(_, a)| a.registered)
        .map(|(key, a)| {
            let mut trust = BTreeMap::new();
            let (mut rounds, mut missed, mut rewards) = (0, 0, 0.0);
            if let (Some(e), Some(role)) = (a.evaluator, &a.roles.evaluator) {
                for t in &role.tasks {
                    trust.insert(t.name().to_string(), p.weight(e, *t));
                }
                rounds += book.evaluator_rounds.get(e.index()).copied().unwrap_or(0);
                missed += book.evaluator_missed.get(e.index()).copied().unwrap_or(0);
                rewards += book.evaluator.get(e.index()).copied().unwrap_or(0.0);
            }
            if let Some(n) = a.node {
                rounds += book.inference_rounds.get(n.index()).copied().unwrap_or(0);
                rewards += book.inference.get(n.index()).copied().unwrap_or(0.0);
            }
            NodeView {
                key: *key,
                roles: a.roles.clone(),
                balance: a.balance,
                bond: a.bond,
                trust,
                rounds,
                missed,
                rewards,
            }
        })
        .collect()
}

/// The open, drawn rounds of `ledger` with any of `keys` on the committee.
pub fn duties(ledger: &Ledger, keys: &[PublicKey]) -> DutiesView {
    let next = ledger.height() + 1;
    let p = ledger.protocol();
    let rounds = ledger
        .state()
        .rounds
        .values()
        .filter(|r| r.drawn() && r.members.iter().any(|m| keys.contains(m)))
        .map(|r| {
            let task = r.receipt.task;
            DutyView {
                round: r.id,
                task,
                receipt: r.receipt.clone(),
                members: r
                    .members
                    .iter()
                    .enumerate()
                    .map(|(i, k)| MemberView {
                        key: *k,
                        committed: r.commits.get(i).is_some_and(Option::is_some),
                        revealed: r.reveals.get(i).is_some_and(Option::is_some),
                        trust: r.committee.get(i).map_or(0.0, |e| p.weight(*e, task)),
                    })
                    .collect(),
                commit_open: r.accepts_commit(next),
                reveal_open: r.accepts_reveal(next),
                reveal_until: r.reveal_until,
                last_consensus: p.last_consensus(),
                reference_trust: p.reference_trust(task),
            }
        })
        .collect();
    DutiesView {
        height: ledger.height(),
        network: *ledger.network(),
        rounds,
    }
}

/// `GET /v1/poq/changes?after=H`: the rounds the blocks above `H` submitted or closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesView {
    /// The last height covered (`H` when no block above it is applied yet).
    pub height: u64,
    /// Rounds submitted in those blocks.
    pub submitted: Vec<crate::history::RoundRecord>,
    /// Rounds closed in those blocks.
    pub closed: Vec<crate::history::RoundRecord>,
}
