//! Tests of `poq_core::aggregate`: hand-computed cases and properties.

use poq_core::CoreError;
use poq_core::aggregate::{
    Rule, aggregate, lower_median, mean, median, trim_count, trimmed_mean, weighted_mean, weighted_median,
};
use proptest::prelude::*;

#[test]
fn hand_computed_cases() {
    assert_eq!(mean(&[1.0, 2.0, 6.0]).unwrap(), 3.0);
    assert_eq!(median(&[9.0, 1.0, 2.0]).unwrap(), 2.0);
    assert_eq!(median(&[4.0, 1.0, 2.0, 9.0]).unwrap(), 3.0);
    // K = 5, τ = 0.2: drop one from each end of [0, 1, 2, 3, 10] → mean(1, 2, 3) = 2.
    let t = trimmed_mean(&[10.0, 0.0, 3.0, 1.0, 2.0], 0.2).unwrap();
    assert_eq!((t.value, t.per_side), (2.0, 1));
    // K = 3, τ = 0.2: ⌊0.6⌋ = 0, nothing dropped, equals the mean, and says so.
    let t = trimmed_mean(&[0.0, 3.0, 9.0], 0.2).unwrap();
    assert_eq!((t.value, t.per_side), (4.0, 0));
    // (1·2 + 3·6) / (1 + 3) = 20 / 4 = 5.
    assert_eq!(weighted_mean(&[2.0, 6.0], &[1.0, 3.0]).unwrap(), 5.0);
    // Sorted [1 (w 1), 5 (w 1), 8 (w 3)], total 5: cumulative 1, 2, 5 → first ≥ 2.5 is 8.
    assert_eq!(weighted_median(&[8.0, 1.0, 5.0], &[3.0, 1.0, 1.0]).unwrap(), 8.0);
    // Cumulative exactly half: [2 (w 1), 7 (w 1)] → 2 reaches 1 ≥ 1.
    assert_eq!(weighted_median(&[7.0, 2.0], &[1.0, 1.0]).unwrap(), 2.0);
    // Ties count together: [3 (w 1), 3 (w 1), 9 (w 1.5)], total 3.5 → 3 reaches 2 ≥ 1.75.
    assert_eq!(weighted_median(&[9.0, 3.0, 3.0], &[1.5, 1.0, 1.0]).unwrap(), 3.0);
}

#[test]
fn huge_finite_weights_do_not_overflow() {
    assert_eq!(weighted_mean(&[5.0, 5.0], &[1e308, 1e308]).unwrap(), 5.0);
    // (1e308 · 2 + 1e308 · 8) / 2e308 = 5, computed on scaled weights.
    assert_eq!(weighted_mean(&[2.0, 8.0], &[1e308, 1e308]).unwrap(), 5.0);
    assert_eq!(weighted_median(&[2.0, 8.0, 9.0], &[1e308, 1e308, 1e308]).unwrap(), 8.0);
}

#[test]
fn trim_count_absorbs_binary_rounding() {
    assert_eq!(trim_count(0.29, 100), 29);
    assert_eq!(trim_count(0.2, 5), 1);
    assert_eq!(trim_count(0.2, 4), 0);
    assert_eq!(trim_count(0.3, 10), 3);
}

#[test]
fn bad_inputs_name_the_offender() {
    assert_eq!(mean(&[]), Err(CoreError::EmptyScores));
    assert_eq!(
        median(&[1.0, 10.5]),
        Err(CoreError::ScoreOutOfRange { index: 1, value: 10.5 })
    );
    assert_eq!(
        median(&[-0.1]),
        Err(CoreError::ScoreOutOfRange { index: 0, value: -0.1 })
    );
    assert!(matches!(
        mean(&[1.0, f64::NAN]),
        Err(CoreError::ScoreNotFinite { index: 1, .. })
    ));
    assert!(matches!(
        mean(&[f64::INFINITY]),
        Err(CoreError::ScoreNotFinite { index: 0, .. })
    ));
    assert_eq!(
        weighted_mean(&[1.0, 2.0], &[1.0]),
        Err(CoreError::WeightCountMismatch { scores: 2, weights: 1 })
    );
    assert_eq!(
        weighted_median(&[1.0, 2.0], &[1.0, 0.0]),
        Err(CoreError::InvalidWeight { index: 1, value: 0.0 })
    );
    assert_eq!(
        aggregate(Rule::WeightedMean, &[1.0], None),
        Err(CoreError::MissingWeights { rule: "weighted-mean" })
    );
    assert!(matches!(
        trimmed_mean(&[1.0], 0.5),
        Err(CoreError::InvalidParameter { name: "trim", .. })
    ));
    assert!(matches!(
        Rule::from_name("avg", 0.2),
        Err(CoreError::UnknownName { .. })
    ));
}

