//! The gateway's content store (redb): the bytes of every round it submitted, which the
//! committee fetches to score. Written durably before the round is submitted, so a
//! gateway that crashes and restarts still serves the rounds it had submitted.

use crate::content::Content;
use crate::error::{NodeError, Result};
use poq_ledger::Hash;
use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const CONTENT: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("content");

/// The content store.
#[derive(Debug, Clone)]
pub struct ContentStore {
    db: Arc<Database>,
    path: PathBuf,
}

fn db_err(path: &Path, e: impl Into<redb::Error>) -> NodeError {
    NodeError::Store {
        path: path.to_path_buf(),
        source: Box::new(e.into()),
    }
}

impl ContentStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path).map_err(|e| db_err(path, e))?;
        let txn = db.begin_write().map_err(|e| db_err(path, e))?;
        txn.open_table(CONTENT).map_err(|e| db_err(path, e))?;
        txn.commit().map_err(|e| db_err(path, e))?;
        Ok(Self {
            db: Arc::new(db),
            path: path.to_path_buf(),
        })
    }

    /// Stores `content` durably.
    pub fn put(&self, content: &Content) -> Result<()> {
        let p = &self.path;
        let json = serde_json::to_vec(content).map_err(|e| NodeError::Corrupt {
            path: p.clone(),
            reason: format!("encoding content: {e}"),
        })?;
        let mut txn = self.db.begin_write().map_err(|e| db_err(p, e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| db_err(p, redb::Error::from(e)))?;
        {
            let mut t = txn.open_table(CONTENT).map_err(|e| db_err(p, e))?;
            t.insert(&content.request.0, json.as_slice())
                .map_err(|e| db_err(p, e))?;
        }
        txn.commit().map_err(|e| db_err(p, e))
    }

    /// The content of `request`, if stored.
    pub fn get(&self, request: &Hash) -> Result<Option<Content>> {
        let p = &self.path;
        let txn = self.db.begin_read().map_err(|e| db_err(p, e))?;
        let t = txn.open_table(CONTENT).map_err(|e| db_err(p, e))?;
        let Some(v) = t.get(&request.0).map_err(|e| db_err(p, e))? else {
            return Ok(None);
        };
        serde_json::from_slice(v.value())
            .map(Some)
            .map_err(|e| NodeError::Corrupt {
                path: p.clone(),
                reason: format!("content of {request}: {e}"),
            })
    }
}
