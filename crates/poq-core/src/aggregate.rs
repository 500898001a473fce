//! Consensus rules: how a committee's scores become one quality signal (spec §2).
//!
//! Every rule first sorts its inputs (scores ascending, ties by weight), so the result is
//! bit-identical whatever order the reports arrived in: any node can recompute a round's
//! consensus exactly. Inputs are validated, never clamped: scores must be finite and in
//! [0, 10], weights finite and positive.
//!
//! Breakdown points (the largest fraction of arbitrary reports a rule survives without
//! being moved to an arbitrary value within [0, 10]) are given per rule for a committee
//! of K.

use crate::{CoreError, Result, SCORE_MAX, SCORE_MIN};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// Default trimming fraction τ of the trimmed mean (spec §2).
pub const DEFAULT_TRIM: f64 = 0.2;

/// A consensus rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Rule {
    /// Arithmetic mean. Breakdown point 0: one report moves it by up to 10/K.
    Mean,
    /// Middle order statistic (mean of the two middle values for even K).
    /// Breakdown point ⌊(K−1)/2⌋/K, approaching 1/2.
    Median,
    /// Sort, drop ⌊τK⌋ from each end, average the rest. Breakdown point ⌊τK⌋/K;
    /// for small K it drops nothing and equals the mean.
    TrimmedMean {
        /// Fraction τ trimmed from each end, in [0, 0.5).
        trim: f64,
    },
    /// Σ wₑsₑ / Σ wₑ with trust weights. Breakdown point 0 in reports; an attacker
    /// holding weight share ω moves it by up to 10·ω.
    WeightedMean,
    /// The smallest score whose cumulative weight reaches half the total.
    /// Breakdown point 1/2 of the total weight: attackers holding strictly less than
    /// half cannot move it outside the honest range.
    WeightedMedian,
}

impl Rule {
    /// The names accepted by [`Rule::from_name`], as `poq aggregate --rule` spells them.
    pub const NAMES: &'static str = "mean, median, trimmed-mean, weighted-mean, weighted-median";

    /// Parses a rule name; `trim` is used by `trimmed-mean` only.
    pub fn from_name(name: &str, trim: f64) -> Result<Self> {
        let rule = match name {
            "mean" => Rule::Mean,
            "median" => Rule::Median,
            "trimmed-mean" => Rule::TrimmedMean { trim },
            "weighted-mean" => Rule::WeightedMean,
            "weighted-median" => Rule::WeightedMedian,
            _ => {
                return Err(CoreError::UnknownName {
                    kind: "rule",
                    name: name.to_string(),
                    expected: Self::NAMES,
                });
            }
        };
        rule.validate()?;
        Ok(rule)
    }

    /// The rule's name as `poq aggregate --rule` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Mean => "mean",
            Rule::Median => "median",
            Rule::TrimmedMean { .. } => "trimmed-mean",
            Rule::WeightedMean => "weighted-mean",
            Rule::WeightedMedian => "weighted-median",
        }
    }

    /// Whether the rule reads trust weights.
    pub fn is_weighted(&self) -> bool {
        matches!(self, Rule::WeightedMean | Rule::WeightedMedian)
    }

    /// Checks the rule's parameter.
    pub fn validate(&self) -> Result<()> {
        if let Rule::TrimmedMean { trim } = *self
            && !(trim.is_finite() && (0.0..0.5).contains(&trim))
        {
            return Err(CoreError::InvalidParameter {
                name: "trim",
                value: trim,
                reason: "the trimming fraction must be in [0, 0.5)",
            });
        }
        Ok(())
    }

    /// Finite-sample breakdown point for a committee of `k` (a fraction of reports, or of
    /// weight for the weighted median).
    pub fn breakdown_point(&self, k: usize) -> f64 {
        if k == 0 {
            return 0.0;
        }
        match *self {
            Rule::Mean | Rule::WeightedMean => 0.0,
            Rule::Median => ((k - 1) / 2) as f64 / k as f64,
            Rule::TrimmedMean { trim } => trim_count(trim, k) as f64 / k as f64,
            Rule::WeightedMedian => 0.5,
        }
    }
}

