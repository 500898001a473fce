//! The BFT engine: commonware's simplex consensus, with marshal for ordered delivery of
//! finalized blocks, driving a synchronous [`App`].
//!
//! This is the only module that uses commonware. The application side is the
//! [`App`] trait: pure and synchronous, it proposes transactions, checks a block's shape
//! and applies finalized blocks; the engine orders, disseminates, certifies, backfills
//! and journals them.
//!
//! ```text
//!   simplex ──automaton/relay/reporter──► marshal::standard::Inline ──propose/verify──► App
//!      │                                        │
//!      │                           marshal ──finalized blocks, in height order──► App::finalized
//!      │                              ├── buffered broadcast (block dissemination)
//!      │                              └── resolver (backfill of missing blocks)
//!   mempool relay ◄──► peers: transactions a validator admitted, to every other
//! ```
//!
//! **Exactly once.** Marshal delivers every finalized block at least once, in height
//! order, from the height after the one it last saw acknowledged. The finalizer applies
//! a block only above [`App::last_finalized`] (the store's durable height) and
//! acknowledges it only after [`App::finalized`] returned, that is after the block's
//! write transaction committed; a block delivered again after a restart is dropped. If
//! applying fails (the disk, or a block the ledger refuses), the block is not
//! acknowledged, marshal stops delivering, and the node reports the error and stops.
//!
//! **What validators vote on.** A block's shape (height, parent, size limits, decodable
//! transactions) is checked before voting; what its transactions mean is decided by the
//! ledger when the block is final, identically on every node, so a Byzantine proposer
//! can fill a block with junk (each transaction is rejected and counted) but cannot make
//! honest nodes disagree.

mod block;
mod network;
mod relay;
mod wiring;

pub use block::{ChainBlock, to_digest, to_hash};
pub use network::{Endpoint, start_authenticated};
pub use wiring::{Channels, Config, MAX_MESSAGE_SIZE, QUOTA_PER_SECOND, channels, start};

use crate::error::NodeError;
use poq_ledger::{Block, Hash, Tx};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The application a validator runs: pure and synchronous.
pub trait App: Send + 'static {
    /// The transactions of a new block at `height`, leaving out `exclude` (the hashes of
    /// the transactions its ancestors above the last finalized block carry).
    fn propose(&mut self, height: u64, exclude: &HashSet<Hash>) -> Vec<Vec<u8>>;
    /// Whether a proposed block may be voted for: the same answer on every honest
    /// validator (its shape, not its meaning).
    fn verify(&self, block: &Block) -> bool;
    /// Applies a finalized block durably (called once per height, in order).
    fn finalized(&mut self, block: &Block) -> Result<(), NodeError>;
    /// The height applied durably (0: the genesis).
    fn last_finalized(&self) -> u64;
    /// A transaction a peer relayed, decoded and with its signature verified by the
    /// relay (outside the app's lock).
    fn relayed(&mut self, bytes: Vec<u8>, tx: Tx);
    /// Transactions to relay to the peers (admitted locally since the last call).
    fn outbound(&mut self) -> Vec<Vec<u8>>;
    /// A fatal error met while the engine drove the app (the node must stop).
    fn fatal(&mut self, error: NodeError);
}

/// The application, shared by the engine's actors.
pub type SharedApp<A> = Arc<Mutex<A>>;

/// Locks the shared app. A poisoned lock (a panic inside an app call) is taken over as
/// it is: the app's methods leave it consistent between calls.
pub fn lock<A>(app: &SharedApp<A>) -> std::sync::MutexGuard<'_, A> {
    app.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
