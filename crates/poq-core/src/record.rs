//! The logged record of one (prompt, inference node): what `poq collect` writes and
//! the simulator's replay, `poq audit` and any other tool read. One JSON object per
//! line; these field names are a fixed contract.

use crate::Task;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One model's answer to one prompt, with its ground truth and every evaluator's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Prompt identifier.
    pub prompt_id: String,
    /// The task ("qa" or "summarization" in the file).
    pub task: Task,
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

impl LogRecord {
    /// Checks every number a replay relies on: ground truth in [0, 1], latencies finite
    /// and non-negative, at least one score, scores in [0, 10], and a latency for every
    /// evaluator that scored. The error names the offending field and value.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [("gt_f1", self.gt_f1), ("gt_rougeL", self.gt_rouge_l)] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(format!("{name} = {v} is not in [0, 1]"));
            }
        }
        if !(self.latency_ms.is_finite() && self.latency_ms >= 0.0) {
            return Err(format!(
                "latency_ms = {} is not a finite non-negative number",
                self.latency_ms
            ));
        }
        if self.scores.is_empty() {
            return Err("scores is empty: a record needs at least one evaluator's score".to_string());
        }
        for (name, &v) in &self.scores {
            if !(v.is_finite() && (0.0..=10.0).contains(&v)) {
                return Err(format!("score of evaluator {name:?} is {v}, not in [0, 10]"));
            }
        }
        if let Some(name) = self.scores.keys().find(|k| !self.eval_latency_ms.contains_key(*k)) {
            return Err(format!(
                "eval_latency_ms has no entry for evaluator {name:?}, which scored"
            ));
        }
        for (name, &v) in &self.eval_latency_ms {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("eval_latency_ms of {name:?} is {v}"));
            }
        }
        Ok(())
    }
}