/// Number of scores dropped from each end by a trimmed mean: ⌊τK⌋. A tolerance of 1e-9
/// absorbs binary rounding (0.29 · 100 is 28.999… in f64, yet ⌊τK⌋ is 29).
pub fn trim_count(trim: f64, k: usize) -> usize {
    (trim * k as f64 + 1e-9).floor() as usize
}

/// Checks that every score is finite and in [0, 10], naming the first offender.
pub fn validate_scores(scores: &[f64]) -> Result<()> {
    if scores.is_empty() {
        return Err(CoreError::EmptyScores);
    }
    for (index, &value) in scores.iter().enumerate() {
        if !value.is_finite() {
            return Err(CoreError::ScoreNotFinite { index, value });
        }
        if !(SCORE_MIN..=SCORE_MAX).contains(&value) {
            return Err(CoreError::ScoreOutOfRange { index, value });
        }
    }
    Ok(())
}

/// Checks that there is one finite positive weight per score.
pub fn validate_weights(scores: &[f64], weights: &[f64]) -> Result<()> {
    if scores.len() != weights.len() {
        return Err(CoreError::WeightCountMismatch {
            scores: scores.len(),
            weights: weights.len(),
        });
    }
    for (index, &value) in weights.iter().enumerate() {
        if !(value.is_finite() && value > 0.0) {
            return Err(CoreError::InvalidWeight { index, value });
        }
    }
    Ok(())
}

/// Keeps an average inside the range of what it averaged. A mean is a convex
/// combination, so mathematically it already is; in f64, Σs/K of three equal 0.1s is
/// 0.10000000000000002, and consensus must never leave [min, max] of the reports.
fn within(value: f64, lo: f64, hi: f64) -> f64 {
    value.clamp(lo, hi)
}

/// Committees up to this size are sorted on the stack: a round at K = 7 allocates
/// nothing for its consensus.
const INLINE: usize = 32;

/// The power of two at or just below `max` (1 for zero or subnormal `max`). Dividing
/// weights by it is exact in binary floating point, so scaling against overflow never
/// changes a result that did not overflow.
pub(crate) fn pow2_floor(max: f64) -> f64 {
    let biased = (max.to_bits() >> 52) & 0x7ff;
    if biased == 0 || biased == 0x7ff {
        1.0
    } else {
        f64::from_bits(biased << 52)
    }
}

fn sorted(scores: &[f64]) -> SmallVec<[f64; INLINE]> {
    let mut v = SmallVec::from_slice(scores);
    v.sort_unstable_by(f64::total_cmp);
    v
}

fn sorted_pairs(scores: &[f64], weights: &[f64]) -> SmallVec<[(f64, f64); INLINE]> {
    let mut v: SmallVec<[(f64, f64); INLINE]> = scores.iter().copied().zip(weights.iter().copied()).collect();
    v.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    v
}

/// Arithmetic mean: Σ s / K, summed in ascending order.
pub fn mean(scores: &[f64]) -> Result<f64> {
    validate_scores(scores)?;
    let v = sorted(scores);
    Ok(within(v.iter().sum::<f64>() / v.len() as f64, v[0], v[v.len() - 1]))
}

/// Median: the middle order statistic; for even K the mean of the two middle values.
pub fn median(scores: &[f64]) -> Result<f64> {
    validate_scores(scores)?;
    let v = sorted(scores);
    let k = v.len();
    Ok(if k % 2 == 1 {
        v[k / 2]
    } else {
        (v[k / 2 - 1] + v[k / 2]) / 2.0
    })
}

/// The lower median: the ⌈K/2⌉-th smallest score (what the weighted median gives when
/// all weights are equal).
pub fn lower_median(scores: &[f64]) -> Result<f64> {
    validate_scores(scores)?;
    let v = sorted(scores);
    Ok(v[(v.len() - 1) / 2])
}

