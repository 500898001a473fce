//! A round's history as a node serves it: the signed receipt, the committee, every
//! signed commit and reveal the ledger accepted, and how it closed.
//!
//! The store keeps one record per round, updated in the same write transaction as the
//! block that changed it, so `GET /v1/poq/rounds/{id}` answers from the store after a
//! restart as it did before, and every node's record of a round is the same bytes (it
//! is a function of the finalized blocks).

use poq_core::RoundId;
use poq_core::round::{Expiry, Outcome};
use poq_ledger::{Applied, Block, Body, Event, Hash, Ledger, PublicKey, Receipt, Tx};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where a round stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoundStatus {
    /// Submitted, not closed yet.
    Pending,
    /// Closed with a consensus.
    Finalized,
    /// Closed below its quorum.
    Expired,
}

impl RoundStatus {
    /// The status as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            RoundStatus::Pending => "pending",
            RoundStatus::Finalized => "finalized",
            RoundStatus::Expired => "expired",
        }
    }
}

/// One signed transaction of a round, as a block carried it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundTx {
    /// The block's height.
    pub height: u64,
    /// The transaction's hash.
    pub hash: Hash,
    /// The transaction (signer, body, signature).
    pub tx: Tx,
}

/// A round as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// The round.
    pub round: RoundId,
    /// Where it stands.
    pub status: RoundStatus,
    /// The height of the block that submitted it.
    pub submitted: u64,
    /// The inference node's signed receipt.
    pub receipt: Receipt,
    /// The height whose block seeds the committee draw.
    pub draw_at: u64,
    /// The committee, in order (empty until drawn).
    pub members: Vec<PublicKey>,
    /// The last commit height (once drawn).
    pub commit_until: Option<u64>,
    /// The last reveal height (once drawn; moved up when every member committed).
    pub reveal_until: Option<u64>,
    /// Every commit and reveal the ledger accepted, in block order.
    pub txs: Vec<RoundTx>,
    /// The height that closed it.
    pub closed: Option<u64>,
    /// The protocol's outcome, if it finalized.
    pub outcome: Option<Outcome>,
    /// The protocol's expiry, if it expired.
    pub expiry: Option<Expiry>,
    /// Balance changes in micro-units at close, in outcome order.
    pub payouts: Vec<(PublicKey, i64)>,
    /// A spot-check round's reference answer, once revealed and verified.
    pub reference: Option<String>,
}

/// The records a block changes, from the records before it (`load` finds a stored
/// one), the block, what applying it did and the ledger after it.
pub fn update(
    block: &Block,
    applied: &Applied,
    after: &Ledger,
    load: &mut dyn FnMut(RoundId) -> Option<RoundRecord>,
) -> BTreeMap<RoundId, RoundRecord> {
    let mut changed: BTreeMap<RoundId, RoundRecord> = BTreeMap::new();
    let mut get = |id: RoundId, changed: &mut BTreeMap<RoundId, RoundRecord>| -> bool {
        if let std::collections::btree_map::Entry::Vacant(e) = changed.entry(id) {
            match load(id) {
                Some(r) => {
                    e.insert(r);
                }
                None => return false,
            }
        }
        true
    };
    for e in &applied.events {
        match e {
            Event::Submitted { round, draw_at, .. } => {
                if let Some(r) = after.round(*round) {
                    changed.insert(
                        *round,
                        RoundRecord {
                            round: *round,
                            status: RoundStatus::Pending,
                            submitted: block.height,
                            receipt: r.receipt.clone(),
                            draw_at: *draw_at,
                            members: Vec::new(),
                            commit_until: None,
                            reveal_until: None,
                            txs: Vec::new(),
                            closed: None,
                            outcome: None,
                            expiry: None,
                            payouts: Vec::new(),
                            reference: None,
                        },
                    );
                }
            }
            Event::Drawn {
                round,
                members,
                commit_until,
                reveal_until,
                ..
            } => {
                if get(*round, &mut changed)
                    && let Some(r) = changed.get_mut(round)
                {
                    r.members = members.clone();
                    r.commit_until = Some(*commit_until);
                    r.reveal_until = Some(*reveal_until);
                }
            }
            Event::CommitsComplete {
                round, reveal_until, ..
            } => {
                if get(*round, &mut changed)
                    && let Some(r) = changed.get_mut(round)
                {
                    r.reveal_until = Some(*reveal_until);
                }
            }
            Event::Finalized { outcome, payouts } => {
                if get(outcome.round, &mut changed)
                    && let Some(r) = changed.get_mut(&outcome.round)
                {
                    r.status = RoundStatus::Finalized;
                    r.closed = Some(block.height);
                    r.outcome = Some(outcome.clone());
                    r.payouts = payouts.clone();
                }
            }
            Event::Expired { expiry, payouts } => {
                if get(expiry.round, &mut changed)
                    && let Some(r) = changed.get_mut(&expiry.round)
                {
                    r.status = RoundStatus::Expired;
                    r.closed = Some(block.height);
                    r.expiry = Some(expiry.clone());
                    r.payouts = payouts.clone();
                }
            }
            Event::ReferenceRevealed { round, reference } => {
                if get(*round, &mut changed)
                    && let Some(r) = changed.get_mut(round)
                {
                    r.reference = Some(reference.clone());
                }
            }
            _ => {}
        }
    }
    // The commits and reveals the ledger accepted (a rejected one is not the round's).
    let rejected: BTreeSet<usize> = applied.rejected.iter().map(|r| r.index).collect();
    for (index, bytes) in block.txs.iter().enumerate() {
        if rejected.contains(&index) {
            continue;
        }
        let Ok(tx) = Tx::decode(bytes) else { continue };
        if !matches!(tx.body, Body::Commit { .. } | Body::Reveal { .. }) {
            continue;
        }
        let Some(round) = tx.body.round() else { continue };
        if get(round, &mut changed)
            && let Some(r) = changed.get_mut(&round)
        {
            r.txs.push(RoundTx {
                height: block.height,
                hash: Tx::hash_bytes(bytes),
                tx,
            });
        }
    }
    changed
}
