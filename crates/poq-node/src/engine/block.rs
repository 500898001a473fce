//! The ledger's block as the engine carries it.
//!
//! The engine's block *is* the ledger's: its codec writes [`poq_ledger::Block::encode`]
//! as one length-prefixed byte string and reads it back through the ledger's strict
//! decoder, and its digest is the ledger's [`poq_ledger::Block::digest`]. So the digest
//! that validators sign in their finalization certificates is the digest the ledger
//! chains and draws committees from, and a follower can check a stored block against a
//! certificate without translating anything.

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, Write};
use commonware_consensus::types::Height;
use commonware_consensus::{BoundedBlock, Heightable};
use commonware_cryptography::Digestible;
use commonware_cryptography::sha256::Digest;
use poq_ledger::Hash;
use poq_ledger::block::MAX_BLOCK_BYTES;

/// A ledger block with its digest computed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBlock {
    block: poq_ledger::Block,
    encoded: Vec<u8>,
    digest: Digest,
}

/// The engine's digest of a ledger hash.
pub fn to_digest(h: &Hash) -> Digest {
    Digest(h.0)
}

/// The ledger hash of an engine digest.
pub fn to_hash(d: &Digest) -> Hash {
    Hash(d.0)
}

impl ChainBlock {
    /// Wraps a ledger block.
    pub fn new(block: poq_ledger::Block) -> Self {
        let encoded = block.encode();
        let digest = to_digest(&poq_ledger::Block::digest_of(&encoded));
        Self { block, encoded, digest }
    }

    /// The ledger block.
    pub fn block(&self) -> &poq_ledger::Block {
        &self.block
    }
}

impl Write for ChainBlock {
    fn write(&self, buf: &mut impl BufMut) {
        self.encoded.write(buf);
    }
}

impl EncodeSize for ChainBlock {
    fn encode_size(&self) -> usize {
        self.encoded.encode_size()
    }
}

impl Read for ChainBlock {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let range: RangeCfg<usize> = (0..=MAX_BLOCK_BYTES).into();
        let bytes = Vec::<u8>::read_cfg(buf, &(range, ()))?;
        let block = poq_ledger::Block::decode(&bytes).map_err(|e| CodecError::Wrapped("poq block", Box::new(e)))?;
        Ok(Self::new(block))
    }
}

impl Digestible for ChainBlock {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        self.digest
    }
}

impl Heightable for ChainBlock {
    fn height(&self) -> Height {
        Height::new(self.block.height)
    }
}

impl commonware_consensus::Block for ChainBlock {
    fn parent(&self) -> Digest {
        to_digest(&self.block.parent)
    }
}

impl BoundedBlock for ChainBlock {
    fn max_encode_size(_: &()) -> usize {
        // The length prefix (a varint of at most 10 bytes) and the bytes.
        10 + MAX_BLOCK_BYTES
    }
}
