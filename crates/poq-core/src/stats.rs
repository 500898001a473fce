//! Summary statistics for alignment and detection: Pearson and Spearman correlation,
//! mean absolute error and the ROC AUC; and the normal and χ² quantiles CATD's
//! confidence-aware weights need. Used by the demo and the simulator to compare
//! consensus with ground truth and trust weights with who is really malicious.
//!
//! All functions return `None` where the statistic is undefined (too few points, zero
//! variance, one class missing) rather than a made-up number.

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(x: &[f64]) -> Option<f64> {
    (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64)
}

/// Population standard deviation; `None` for an empty slice.
pub fn std_dev(x: &[f64]) -> Option<f64> {
    let m = mean(x)?;
    Some((x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64).sqrt())
}

/// Pearson correlation; `None` if the lengths differ, n < 2 or a side is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let (mx, my) = (mean(x)?, mean(y)?);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

/// Ranks starting at 1, ties sharing their average rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation (Pearson on average ranks).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() {
        return None;
    }
    pearson(&ranks(x), &ranks(y))
}

/// Mean absolute error; `None` if the lengths differ or are zero.
pub fn mae(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.is_empty() {
        return None;
    }
    Some(x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f64>() / x.len() as f64)
}

/// ROC AUC of `score` for detecting `positive` items: the probability that a random
/// positive scores higher than a random negative, ties counting one half
/// (Mann–Whitney). `None` when a class is empty or the lengths differ.
pub fn auc(score: &[f64], positive: &[bool]) -> Option<f64> {
    if score.len() != positive.len() {
        return None;
    }
    let r = ranks(score);
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let rank_sum: f64 = r.iter().zip(positive).filter(|(_, p)| **p).map(|(r, _)| r).sum();
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos * n_neg) as f64)
}

/// Median of a slice, sorted in place (the mean of the two middle values for an even
/// length); `None` when empty. Callers pass finite values.
pub fn median_in_place(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let k = v.len();
    Some(if k % 2 == 1 {
        v[k / 2]
    } else {
        (v[k / 2 - 1] + v[k / 2]) / 2.0
    })
}

/// The standard normal quantile Φ⁻¹(p), by Acklam's rational approximation (relative
/// error under 1.2e-9); `None` unless 0 < p < 1.
pub fn normal_quantile(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.02425;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    Some(if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    })
}

/// The p-quantile of a χ² distribution with `k` degrees of freedom (k may be
/// fractional), by the Wilson–Hilferty cube approximation: k(1 − 2/(9k) + z√(2/(9k)))³
/// with z = Φ⁻¹(p). Its error is about 0.7% at k = 10 and p = 0.025 and shrinks as k
/// grows. For small k, where the cube's base turns negative, the quantile is reported
/// as 0 (at p = 0.025 that is k below about 1.26, where the exact quantile is under
/// 0.05). `None` unless 0 < p < 1 and k > 0 is finite.
pub fn chi_squared_quantile(p: f64, k: f64) -> Option<f64> {
    let z = normal_quantile(p)?;
    if !(k > 0.0 && k.is_finite()) {
        return None;
    }
    let a = 2.0 / (9.0 * k);
    let base = 1.0 - a + z * a.sqrt();
    Some(if base <= 0.0 { 0.0 } else { k * base * base * base })
}
