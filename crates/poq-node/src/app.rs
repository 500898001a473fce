//! The validator's application: the store and the mempool behind the engine's [`App`]
//! trait.

use crate::engine::App;
use crate::error::NodeError;
use crate::mempool::{Mempool, Refusal};
use crate::store::Store;
use poq_ledger::block::{BLOCK_OVERHEAD, MAX_BLOCK_BYTES, MAX_BLOCK_TXS};
use poq_ledger::{Applied, Block, Event, Hash, Tx};
use std::collections::{HashSet, VecDeque};
use std::sync::mpsc::{SyncSender, TrySendError};
use tracing::{debug, info, info_span, warn};

/// Limits of the app's queues and blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Transactions the mempool holds.
    pub mempool_txs: usize,
    /// Bytes the mempool holds.
    pub mempool_bytes: usize,
    /// Transactions a proposed block carries.
    pub block_txs: usize,
    /// Admitted transactions waiting to be relayed.
    pub relay_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            mempool_txs: 100_000,
            mempool_bytes: 64 << 20,
            block_txs: 4_096,
            relay_queue: 20_000,
        }
    }
}

/// What the app tells an observer after each finalized block.
#[derive(Debug, Clone)]
pub struct Finalized {
    /// The block.
    pub block: Block,
    /// What applying it did.
    pub applied: Applied,
}

/// A validator's (or follower's) application.
#[derive(Debug)]
pub struct NodeApp {
    store: Store,
    mempool: Mempool,
    relay: VecDeque<Vec<u8>>,
    limits: Limits,
    observer: Option<SyncSender<Finalized>>,
    fatal: Option<NodeError>,
    dropped_notifications: u64,
    stopping: bool,
}

impl NodeApp {
    /// An app over `store`.
    pub fn new(store: Store, limits: Limits) -> Self {
        Self {
            store,
            mempool: Mempool::new(limits.mempool_txs, limits.mempool_bytes),
            relay: VecDeque::new(),
            limits,
            observer: None,
            fatal: None,
            dropped_notifications: 0,
            stopping: false,
        }
    }

    /// Sends every finalized block to `observer` (a bounded channel: when it is full the
    /// notification is dropped and counted, never waited for; the store has it all).
    pub fn observe(&mut self, observer: SyncSender<Finalized>) {
        self.observer = Some(observer);
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Takes the store back (to reopen it after a crash in tests).
    pub fn into_store(self) -> Store {
        self.store
    }

    /// The mempool.
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// The fatal error, if one stopped the node.
    pub fn fatal_error(&self) -> Option<&NodeError> {
        self.fatal.as_ref()
    }

    /// Marks the node as shutting down: the engine's actors stopping from now on are the
    /// shutdown itself, not a failure.
    pub fn stopping(&mut self) {
        self.stopping = true;
    }

    /// Takes the fatal error, if any.
    pub fn take_fatal(&mut self) -> Option<NodeError> {
        self.fatal.take()
    }

    /// Admits a transaction from a client and queues it for the peers.
    pub fn submit(&mut self, tx: Vec<u8>) -> Result<Hash, Refusal> {
        let hash = self.mempool.add(tx.clone(), self.store.ledger())?;
        self.queue_relay(tx);
        Ok(hash)
    }

    /// [`NodeApp::submit`] of a decoded transaction whose signature the caller verified.
    pub fn submit_verified(&mut self, bytes: Vec<u8>, tx: Tx) -> Result<Hash, Refusal> {
        let hash = self.mempool.add_checked(bytes.clone(), tx, self.store.ledger())?;
        self.queue_relay(bytes);
        Ok(hash)
    }

    fn queue_relay(&mut self, tx: Vec<u8>) {
        if self.relay.len() >= self.limits.relay_queue {
            // The peers will still see it when this validator proposes it.
            self.relay.pop_front();
        }
        self.relay.push_back(tx);
    }
}

impl App for NodeApp {
    fn propose(&mut self, height: u64, exclude: &HashSet<Hash>) -> Vec<Vec<u8>> {
        let max_txs = self.limits.block_txs.min(MAX_BLOCK_TXS);
        self.mempool
            .propose(height, max_txs, MAX_BLOCK_BYTES - BLOCK_OVERHEAD, exclude)
    }

    fn verify(&self, block: &Block) -> bool {
        block.txs.len() <= MAX_BLOCK_TXS && block.encoded_len() <= MAX_BLOCK_BYTES
    }

    fn finalized(&mut self, block: &Block) -> Result<(), NodeError> {
        let span = info_span!("block", height = block.height, txs = block.txs.len());
        let _enter = span.enter();
        // Transactions in the mempool had their signatures verified on admission.
        let mempool = &self.mempool;
        let Some(applied) = self.store.apply_with(block, &|h| mempool.contains(h))? else {
            return Ok(());
        };
        self.mempool.finalized(block);
        for e in &applied.events {
            match e {
                Event::Finalized { outcome, .. } => info!(
                    round = outcome.round.0,
                    consensus = outcome.consensus,
                    reports = outcome.reports.len(),
                    missing = outcome.missing.len(),
                    "round finalized"
                ),
                Event::Expired { expiry, .. } => {
                    info!(round = expiry.round.0, received = expiry.received, "round expired")
                }
                Event::Drawn { round, members, .. } => {
                    debug!(round = round.0, members = members.len(), "committee drawn")
                }
                Event::Committed { round, evaluator } => debug!(round = round.0, evaluator = %evaluator, "committed"),
                Event::Revealed {
                    round,
                    evaluator,
                    score,
                    ..
                } => debug!(round = round.0, evaluator = %evaluator, score, "revealed"),
                _ => {}
            }
        }
        for r in &applied.rejected {
            debug!(index = r.index, tx = %r.tx, reason = r.rejection.reason().name(), error = %r.rejection, "transaction rejected");
        }
        if let Some(obs) = &self.observer {
            match obs.try_send(Finalized {
                block: block.clone(),
                applied,
            }) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    self.dropped_notifications += 1;
                    if self.dropped_notifications.is_power_of_two() {
                        warn!(
                            dropped = self.dropped_notifications,
                            "the observer lags; notifications dropped"
                        );
                    }
                }
                Err(TrySendError::Disconnected(_)) => self.observer = None,
            }
        }
        Ok(())
    }

    fn last_finalized(&self) -> u64 {
        self.store.ledger().height()
    }

    fn relayed(&mut self, bytes: Vec<u8>, tx: Tx) {
        // Refusals are normal here (a duplicate, an expired transaction); nothing to
        // answer.
        let _ = self.mempool.add_verified(bytes, tx, self.store.ledger());
    }

    fn outbound(&mut self) -> Vec<Vec<u8>> {
        self.relay.drain(..).collect()
    }

    fn fatal(&mut self, error: NodeError) {
        if self.stopping {
            debug!(error = %error, "stopped while shutting down");
            return;
        }
        tracing::error!(error = %error, "fatal");
        if self.fatal.is_none() {
            self.fatal = Some(error);
        }
    }
}
