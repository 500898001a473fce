//! Blocks: an ordered list of transactions at a height, chained to its parent.
//!
//! A block holds transactions as wire bytes, so a block can carry a transaction the
//! ledger then rejects (a bad signature, a late reveal): consensus orders bytes, the
//! ledger decides what they mean, and every node decides the same.
//!
//! **Encoding** (the digest's preimage, the wire and the store): height, parent (32
//! bytes), view, count, then per transaction its length and bytes; integers as
//! little-endian `u64`. **Digest**: [`Hash::of`]`("poq/block/v1", encoding)`. The view
//! (the consensus round that proposed the block) keeps two proposals at one height
//! apart even when both are empty; the ledger does not otherwise read it.
//!
//! Height 0 is [`Block::genesis`], whose parent is the network id: every chain starts
//! from its network's own genesis digest.

use crate::codec::Reader;
use crate::digest::Hash;
use crate::error::DecodeError;
use crate::limits::MAX_TX_BYTES;
use poq_core::encoding::Encoder;
use serde::{Deserialize, Serialize};

pub use crate::limits::{BLOCK_OVERHEAD, MAX_BLOCK_BYTES, MAX_BLOCK_TXS};

/// A block of transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Its height (the genesis state is height 0; the first block is 1).
    pub height: u64,
    /// The digest of the block at `height − 1` (of [`Block::genesis`] for the first).
    pub parent: Hash,
    /// The consensus view that proposed it.
    pub view: u64,
    /// Transactions in their wire encoding, in the order they apply.
    pub txs: Vec<Vec<u8>>,
}

impl Block {
    /// The block at height 0 of the network `network`.
    pub fn genesis(network: &Hash) -> Self {
        Block {
            height: 0,
            parent: *network,
            view: 0,
            txs: Vec::new(),
        }
    }

    /// The encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        BLOCK_OVERHEAD + self.txs.iter().map(|t| 8 + t.len()).sum::<usize>()
    }

    /// The canonical encoding (the digest's preimage, and the block's bytes on the
    /// wire and in the store).
    pub fn encode(&self) -> Vec<u8> {
        let mut enc = Encoder::new();
        enc.u64(self.height)
            .raw(&self.parent.0)
            .u64(self.view)
            .usize(self.txs.len());
        for tx in &self.txs {
            enc.bytes(tx);
        }
        enc.finish()
    }

    /// Decodes [`Block::encode`] strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(DecodeError::TooLong {
                what: "block",
                len: bytes.len() as u64,
                max: MAX_BLOCK_BYTES,
            });
        }
        let mut r = Reader::new(bytes);
        let height = r.u64("block height")?;
        let parent = Hash(r.array("block parent")?);
        let view = r.u64("block view")?;
        let n = r.len("block transactions", MAX_BLOCK_TXS)?;
        let mut txs = Vec::with_capacity(n);
        for _ in 0..n {
            txs.push(r.bytes("block transaction", MAX_TX_BYTES)?.to_vec());
        }
        r.finish()?;
        Ok(Block {
            height,
            parent,
            view,
            txs,
        })
    }

    /// The block's digest.
    pub fn digest(&self) -> Hash {
        Self::digest_of(&self.encode())
    }

    /// The digest of a block from its encoding (saves encoding twice).
    pub fn digest_of(encoded: &[u8]) -> Hash {
        Hash::of("poq/block/v1", &[encoded])
    }
}