#[test]
fn breakdown_points() {
    assert_eq!(Rule::Mean.breakdown_point(7), 0.0);
    assert_eq!(Rule::Median.breakdown_point(7), 3.0 / 7.0);
    assert_eq!(Rule::Median.breakdown_point(4), 1.0 / 4.0);
    assert_eq!(Rule::TrimmedMean { trim: 0.2 }.breakdown_point(10), 0.2);
    assert_eq!(Rule::TrimmedMean { trim: 0.2 }.breakdown_point(3), 0.0);
}

/// A median survives fewer than half arbitrary outliers: with h honest scores and
/// o < h outliers anywhere, it stays within the honest range.
#[test]
fn median_breakdown_is_tight() {
    let honest = [4.0, 5.0, 6.0, 5.5];
    // 3 outliers of 7: within the honest range.
    let mut v = honest.to_vec();
    v.extend([10.0, 10.0, 10.0]);
    let m = median(&v).unwrap();
    assert!((4.0..=6.0).contains(&m));
    // 4 outliers of 7: now they own it.
    let v = [4.0, 5.0, 6.0, 10.0, 10.0, 10.0, 10.0];
    assert_eq!(median(&v).unwrap(), 10.0);
}

fn scores(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.0..=10.0f64, 1..max_len)
}

fn scored_weights() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    scores(40).prop_flat_map(|s| {
        let n = s.len();
        (Just(s), prop::collection::vec(0.01..=5.0f64, n))
    })
}

fn all_rules() -> [Rule; 5] {
    [
        Rule::Mean,
        Rule::Median,
        Rule::TrimmedMean { trim: 0.2 },
        Rule::WeightedMean,
        Rule::WeightedMedian,
    ]
}

proptest! {
    // A fixed seed: CI explores the same cases on every run, and a failure names them.
    #![proptest_config(ProptestConfig {
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0051_7a7e),
        failure_persistence: None,
        cases: 512,
        ..ProptestConfig::default()
    })]

    #[test]
    fn permutation_invariant((s, w) in scored_weights(), rot in 0usize..40, seed in any::<u64>()) {
        // A deterministic shuffle of the (score, weight) pairs.
        let mut idx: Vec<usize> = (0..s.len()).collect();
        idx.rotate_left(rot % s.len());
        let mut x = seed | 1;
        for i in (1..idx.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            idx.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let s2: Vec<f64> = idx.iter().map(|&i| s[i]).collect();
        let w2: Vec<f64> = idx.iter().map(|&i| w[i]).collect();
        for rule in all_rules() {
            // Bit-identical, not merely close: any node must recompute the same value.
            prop_assert_eq!(
                aggregate(rule, &s, Some(&w)).unwrap().to_bits(),
                aggregate(rule, &s2, Some(&w2)).unwrap().to_bits(),
                "rule {}", rule.name()
            );
        }
    }

    #[test]
    fn within_min_max((s, w) in scored_weights()) {
        let lo = s.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for rule in all_rules() {
            let c = aggregate(rule, &s, Some(&w)).unwrap();
            prop_assert!(lo <= c && c <= hi, "rule {} gave {} outside [{}, {}]", rule.name(), c, lo, hi);
        }
    }

    #[test]
    fn trimmed_mean_without_trim_is_the_mean(s in scores(40)) {
        prop_assert_eq!(trimmed_mean(&s, 0.0).unwrap().value, mean(&s).unwrap());
    }

    #[test]
    fn median_unmoved_by_a_minority_of_outliers(
        honest in prop::collection::vec(3.0..=7.0f64, 3..30),
        outlier in prop::sample::select(vec![0.0, 10.0]),
        frac in 0.0..1.0f64,
    ) {
        // Strictly fewer outliers than honest scores.
        let o = ((honest.len() - 1) as f64 * frac) as usize;
        let lo = honest.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = honest.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut v = honest.clone();
        v.extend(std::iter::repeat_n(outlier, o));
        let m = median(&v).unwrap();
        prop_assert!(lo <= m && m <= hi, "{} outliers at {} moved the median to {}", o, outlier, m);
    }

    #[test]
    fn equal_weights_give_the_unweighted_forms(s in scores(40), w in 0.01..=5.0f64) {
        let ws = vec![w; s.len()];
        let wm = weighted_mean(&s, &ws).unwrap();
        let m = mean(&s).unwrap();
        // Σ w·s / Σ w and Σ s / K differ only by rounding.
        prop_assert!((wm - m).abs() <= 1e-12 * 10.0, "weighted mean {} vs mean {}", wm, m);
        // The weighted median is defined as the smallest score reaching half the weight:
        // with equal weights that is the lower median (the median itself for odd K).
        let wmed = weighted_median(&s, &ws).unwrap();
        prop_assert_eq!(wmed, lower_median(&s).unwrap());
        if s.len() % 2 == 1 {
            prop_assert_eq!(wmed, median(&s).unwrap());
        }
    }
}
