//! The committee seed: who scores a round, derived from inputs nobody controls alone.
//!
//! seed = SHA-256("poq/committee-seed/v1" ‖ 0x00 ‖ beacon ‖ round id as u64 little-endian)
//!
//! The 21-byte domain string and the zero byte separate this hash from every other use
//! of SHA-256 in poq; the beacon is 32 bytes the caller supplies (the simulator: a
//! labelled stream of its master seed; the node: a finalized block digest), and the
//! round id makes every round's committee different under one beacon. The seed is then
//! expanded by the pinned generator of [`crate::committee`] into K distinct positions
//! among the evaluators registered for the round's task, so anyone holding the beacon,
//! the round id and the registry recomputes the same committee on any platform.
//!
//! What this does not give: a beacon chosen by one party (a block proposer) can be
//! ground, trying digests until a favourable committee comes out. A threshold VRF
//! beacon removes that; the derivation here does not change when it arrives.

use crate::RoundId;
use sha2::{Digest, Sha256};

/// The domain-separation prefix of the committee seed.
pub const COMMITTEE_SEED_DOMAIN: &[u8; 21] = b"poq/committee-seed/v1";

/// The committee seed of round `round` under `beacon` (see the module docs).
pub fn committee_seed(beacon: &[u8; 32], round: RoundId) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(COMMITTEE_SEED_DOMAIN);
    h.update([0u8]);
    h.update(beacon);
    h.update(round.0.to_le_bytes());
    h.finalize().into()
}
