//! The node's durable ledger: one redb database, one write transaction per finalized
//! block.
//!
//! Each transaction holds the block, the ledger state after it, its chained digest, its
//! events and `height` (the last applied height) together, with
//! `Durability::Immediate` (redb flips between two checksummed commit slots and fsyncs),
//! so a `kill -9` at any instant reopens on the last committed block: never a
//! half-applied one, and never losing one that was committed. A block at a height
//! already applied is a no-op, so the engine may deliver a block twice (it does after a
//! restart). [`Store::verify`] replays every stored block from the genesis and checks
//! each digest against the stored one.
//!
//! Tables: `meta` (`schema` u32, `network` 32 bytes, `height` u64, `digest` 32 bytes;
//! little-endian), `state` (`ledger`: the [`poq_ledger::LedgerState`] as JSON),
//! `blocks` (height → [`Block::encode`]), `digests` (height → 32 bytes), `events`
//! (height → JSON array of [`poq_ledger::Event`]), `rounds` (round id → JSON
//! [`RoundRecord`], written with the block that changed it), `requests` (a receipt's
//! request hash → its round id).

use crate::error::{NodeError, Result};
use crate::history::{self, RoundRecord};
use poq_core::RoundId;
use poq_ledger::{Applied, Block, Genesis, Hash, Ledger};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state");
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const DIGESTS: TableDefinition<u64, &[u8]> = TableDefinition::new("digests");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const ROUNDS: TableDefinition<u64, &[u8]> = TableDefinition::new("rounds");
const REQUESTS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("requests");

/// The store layout's version (2: the `rounds` table).
pub const SCHEMA: u32 = 2;

/// A node's ledger on disk, with the ledger itself in memory.
#[derive(Debug)]
pub struct Store {
    db: Arc<Database>,
    path: PathBuf,
    ledger: Ledger,
}

