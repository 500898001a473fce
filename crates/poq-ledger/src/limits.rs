//! Size limits of transactions and blocks (what the decoders enforce).

/// The longest transaction accepted, in bytes.
pub const MAX_TX_BYTES: usize = 32 * 1024;
/// The longest model or scorer name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// The longest spot-check reference answer, in bytes.
pub const MAX_REFERENCE_BYTES: usize = 16 * 1024;
/// The most transactions one block may carry.
pub const MAX_BLOCK_TXS: usize = 8_192;
/// The largest encoded block, in bytes.
pub const MAX_BLOCK_BYTES: usize = 1 << 20;
/// Encoded bytes of a block besides its transactions' own bytes: the header, and 8 per
/// transaction for its length.
pub const BLOCK_OVERHEAD: usize = 8 + 32 + 8 + 8;
