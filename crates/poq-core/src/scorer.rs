//! Evaluator scorers: one trait for every way of turning (prompt, output) into a quality
//! score in [0, 10] (spec §6), and the lexical scorers, which are pure.
//!
//! Model-backed scorers (bi-encoder, cross-encoder, LLM judge) live in `poq-ml` and
//! implement the same trait, so the collector, `poq score` and a node treat them alike.
//! Raw outputs map to [0, 10] as the spec fixes: cosine clipped to [0, 1] then ×10;
//! sigmoid(logit) ×10; a judge's grade as is; lexical overlap ×10.

use crate::metrics::{rouge, squad};
use crate::{CoreError, Result};

/// One item to score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreInput<'a> {
    /// The prompt (question, or document to summarize).
    pub prompt: &'a str,
    /// The inference node's output.
    pub output: &'a str,
    /// A reference answer, for scorers that can use one.
    pub reference: Option<&'a str>,
}

/// A scorer's verdict on one item.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Score {
    /// Quality in [0, 10].
    pub score: f64,
    /// The scorer's raw output (cosine, logit, grade, overlap) before mapping.
    pub raw: f64,
}

/// An evaluator's scoring function. `Send`, so that a node can move its scorers to the
/// thread that runs them.
pub trait Scorer: Send {
    /// The scorer's name, as `--evaluators` and logs spell it.
    fn name(&self) -> &str;
    /// Scores a batch; one [`Score`] per input, in order. A batch lets model-backed
    /// scorers use their hardware well.
    fn score_batch(&mut self, inputs: &[ScoreInput<'_>]) -> Result<Vec<Score>>;
}

/// Maps a cosine similarity to [0, 10]: clipped to [0, 1], then ×10.
pub fn cosine_to_score(cosine: f64) -> f64 {
    10.0 * cosine.clamp(0.0, 1.0)
}

/// Maps a logit to [0, 10]: sigmoid, then ×10.
pub fn logit_to_score(logit: f64) -> f64 {
    10.0 / (1.0 + (-logit).exp())
}

/// Which overlap a [`Lexical`] scorer measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// SQuAD token F1 of the output against the prompt.
    TokenF1,
    /// ROUGE-L F-measure of the output against the prompt.
    RougeL,
}

/// Reference-free lexical overlap of the output with the prompt, ×10. Cheap and model
/// free; a weak signal (copying the prompt scores 10), kept as the published baseline
/// of what a scorer without a model can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexical {
    overlap: Overlap,
}

impl Lexical {
    /// A lexical scorer measuring `overlap`.
    pub fn new(overlap: Overlap) -> Self {
        Self { overlap }
    }
}

impl Scorer for Lexical {
    fn name(&self) -> &str {
        match self.overlap {
            Overlap::TokenF1 => "lexical-f1",
            Overlap::RougeL => "lexical-rougeL",
        }
    }

    fn score_batch(&mut self, inputs: &[ScoreInput<'_>]) -> Result<Vec<Score>> {
        Ok(inputs
            .iter()
            .map(|i| {
                let raw = match self.overlap {
                    Overlap::TokenF1 => squad::token_f1(i.output, i.prompt),
                    // rouge-score takes the target first: the prompt is the target here.
                    Overlap::RougeL => rouge::rouge_l(i.prompt, i.output).fmeasure,
                };
                Score { score: 10.0 * raw, raw }
            })
            .collect())
    }
}

/// Checks a score a scorer produced: finite and in [0, 10], or a
/// [`CoreError::ScorerFailed`] naming the scorer, whose source is
/// [`CoreError::ScoreNotFinite`] or [`CoreError::ScoreOutOfRange`] with the value.
pub fn check_score(scorer: &str, s: Score) -> Result<Score> {
    let fault = if !s.score.is_finite() {
        CoreError::ScoreNotFinite {
            index: 0,
            value: s.score,
        }
    } else if !(0.0..=10.0).contains(&s.score) {
        CoreError::ScoreOutOfRange {
            index: 0,
            value: s.score,
        }
    } else {
        return Ok(s);
    };
    Err(CoreError::ScorerFailed {
        scorer: scorer.to_string(),
        source: std::sync::Arc::new(fault),
    })
}
