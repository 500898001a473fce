//! Committee sampling: K of N evaluators without replacement (spec §1, step 2).
//!
//! Draws are positions `0..n` in a pool; [`crate::protocol::Protocol`] maps them to the
//! evaluators registered for a round's task.
//!
//! The seed comes from a source nobody controls alone (the node hashes the round id with
//! the ledger head); this module only expands it, with the generator pinned in
//! [`crate::rng`], so the same 32 bytes give the same committee on every platform and
//! every build. Committees are returned sorted ascending: a committee is a set, and a
//! canonical order keeps everything downstream independent of draw order.

use crate::rng::{Xoshiro256PlusPlus, below, unit_f64};
use crate::{CoreError, Result};
use rand_core::Rng;

fn check_size(n: usize, k: usize) -> Result<()> {
    if k == 0 || k > n || n > u32::MAX as usize {
        return Err(CoreError::CommitteeSize { k, n });
    }
    Ok(())
}

/// Draws `k` of `n` evaluators uniformly without replacement from `rng`.
///
/// Floyd's algorithm: exactly `k` draws and O(k²) work with no N-sized buffer, which is
/// what a round at K = 7 from a large pool wants.
pub fn draw_uniform(rng: &mut impl Rng, n: usize, k: usize) -> Result<Vec<u32>> {
    let mut chosen = Vec::with_capacity(k);
    draw_uniform_into(rng, n, k, &mut chosen)?;
    Ok(chosen)
}

/// [`draw_uniform`] into a caller's buffer (cleared first), so a simulation loop
/// allocates nothing per round. The draws, and so the committee, are the same.
pub fn draw_uniform_into(rng: &mut impl Rng, n: usize, k: usize, chosen: &mut Vec<u32>) -> Result<()> {
    check_size(n, k)?;
    chosen.clear();
    for j in (n - k)..n {
        let t = below(rng, j as u64 + 1) as u32;
        if chosen.contains(&t) {
            chosen.push(j as u32);
        } else {
            chosen.push(t);
        }
    }
    chosen.sort_unstable();
    Ok(())
}

/// Draws `k` evaluators without replacement with probability proportional to
/// `weights` (one per evaluator in the pool), from `rng`.
///
/// Successive draws: each pick takes a uniform point in [0, W) of the remaining weight
/// W and walks the cumulative sums. Only IEEE-754 additions, multiplications and
/// comparisons are involved (correctly rounded everywhere), never `ln` or `exp`, whose
/// last bits differ between math libraries; so weighted committees, like uniform ones,
/// are the same on every platform. O(k·N), which is fine for pools of thousands.
pub fn draw_weighted(rng: &mut impl Rng, weights: &[f64], k: usize) -> Result<Vec<u32>> {
    check_size(weights.len(), k)?;
    for (index, &value) in weights.iter().enumerate() {
        if !(value.is_finite() && value > 0.0) {
            return Err(CoreError::InvalidWeight { index, value });
        }
    }
    // Scale exactly (by a power of two) so the largest weight is below 2: sums of up
    // to N terms cannot overflow.
    let max = crate::aggregate::pow2_floor(weights.iter().copied().fold(0.0, f64::max));
    let mut remaining: Vec<f64> = weights.iter().map(|w| w / max).collect();
    let mut chosen: Vec<u32> = Vec::with_capacity(k);
    for _ in 0..k {
        let total: f64 = remaining.iter().sum();
        let target = unit_f64(rng) * total;
        let mut cum = 0.0;
        // Fallback: rounding can leave `target` a hair above the last cumulative sum;
        // then the last evaluator still in the running is the pick.
        let mut pick = remaining.iter().rposition(|&w| w > 0.0).unwrap_or(0);
        for (i, &w) in remaining.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            cum += w;
            if target < cum {
                pick = i;
                break;
            }
        }
        remaining[pick] = 0.0;
        chosen.push(pick as u32);
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// The uniform committee for a 32-byte seed: `k` of `n`, sorted ascending.
pub fn sample_uniform(seed: &[u8; 32], n: usize, k: usize) -> Result<Vec<u32>> {
    draw_uniform(&mut Xoshiro256PlusPlus::from_seed_bytes(*seed), n, k)
}

/// The weighted committee for a 32-byte seed: `k` of `weights.len()`, sorted ascending.
pub fn sample_weighted(seed: &[u8; 32], weights: &[f64], k: usize) -> Result<Vec<u32>> {
    draw_weighted(&mut Xoshiro256PlusPlus::from_seed_bytes(*seed), weights, k)
}
