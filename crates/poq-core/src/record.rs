//! The logged record of one (prompt, inference node): what `poq collect` writes and
//! the simulator's replay, `poq audit` and any other tool read. One JSON object per
//! line; these field names are a fixed contract.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One model's answer to one prompt, with its ground truth and every evaluator's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Prompt identifier.
    pub prompt_id: String,
    /// "qa" or "summarization".
    pub task: String,
    /// Inference node (model) name.
    pub node: String,
    /// The model's output text.
    pub output: String,
    /// Inference latency (ms).
    pub latency_ms: f64,
    /// SQuAD token F1 of the output against the references, in [0, 1].
    pub gt_f1: f64,
    /// ROUGE-L F of the output against the references, in [0, 1].
    #[serde(rename = "gt_rougeL")]
    pub gt_rouge_l: f64,
    /// Each evaluator's score in [0, 10].
    pub scores: BTreeMap<String, f64>,
    /// Each evaluator's scoring latency (ms); every evaluator that scored needs one.
    pub eval_latency_ms: BTreeMap<String, f64>,
    /// Evaluators that failed on this record, with the reason (no score for them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failures: BTreeMap<String, String>,
    /// Prompt tokens, when the backend reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    /// Generated tokens, when the backend reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u64>,
}
