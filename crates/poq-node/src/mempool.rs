//! The mempool: transactions waiting for a block, bounded in count and bytes.
//!
//! A client's transaction is admitted only if the ledger would accept it in the next
//! block ([`poq_ledger::Ledger::check`]: signature, replay, phase, funds), so the client
//! gets the typed rejection a block would give it. A transaction relayed by a peer is
//! admitted on [`poq_ledger::Ledger::precheck`] (encoding, expiry, signature, replay):
//! this node's finalized state may lag the peer's, and a reveal the peer rightly
//! accepted can look early here. Either way the mempool is an optimisation and the
//! ledger decides: a transaction that is invalid when its block applies is rejected and
//! counted there.
//!
//! Proposals take transactions in arrival order. A transaction proposed at height h is
//! not proposed again until h + [`REPROPOSE_AFTER`], so consecutive blocks (proposed
//! before the previous one finalized) do not carry it twice; it leaves the mempool when
//! a finalized block includes it or its expiry passes.

use poq_ledger::{Block, Hash, Ledger, Rejection, Tx};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Heights after which a proposed but not yet finalized transaction may be proposed
/// again (its block may have been abandoned).
pub const REPROPOSE_AFTER: u64 = 4;

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The ledger would reject it.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// It is in the mempool already.
    #[error("transaction {0} is in the mempool already")]
    Duplicate(Hash),
    /// The mempool is at its limit.
    #[error("the mempool is full ({count} transactions, {bytes} bytes)")]
    Full {
        /// Transactions held.
        count: usize,
        /// Bytes held.
        bytes: usize,
    },
}

#[derive(Debug)]
struct Entry {
    bytes: Vec<u8>,
    expires: u64,
    proposed: Option<u64>,
}

/// A bounded mempool.
#[derive(Debug)]
pub struct Mempool {
    max_count: usize,
    max_bytes: usize,
    bytes: usize,
    seq: u64,
    order: BTreeMap<u64, Hash>,
    /// (expiry, hash), so a block drops what expired without scanning everything.
    expiring: BTreeSet<(u64, Hash)>,
    entries: HashMap<Hash, (u64, Entry)>,
}

impl Mempool {
    /// An empty mempool holding at most `max_count` transactions and `max_bytes` bytes.
    pub fn new(max_count: usize, max_bytes: usize) -> Self {
        Self {
            max_count,
            max_bytes,
            bytes: 0,
            seq: 0,
            order: BTreeMap::new(),
            expiring: BTreeSet::new(),
            entries: HashMap::new(),
        }
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds the transaction `hash` (then its signature was verified when
    /// it was admitted).
    pub fn contains(&self, hash: &Hash) -> bool {
        self.entries.contains_key(hash)
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Admits a client's `bytes` if `ledger` would accept it next; returns its hash.
    pub fn add(&mut self, bytes: Vec<u8>, ledger: &Ledger) -> Result<Hash, Refusal> {
        self.admit(bytes, |b| ledger.check(b))
    }

    /// Admits a client's transaction whose signature the caller verified, on the rest of
    /// [`Ledger::check`]; returns its hash.
    pub fn add_checked(&mut self, bytes: Vec<u8>, tx: Tx, ledger: &Ledger) -> Result<Hash, Refusal> {
        self.admit(bytes, |b| ledger.check_verified(&tx, Tx::hash_bytes(b)).map(|()| tx))
    }

    /// Admits a peer's `bytes` on the ledger's precheck; returns its hash.
    pub fn add_relayed(&mut self, bytes: Vec<u8>, ledger: &Ledger) -> Result<Hash, Refusal> {
        self.admit(bytes, |b| ledger.precheck(b))
    }

    /// Admits a peer's transaction whose signature the caller verified (the relay does,
    /// without holding the app's lock): expiry and replay are checked here.
    pub fn add_verified(&mut self, bytes: Vec<u8>, tx: Tx, ledger: &Ledger) -> Result<Hash, Refusal> {
        self.admit(bytes, |b| ledger.precheck_fresh(&tx, Tx::hash_bytes(b)).map(|()| tx))
    }

    fn admit(&mut self, bytes: Vec<u8>, check: impl FnOnce(&[u8]) -> Result<Tx, Rejection>) -> Result<Hash, Refusal> {
        let hash = Tx::hash_bytes(&bytes);
        if self.entries.contains_key(&hash) {
            return Err(Refusal::Duplicate(hash));
        }
        if self.entries.len() >= self.max_count || self.bytes + bytes.len() > self.max_bytes {
            return Err(Refusal::Full {
                count: self.entries.len(),
                bytes: self.bytes,
            });
        }
        let tx = check(&bytes)?;
        self.bytes += bytes.len();
        self.seq += 1;
        self.order.insert(self.seq, hash);
        self.expiring.insert((tx.expires, hash));
        self.entries.insert(
            hash,
            (
                self.seq,
                Entry {
                    bytes,
                    expires: tx.expires,
                    proposed: None,
                },
            ),
        );
        Ok(hash)
    }

    /// Up to `max_txs` transactions (and `max_bytes` encoded bytes) for a block at
    /// `height`, in arrival order, skipping those in `exclude` (carried by the block's
    /// ancestors that are not final yet) and those this node proposed in the last
    /// [`REPROPOSE_AFTER`] heights.
    pub fn propose(&mut self, height: u64, max_txs: usize, max_bytes: usize, exclude: &HashSet<Hash>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut size = 0;
        for hash in self.order.values() {
            if out.len() >= max_txs {
                break;
            }
            if exclude.contains(hash) {
                continue;
            }
            let Some((_, e)) = self.entries.get_mut(hash) else {
                continue;
            };
            if e.expires < height || e.proposed.is_some_and(|p| height < p + REPROPOSE_AFTER) {
                continue;
            }
            if size + 8 + e.bytes.len() > max_bytes {
                break;
            }
            size += 8 + e.bytes.len();
            e.proposed = Some(height);
            out.push(e.bytes.clone());
        }
        out
    }

    /// Drops what `block` included and what expired by its height.
    pub fn finalized(&mut self, block: &Block) {
        for bytes in &block.txs {
            self.remove(&Tx::hash_bytes(bytes));
        }
        while let Some(&(expires, hash)) = self.expiring.first() {
            if expires > block.height {
                break;
            }
            self.remove(&hash);
        }
    }

    fn remove(&mut self, hash: &Hash) {
        if let Some((seq, e)) = self.entries.remove(hash) {
            self.order.remove(&seq);
            self.expiring.remove(&(e.expires, *hash));
            self.bytes -= e.bytes.len();
        }
    }
}