fn db_err(path: &Path, e: impl Into<redb::Error>) -> NodeError {
    NodeError::Store {
        path: path.to_path_buf(),
        source: Box::new(e.into()),
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> NodeError {
    NodeError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn hash_of(path: &Path, what: &str, bytes: &[u8]) -> Result<Hash> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| corrupt(path, format!("{what} has {} bytes, not 32", bytes.len())))
}

impl Store {
    /// Creates the store at `path` at the genesis (fails if one exists).
    pub fn create(path: &Path, genesis: &Genesis) -> Result<Self> {
        if path.exists() {
            return Err(NodeError::StoreExists {
                path: path.to_path_buf(),
            });
        }
        let ledger = Ledger::genesis(genesis)?;
        // Written under a temporary name and renamed once the genesis is committed, so a
        // crash during creation leaves no half-made store at `path`.
        let tmp = path.with_extension("creating");
        if tmp.exists() {
            std::fs::remove_file(&tmp).map_err(|source| NodeError::Io {
                path: tmp.clone(),
                source,
            })?;
        }
        let db = Arc::new(Database::create(&tmp).map_err(|e| db_err(&tmp, e))?);
        let store = Store {
            db,
            path: tmp.clone(),
            ledger,
        };
        let txn = store.write_txn()?;
        {
            let p = &store.path;
            let mut meta = txn.open_table(META).map_err(|e| db_err(p, e))?;
            meta.insert("schema", SCHEMA.to_le_bytes().as_slice())
                .map_err(|e| db_err(p, e))?;
            meta.insert("network", store.ledger.network().0.as_slice())
                .map_err(|e| db_err(p, e))?;
            txn.open_table(BLOCKS).map_err(|e| db_err(p, e))?;
            txn.open_table(DIGESTS).map_err(|e| db_err(p, e))?;
            txn.open_table(EVENTS).map_err(|e| db_err(p, e))?;
            txn.open_table(ROUNDS).map_err(|e| db_err(p, e))?;
            txn.open_table(REQUESTS).map_err(|e| db_err(p, e))?;
        }
        store.write_state(&txn, &store.ledger)?;
        txn.commit().map_err(|e| db_err(&store.path, e))?;
        drop(store);
        std::fs::rename(&tmp, path).map_err(|source| NodeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::open(path, genesis)
    }

    /// Opens the store at `path`, checking it belongs to `genesis`' network.
    pub fn open(path: &Path, genesis: &Genesis) -> Result<Self> {
        if !path.exists() {
            return Err(NodeError::MissingStore {
                path: path.to_path_buf(),
            });
        }
        let db = Database::open(path).map_err(|e| db_err(path, e))?;
        let txn = db.begin_read().map_err(|e| db_err(path, e))?;
        let meta = txn.open_table(META).map_err(|e| db_err(path, e))?;
        let get = |key: &str| -> Result<Vec<u8>> {
            meta.get(key)
                .map_err(|e| db_err(path, e))?
                .map(|v| v.value().to_vec())
                .ok_or_else(|| corrupt(path, format!("meta has no {key}")))
        };
        let schema = get("schema")?;
        if schema != SCHEMA.to_le_bytes() {
            return Err(corrupt(path, format!("schema {schema:?}, this build reads {SCHEMA}")));
        }
        let network = hash_of(path, "meta.network", &get("network")?)?;
        let expected = Ledger::genesis(genesis)?;
        if network != *expected.network() {
            return Err(NodeError::WrongNetwork {
                path: path.to_path_buf(),
                store: network,
                genesis: *expected.network(),
            });
        }
        let state = txn.open_table(STATE).map_err(|e| db_err(path, e))?;
        let json = state
            .get("ledger")
            .map_err(|e| db_err(path, e))?
            .ok_or_else(|| corrupt(path, "no ledger state"))?;
        let ledger: Ledger =
            serde_json::from_slice(json.value()).map_err(|e| corrupt(path, format!("ledger state: {e}")))?;
        if ledger.network() != &network {
            return Err(corrupt(path, "the ledger state names another network"));
        }
        let height = u64::from_le_bytes(
            get("height")?
                .try_into()
                .map_err(|_| corrupt(path, "meta.height is not 8 bytes"))?,
        );
        if height != ledger.height() {
            return Err(corrupt(
                path,
                format!("meta.height {height}, the state is at {}", ledger.height()),
            ));
        }
        drop((meta, state, json, txn));
        Ok(Store {
            db: Arc::new(db),
            path: path.to_path_buf(),
            ledger,
        })
    }

    /// Opens the store at `path`, creating it at the genesis if there is none.
    pub fn open_or_create(path: &Path, genesis: &Genesis) -> Result<Self> {
        if path.exists() {
            Self::open(path, genesis)
        } else {
            Self::create(path, genesis)
        }
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ledger as of the last applied block.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn write_txn(&self) -> Result<redb::WriteTransaction> {
        let mut txn = self.db.begin_write().map_err(|e| db_err(&self.path, e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| db_err(&self.path, redb::Error::from(e)))?;
        Ok(txn)
    }

    fn write_state(&self, txn: &redb::WriteTransaction, ledger: &Ledger) -> Result<()> {
        let p = &self.path;
        let json = serde_json::to_vec(ledger).map_err(|e| corrupt(p, format!("encoding the ledger state: {e}")))?;
        let mut state = txn.open_table(STATE).map_err(|e| db_err(p, e))?;
        state.insert("ledger", json.as_slice()).map_err(|e| db_err(p, e))?;
        let mut meta = txn.open_table(META).map_err(|e| db_err(p, e))?;
        meta.insert("height", ledger.height().to_le_bytes().as_slice())
            .map_err(|e| db_err(p, e))?;
        meta.insert("digest", ledger.digest().0.as_slice())
            .map_err(|e| db_err(p, e))?;
        Ok(())
    }

    /// Applies a finalized block and stores it, atomically. A height already applied is
    /// a no-op (`Ok(None)`); if the write fails the in-memory ledger stays at the last
    /// stored block.
    pub fn apply(&mut self, block: &Block) -> Result<Option<Applied>> {
        self.apply_with(block, &|_| false)
    }

    /// [`Store::apply`], with the transactions whose signatures the caller verified
    /// (see [`Ledger::next_with`]).
    pub fn apply_with(&mut self, block: &Block, verified: &dyn Fn(&Hash) -> bool) -> Result<Option<Applied>> {
        let Some((next, applied)) = self.ledger.next_with(block, verified)? else {
            return Ok(None);
        };
        let p = self.path.clone();
        let txn = self.write_txn()?;
        {
            let events =
                serde_json::to_vec(&applied.events).map_err(|e| corrupt(&p, format!("encoding events: {e}")))?;
            let mut blocks = txn.open_table(BLOCKS).map_err(|e| db_err(&p, e))?;
            blocks
                .insert(block.height, block.encode().as_slice())
                .map_err(|e| db_err(&p, e))?;
            let mut digests = txn.open_table(DIGESTS).map_err(|e| db_err(&p, e))?;
            digests
                .insert(block.height, applied.digest.0.as_slice())
                .map_err(|e| db_err(&p, e))?;
            let mut ev = txn.open_table(EVENTS).map_err(|e| db_err(&p, e))?;
            ev.insert(block.height, events.as_slice()).map_err(|e| db_err(&p, e))?;
            let mut rounds = txn.open_table(ROUNDS).map_err(|e| db_err(&p, e))?;
            let mut failed = None;
            let changed = history::update(block, &applied, &next, &mut |id| match rounds
                .get(id.0)
                .map(|v| v.map(|v| serde_json::from_slice::<RoundRecord>(v.value())))
            {
                Ok(Some(Ok(r))) => Some(r),
                Ok(None) => None,
                Ok(Some(Err(e))) => {
                    failed = Some(corrupt(&p, format!("round {}: {e}", id.0)));
                    None
                }
                Err(e) => {
                    failed = Some(db_err(&p, e));
                    None
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            let mut requests = txn.open_table(REQUESTS).map_err(|e| db_err(&p, e))?;
            for (id, record) in changed {
                if record.submitted == block.height {
                    requests
                        .insert(&record.receipt.request.0, id.0)
                        .map_err(|e| db_err(&p, e))?;
                }
                let json =
                    serde_json::to_vec(&record).map_err(|e| corrupt(&p, format!("encoding round {}: {e}", id.0)))?;
                rounds.insert(id.0, json.as_slice()).map_err(|e| db_err(&p, e))?;
            }
        }
        self.write_state(&txn, &next)?;
        txn.commit().map_err(|e| db_err(&p, e))?;
        self.ledger = next;
        Ok(Some(applied))
    }

    /// A reader of the stored blocks, events and rounds that needs no access to the
    /// store itself (redb serves reads beside the writer).
    pub fn reader(&self) -> Reader {
        Reader {
            db: self.db.clone(),
            path: self.path.clone(),
        }
    }

    /// The stored block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>> {
        let p = &self.path;
        let txn = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let blocks = txn.open_table(BLOCKS).map_err(|e| db_err(p, e))?;
        let Some(bytes) = blocks.get(height).map_err(|e| db_err(p, e))? else {
            return Ok(None);
        };
        Block::decode(bytes.value())
            .map(Some)
            .map_err(|e| corrupt(p, format!("block {height}: {e}")))
    }

    /// The chained digest stored for `height`.
    pub fn digest_at(&self, height: u64) -> Result<Option<Hash>> {
        let p = &self.path;
        let txn = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let digests = txn.open_table(DIGESTS).map_err(|e| db_err(p, e))?;
        let Some(v) = digests.get(height).map_err(|e| db_err(p, e))? else {
            return Ok(None);
        };
        hash_of(p, "a digest", v.value()).map(Some)
    }

    /// The stored events of the block at `height`, as JSON.
    pub fn events_json(&self, height: u64) -> Result<Option<Vec<u8>>> {
        self.reader().events_json(height)
    }

    /// Replays every stored block from `genesis` and checks each height's digest
    /// against the stored one and the final state against the stored state; returns the
    /// final digest.
    pub fn verify(&self, genesis: &Genesis) -> Result<Hash> {
        let p = &self.path;
        let mut replay = Ledger::genesis(genesis)?;
        let txn = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let blocks = txn.open_table(BLOCKS).map_err(|e| db_err(p, e))?;
        let digests = txn.open_table(DIGESTS).map_err(|e| db_err(p, e))?;
        for entry in blocks.iter().map_err(|e| db_err(p, e))? {
            let (height, bytes) = entry.map_err(|e| db_err(p, e))?;
            let height = height.value();
            let block = Block::decode(bytes.value()).map_err(|e| corrupt(p, format!("block {height}: {e}")))?;
            if block.height != height {
                return Err(corrupt(
                    p,
                    format!("the block under key {height} says height {}", block.height),
                ));
            }
            replay.apply(&block)?;
            let stored = digests
                .get(height)
                .map_err(|e| db_err(p, e))?
                .ok_or_else(|| corrupt(p, format!("no digest for height {height}")))?;
            let stored = hash_of(p, "a digest", stored.value())?;
            if stored != *replay.digest() {
                return Err(NodeError::DigestMismatch {
                    path: p.clone(),
                    height,
                    replayed: *replay.digest(),
                    stored,
                });
            }
        }
        if replay != self.ledger {
            return Err(corrupt(
                p,
                format!(
                    "the stored state (height {}) differs from the replay of its blocks (height {})",
                    self.ledger.height(),
                    replay.height()
                ),
            ));
        }
        Ok(*replay.digest())
    }
}

/// Reads a store beside its writer ([`Store::reader`]).
#[derive(Debug, Clone)]
pub struct Reader {
    db: Arc<Database>,
    path: PathBuf,
}

impl Reader {
    /// The record of round `id`, if it was ever submitted.
    pub fn round(&self, id: RoundId) -> Result<Option<RoundRecord>> {
        let p = &self.path;
        let txn = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let rounds = txn.open_table(ROUNDS).map_err(|e| db_err(p, e))?;
        let Some(v) = rounds.get(id.0).map_err(|e| db_err(p, e))? else {
            return Ok(None);
        };
        serde_json::from_slice(v.value())
            .map(Some)
            .map_err(|e| corrupt(p, format!("round {}: {e}", id.0)))
    }

    /// The record of the round that carries the receipt for `request`.
    pub fn round_of_request(&self, request: &Hash) -> Result<Option<RoundRecord>> {
        let p = &self.path;
        let txn = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let requests = txn.open_table(REQUESTS).map_err(|e| db_err(p, e))?;
        let Some(id) = requests.get(&request.0).map_err(|e| db_err(p, e))? else {
            return Ok(None);
        };
        let id = RoundId(id.value());
        drop((requests, txn));
        self.round(id)
    }

    /// The rounds submitted or closed by the blocks above `after`, up to `max_heights`
    /// blocks of them: (the last height covered, the rounds submitted there, the rounds
    /// closed there), each round as it stands now.
    pub fn changes(&self, after: u64, max_heights: u64) -> Result<(u64, Vec<RoundRecord>, Vec<RoundRecord>)> {
        use poq_ledger::Event;
        let p = &self.path;
        let txn = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let events = txn.open_table(EVENTS).map_err(|e| db_err(p, e))?;
        let rounds = txn.open_table(ROUNDS).map_err(|e| db_err(p, e))?;
        let (mut last, mut submitted, mut closed) = (after, Vec::new(), Vec::new());
        let Some(from) = after.checked_add(1) else {
            return Ok((last, submitted, closed));
        };
        let to = after.saturating_add(max_heights);
        for entry in events.range(from..=to).map_err(|e| db_err(p, e))? {
            let (h, v) = entry.map_err(|e| db_err(p, e))?;
            last = h.value();
            let evs: Vec<Event> =
                serde_json::from_slice(v.value()).map_err(|e| corrupt(p, format!("events at {last}: {e}")))?;
            for e in evs {
                let (id, into) = match &e {
                    Event::Submitted { round, .. } => (*round, &mut submitted),
                    Event::Finalized { outcome, .. } => (outcome.round, &mut closed),
                    Event::Expired { expiry, .. } => (expiry.round, &mut closed),
                    _ => continue,
                };
                if let Some(r) = rounds.get(id.0).map_err(|e| db_err(p, e))? {
                    into.push(
                        serde_json::from_slice(r.value()).map_err(|e| corrupt(p, format!("round {}: {e}", id.0)))?,
                    );
                }
            }
        }
        Ok((last, submitted, closed))
    }

    /// The `limit` most recent rounds (by id, newest first), at most those below
    /// `before` when given.
    pub fn recent_rounds(&self, limit: usize, before: Option<RoundId>) -> Result<Vec<RoundRecord>> {
        let p = &self.path;
        let txn = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let rounds = txn.open_table(ROUNDS).map_err(|e| db_err(p, e))?;
        let range = match before {
            Some(b) => rounds.range(..b.0),
            None => rounds.range(0..),
        }
        .map_err(|e| db_err(p, e))?;
        let mut out = Vec::new();
        for entry in range.rev().take(limit) {
            let (k, v) = entry.map_err(|e| db_err(p, e))?;
            out.push(serde_json::from_slice(v.value()).map_err(|e| corrupt(p, format!("round {}: {e}", k.value())))?);
        }
        Ok(out)
    }

    /// The stored events of the block at `height`, as JSON.
    pub fn events_json(&self, height: u64) -> Result<Option<Vec<u8>>> {
        let p = &self.path;
        let txn = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let events = txn.open_table(EVENTS).map_err(|e| db_err(p, e))?;
        Ok(events
            .get(height)
            .map_err(|e| db_err(p, e))?
            .map(|v| v.value().to_vec()))
    }
}
