//! Audits of logged records: how reliable each evaluator is against the ground-truth
//! proxies, per task, and how each model trades quality against latency (the published
//! findings of spec §7: evaluator architecture matters, correlations can invert between
//! QA and summarization).

use crate::replay::LogRecord;
use poq_core::stats;
use serde::Serialize;
use std::collections::BTreeMap;

/// One evaluator on one task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluatorAudit {
    /// The task.
    pub task: poq_core::Task,
    /// Evaluator name.
    pub evaluator: String,
    /// Records it scored.
    pub n: usize,
    /// Pearson correlation of its scores with token F1 (null if undefined).
    pub pearson_f1: Option<f64>,
    /// Spearman correlation with token F1.
    pub spearman_f1: Option<f64>,
    /// Pearson correlation with ROUGE-L.
    #[serde(rename = "pearson_rougeL")]
    pub pearson_rouge_l: Option<f64>,
    /// Spearman correlation with ROUGE-L.
    #[serde(rename = "spearman_rougeL")]
    pub spearman_rouge_l: Option<f64>,
    /// Mean scoring latency (ms).
    pub mean_latency_ms: f64,
}

/// One model on one task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelAudit {
    /// The task.
    pub task: poq_core::Task,
    /// Model (inference node) name.
    pub model: String,
    /// Records.
    pub n: usize,
    /// Mean token F1 of its outputs.
    pub mean_f1: f64,
    /// Mean ROUGE-L of its outputs.
    #[serde(rename = "mean_rougeL")]
    pub mean_rouge_l: f64,
    /// Mean latency (ms).
    pub mean_latency_ms: f64,
}

/// The whole audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audit {
    /// Evaluator reliability per task, sorted by task then evaluator.
    pub evaluators: Vec<EvaluatorAudit>,
    /// Quality against latency per model and task, sorted by task then model.
    pub models: Vec<ModelAudit>,
}

fn mean(v: &[f64]) -> f64 {
    stats::mean(v).unwrap_or(0.0)
}

/// Audits validated records (as [`crate::replay::ReplayWorld::load`] checks them).
pub fn audit(records: &[LogRecord]) -> Audit {
    // (task, evaluator) → (scores, f1, rougeL, latency)
    type Key = (poq_core::Task, String);
    type EvalCols = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);
    type ModelCols = (Vec<f64>, Vec<f64>, Vec<f64>);
    let mut ev: BTreeMap<Key, EvalCols> = BTreeMap::new();
    let mut md: BTreeMap<Key, ModelCols> = BTreeMap::new();
    for r in records {
        for (name, &s) in &r.scores {
            let c = ev.entry((r.task, name.clone())).or_default();
            c.0.push(s);
            c.1.push(r.gt_f1);
            c.2.push(r.gt_rouge_l);
            c.3.push(r.eval_latency_ms.get(name).copied().unwrap_or(0.0));
        }
        let m = md.entry((r.task, r.node.clone())).or_default();
        m.0.push(r.gt_f1);
        m.1.push(r.gt_rouge_l);
        m.2.push(r.latency_ms);
    }
    Audit {
        evaluators: ev
            .into_iter()
            .map(|((task, evaluator), (s, f1, rl, lat))| EvaluatorAudit {
                task,
                evaluator,
                n: s.len(),
                pearson_f1: stats::pearson(&s, &f1),
                spearman_f1: stats::spearman(&s, &f1),
                pearson_rouge_l: stats::pearson(&s, &rl),
                spearman_rouge_l: stats::spearman(&s, &rl),
                mean_latency_ms: mean(&lat),
            })
            .collect(),
        models: md
            .into_iter()
            .map(|((task, model), (f1, rl, lat))| ModelAudit {
                task,
                model,
                n: f1.len(),
                mean_f1: mean(&f1),
                mean_rouge_l: mean(&rl),
                mean_latency_ms: mean(&lat),
            })
            .collect(),
    }
}
