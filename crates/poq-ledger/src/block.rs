//! Blocks: an ordered list of transactions at a height, chained to its parent.
//!
//! A block holds transactions as wire bytes, so a block can carry a transaction the
//! ledger then rejects (a bad signature, a late reveal): consensus orders bytes, the
//! ledger decides what they mean, and every node decides the same.
//!
//! **Digest**: [`Hash::of`]`("poq/block/v1", height ‖ parent ‖ count ‖ per
//! transaction its length and bytes)`, integers as little-endian `u64`.

use crate::codec::Reader;
use crate::digest::Hash;
use crate::error::DecodeError;
use crate::tx::MAX_TX_BYTES;
use poq_core::encoding::Encoder;
use serde::{Deserialize, Serialize};

/// The most transactions one block may carry.
pub const MAX_BLOCK_TXS: usize = 10_000;

/// A block of transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Its height (the genesis state is height 0; the first block is 1).
    pub height: u64,
    /// The digest of the block at `height − 1` (all zeros for the first block).
    pub parent: Hash,
    /// Transactions in their wire encoding, in the order they apply.
    pub txs: Vec<Vec<u8>>,
}

impl Block {
    /// The canonical encoding (the digest's preimage, and the block's bytes on the
    /// wire and in the store).
    pub fn encode(&self) -> Vec<u8> {
        let mut enc = Encoder::new();
        enc.u64(self.height).raw(&self.parent.0).usize(self.txs.len());
        for tx in &self.txs {
            enc.bytes(tx);
        }
        enc.finish()
    }

    /// Decodes [`Block::encode`] strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let height = r.u64("block height")?;
        let parent = Hash(r.array("block parent")?);
        let n = r.len("block transactions", MAX_BLOCK_TXS)?;
        let mut txs = Vec::with_capacity(n);
        for _ in 0..n {
            txs.push(r.bytes("block transaction", MAX_TX_BYTES)?.to_vec());
        }
        r.finish()?;
        Ok(Block { height, parent, txs })
    }

    /// The block's digest.
    pub fn digest(&self) -> Hash {
        Hash::of("poq/block/v1", &[&self.encode()])
    }
}
