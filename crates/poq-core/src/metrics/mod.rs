//! Ground-truth quality proxies: SQuAD v1.1 exact match and token F1, and ROUGE-1/2/L/Lsum.
//!
//! Every function is pure and reproduces its Python reference bit for bit (identical
//! `f64` bits), including the operation order of each formula:
//!
//! - [`squad`]: the official SQuAD v1.1 evaluation script (`evaluate-v1.1.py`);
//! - [`rouge`]: the `rouge-score` 0.1.2 package, without stemming;
//! - [`text`]: the Python string semantics both rely on.
//!
//! Golden values produced by the Python references live in
//! `fixtures/metrics/golden.json` and are checked by the integration tests.

pub mod rouge;
pub mod squad;
pub mod text;

use crate::{CoreError, Result};

/// All proxies of one prediction against its references.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricScores {
    /// SQuAD exact match, 1.0 or 0.0, maximised over references.
    pub em: f64,
    /// SQuAD token F1, maximised over references.
    pub f1: f64,
    /// ROUGE-1 F-measure, maximised over references.
    pub rouge1: f64,
    /// ROUGE-2 F-measure, maximised over references.
    pub rouge2: f64,
    /// ROUGE-L F-measure, maximised over references.
    #[serde(rename = "rougeL")]
    pub rouge_l: f64,
    /// ROUGE-Lsum F-measure, maximised over references.
    #[serde(rename = "rougeLsum")]
    pub rouge_lsum: f64,
}

/// Scores `prediction` against every reference and keeps, per metric, the best value:
/// SQuAD's `metric_max_over_ground_truths` for EM and F1, and rouge-score's
/// `score_multi` (max F-measure over targets) for each ROUGE variant.
///
/// # Errors
///
/// [`CoreError::NoReferences`] if `references` is empty.
pub fn score(prediction: &str, references: &[impl AsRef<str>]) -> Result<MetricScores> {
    if references.is_empty() {
        return Err(CoreError::NoReferences);
    }
    // The prediction is normalised and tokenized once for all references.
    let pred_normalized = squad::normalize_answer(prediction);
    let pred_tokens = squad::sorted_tokens(&pred_normalized);
    let mut interner = rouge::Interner::default();
    let pred_doc = rouge::Doc::new(prediction, &mut interner);
    let mut scratch = rouge::LsumScratch::default();

    // Every metric is >= 0, so 0 is a neutral start for the maxima.
    let mut best = MetricScores {
        em: 0.0,
        f1: 0.0,
        rouge1: 0.0,
        rouge2: 0.0,
        rouge_l: 0.0,
        rouge_lsum: 0.0,
    };
    for reference in references {
        let reference = reference.as_ref();
        let ref_normalized = squad::normalize_answer(reference);
        if ref_normalized == pred_normalized {
            best.em = 1.0;
        }
        let ref_tokens = squad::sorted_tokens(&ref_normalized);
        best.f1 = best.f1.max(squad::f1_of_sorted(&pred_tokens, &ref_tokens));

        let ref_doc = rouge::Doc::new(reference, &mut interner);
        let [r1, r2, rl, rlsum] = rouge::score_docs(&ref_doc, &pred_doc, &mut scratch);
        best.rouge1 = best.rouge1.max(r1.fmeasure);
        best.rouge2 = best.rouge2.max(r2.fmeasure);
        best.rouge_l = best.rouge_l.max(rl.fmeasure);
        best.rouge_lsum = best.rouge_lsum.max(rlsum.fmeasure);
    }
    Ok(best)
}