/// A trimmed mean and how much it trimmed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trimmed {
    /// The consensus value.
    pub value: f64,
    /// Scores dropped from each end (0 means the rule equalled the mean).
    pub per_side: usize,
}

/// Trimmed mean: sort, drop ⌊τK⌋ from each end, average the rest.
pub fn trimmed_mean(scores: &[f64], trim: f64) -> Result<Trimmed> {
    Rule::TrimmedMean { trim }.validate()?;
    validate_scores(scores)?;
    let v = sorted(scores);
    let g = trim_count(trim, v.len());
    // τ < 0.5 guarantees 2g < K up to the rounding tolerance; guard it anyway.
    let g = g.min((v.len() - 1) / 2);
    let kept = &v[g..v.len() - g];
    Ok(Trimmed {
        value: within(
            kept.iter().sum::<f64>() / kept.len() as f64,
            kept[0],
            kept[kept.len() - 1],
        ),
        per_side: g,
    })
}

/// Weighted mean: Σ wₑsₑ / Σ wₑ, summed in ascending score order.
pub fn weighted_mean(scores: &[f64], weights: &[f64]) -> Result<f64> {
    validate_scores(scores)?;
    validate_weights(scores, weights)?;
    let v = sorted_pairs(scores, weights);
    // Weights scaled exactly (by a power of two): huge finite weights cannot overflow.
    // The reciprocal of a power of two is exact, so multiplying by it equals dividing.
    let inv = 1.0 / pow2_floor(v.iter().map(|p| p.1).fold(0.0, f64::max));
    let (num, den) = v
        .iter()
        .fold((0.0, 0.0), |(n, d), &(s, w)| (n + (w * inv) * s, d + w * inv));
    Ok(within(num / den, v[0].0, v[v.len() - 1].0))
}

/// Weighted median: the smallest score s with W(≤ s) ≥ W/2.
///
/// The test is W(≤ s) ≥ W(> s), each side summed from its outer end of the sorted
/// order, so both sides run the same additions when weights are equal and equal weights
/// give exactly the lower median whatever the rounding of the sums.
pub fn weighted_median(scores: &[f64], weights: &[f64]) -> Result<f64> {
    validate_scores(scores)?;
    validate_weights(scores, weights)?;
    let mut v = sorted_pairs(scores, weights);
    // Weights scaled exactly (by a power of two): huge finite weights cannot overflow.
    let inv = 1.0 / pow2_floor(v.iter().map(|p| p.1).fold(0.0, f64::max));
    for p in v.iter_mut() {
        p.1 *= inv;
    }
    let k = v.len();
    // above[i] = weight strictly after position i, summed from the top down.
    let mut above: SmallVec<[f64; INLINE]> = smallvec::smallvec![0.0; k];
    for i in (0..k - 1).rev() {
        above[i] = above[i + 1] + v[i + 1].1;
    }
    let mut at_or_below = 0.0;
    for i in 0..k {
        at_or_below += v[i].1;
        // Ties: everything equal to v[i].0 counts as "at or below".
        if i + 1 < k && v[i + 1].0 == v[i].0 {
            continue;
        }
        if at_or_below >= above[i] {
            return Ok(v[i].0);
        }
    }
    Ok(v[k - 1].0)
}

/// Applies `rule`; `weights` is required by the weighted rules and ignored otherwise
/// (but still validated when given, so a bad input line is never silently accepted).
pub fn aggregate(rule: Rule, scores: &[f64], weights: Option<&[f64]>) -> Result<f64> {
    if let Some(w) = weights {
        validate_weights(scores, w)?;
    }
    match rule {
        Rule::Mean => mean(scores),
        Rule::Median => median(scores),
        Rule::TrimmedMean { trim } => trimmed_mean(scores, trim).map(|t| t.value),
        Rule::WeightedMean => weighted_mean(scores, weights.ok_or(CoreError::MissingWeights { rule: rule.name() })?),
        Rule::WeightedMedian => {
            weighted_median(scores, weights.ok_or(CoreError::MissingWeights { rule: rule.name() })?)
        }
    }
}
