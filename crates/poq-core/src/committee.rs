//! Committee sampling: K of N evaluators without replacement (spec §1, step 2).
//!
//! The seed comes from a source nobody controls alone (the node hashes the round id with
//! the ledger head); this module only expands it, with the generator pinned in
//! [`crate::rng`], so the same 32 bytes give the same committee on every platform and
//! every build. Committees are returned sorted ascending: a committee is a set, and a
//! canonical order keeps everything downstream independent of draw order.

use crate::rng::{Xoshiro256PlusPlus, below, unit_f64};
use crate::{CoreError, EvaluatorId, Result};
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
pub fn draw_uniform(rng: &mut impl Rng, n: usize, k: usize) -> Result<Vec<EvaluatorId>> {
    check_size(n, k)?;
    let mut chosen: Vec<EvaluatorId> = Vec::with_capacity(k);
    for j in (n - k)..n {
        let t = below(rng, j as u64 + 1) as EvaluatorId;
        if chosen.contains(&t) {
            chosen.push(j as EvaluatorId);
        } else {
            chosen.push(t);
        }
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// Draws `k` evaluators without replacement with probability proportional to
/// `weights` (one per evaluator in the pool), from `rng`.
///
/// Efraimidis–Spirakis: each evaluator gets the key ln(u)/w for a uniform u in (0, 1],
/// and the `k` largest keys win; ties fall to the lower id. Weights must be finite and
/// positive.
pub fn draw_weighted(rng: &mut impl Rng, weights: &[f64], k: usize) -> Result<Vec<EvaluatorId>> {
    check_size(weights.len(), k)?;
    for (index, &value) in weights.iter().enumerate() {
        if !(value.is_finite() && value > 0.0) {
            return Err(CoreError::InvalidWeight { index, value });
        }
    }
    let mut keyed: Vec<(f64, EvaluatorId)> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| ((1.0 - unit_f64(rng)).ln() / w, i as EvaluatorId))
        .collect();
    keyed.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<EvaluatorId> = keyed[..k].iter().map(|&(_, id)| id).collect();
    chosen.sort_unstable();
    Ok(chosen)
}

/// The uniform committee for a 32-byte seed: `k` of `n`, sorted ascending.
pub fn sample_uniform(seed: &[u8; 32], n: usize, k: usize) -> Result<Vec<EvaluatorId>> {
    draw_uniform(&mut Xoshiro256PlusPlus::from_seed_bytes(*seed), n, k)
}

/// The weighted committee for a 32-byte seed: `k` of `weights.len()`, sorted ascending.
pub fn sample_weighted(seed: &[u8; 32], weights: &[f64], k: usize) -> Result<Vec<EvaluatorId>> {
    draw_weighted(&mut Xoshiro256PlusPlus::from_seed_bytes(*seed), weights, k)
}
