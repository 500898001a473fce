//! A pinned random generator and the few draws the core needs.
//!
//! Committees must be identical on every platform and for every future build, so the
//! core does not rely on any RNG crate's output stream (those change between versions).
//! [`Xoshiro256PlusPlus`] is implemented here from its published definition (Blackman and
//! Vigna, 2018) and tested against the reference outputs; the draws ([`unit_f64`],
//! [`below`], [`standard_normal`], [`chance`]) are implemented here too and take any
//! `&mut impl Rng`, so callers may bring their own generator where stability across
//! builds does not matter.

use rand_core::{Rng, SeedableRng, TryRng};
use std::convert::Infallible;

/// The xoshiro256++ generator: 256 bits of state, period 2^256 − 1, fast and well
/// tested. Not cryptographic: committee seeds must come from an unbiasable source
/// (spec §1), the generator only expands them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xoshiro256PlusPlus {
    s: [u64; 4],
}

/// One step of SplitMix64, used to expand small seeds and to replace the forbidden
/// all-zero state.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Xoshiro256PlusPlus {
    /// Builds the generator from a 32-byte seed read as four little-endian words.
    /// The all-zero seed (a fixed point of the generator) is replaced by the SplitMix64
    /// expansion of 0, so every seed is usable.
    pub fn from_seed_bytes(seed: [u8; 32]) -> Self {
        let mut s = [0u64; 4];
        for (i, word) in s.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&seed[i * 8..i * 8 + 8]);
            *word = u64::from_le_bytes(b);
        }
        if s == [0; 4] {
            let mut st = 0u64;
            for word in s.iter_mut() {
                *word = splitmix64(&mut st);
            }
        }
        Self { s }
    }

    /// Builds the generator from a 64-bit seed expanded with SplitMix64 (the expansion
    /// the xoshiro authors recommend).
    pub fn from_u64(seed: u64) -> Self {
        let mut st = seed;
        let mut s = [0u64; 4];
        for word in s.iter_mut() {
            *word = splitmix64(&mut st);
        }
        Self { s }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_word(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

impl TryRng for Xoshiro256PlusPlus {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        // The high bits are the better ones for the ++ scrambler.
        Ok((self.next_word() >> 32) as u32)
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_word())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_word().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl SeedableRng for Xoshiro256PlusPlus {
    type Seed = [u8; 32];

    fn from_seed(seed: [u8; 32]) -> Self {
        Self::from_seed_bytes(seed)
    }

    fn seed_from_u64(state: u64) -> Self {
        Self::from_u64(state)
    }
}

/// Derives an independent 32-byte seed for sub-stream `stream` of a master seed, so
/// that, e.g., each simulation cell or round gets its own generator regardless of the
/// order in which threads reach it.
pub fn derive_seed(master: &[u8; 32], stream: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut acc = stream ^ 0x6A09_E667_F3BC_C908;
    for (i, chunk) in master.chunks(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        acc ^= u64::from_le_bytes(b).rotate_left(i as u32 * 16 + 1);
        let word = splitmix64(&mut acc);
        out[i * 8..i * 8 + 8].copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// A uniform draw in [0, 1) with 53 random bits (the top bits of one `u64`).
#[inline]
pub fn unit_f64(rng: &mut impl Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in `0..n`, without modulo bias (Lemire's multiply-and-reject).
/// `n` must be at least 1; `below(rng, 0)` returns 0 rather than panicking.
#[inline]
pub fn below(rng: &mut impl Rng, n: u64) -> u64 {
    if n <= 1 {
        return 0;
    }
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// Shuffles `items` in place (Fisher–Yates from the back, one [`below`] draw per
/// position), so a seed gives the same order on every platform.
pub fn shuffle<T>(rng: &mut impl Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(rng, i as u64 + 1) as usize);
    }
}

/// `true` with probability `p` (`p` outside [0, 1] behaves as its nearest bound).
#[inline]
pub fn chance(rng: &mut impl Rng, p: f64) -> bool {
    unit_f64(rng) < p
}

/// A standard normal draw (Box–Muller, one value per two uniforms; the second value
/// is discarded so that each call consumes a fixed number of draws).
#[inline]
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    // 1 − u lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - unit_f64(rng);
    let u2 = unit_f64(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Two independent standard normal draws from one Box–Muller step (both the cosine and
/// the sine branch), for callers that need many: half the logarithms and square roots of
/// two [`standard_normal`] calls.
#[inline]
pub fn standard_normal_pair(rng: &mut impl Rng) -> (f64, f64) {
    let u1 = 1.0 - unit_f64(rng);
    let u2 = unit_f64(rng);
    let r = (-2.0 * u1.ln()).sqrt();
    let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
    (r * c, r * s)
}
