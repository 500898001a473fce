//! Replay of logged records: rounds drawn from real model outputs and real evaluator
//! scores, as the publications do.
//!
//! One JSON Lines record per (prompt, inference node):
//! `{"prompt_id", "task", "node", "output", "latency_ms", "gt_f1", "gt_rougeL",
//!   "scores": {"<evaluator>": number in [0,10]}, "eval_latency_ms": {"<evaluator>": number}}`.
//! A round picks a record uniformly, seats K of the evaluators that scored it, and uses
//! their logged scores as the honest reports; the ground truth is token F1 × 10 for QA
//! and ROUGE-L × 10 for summarization.

use crate::world::{RoundDraw, World};
use crate::{Result, SimError};
use poq_core::EvaluatorId;
use poq_core::committee::draw_uniform;
use poq_core::rng::{Xoshiro256PlusPlus, below};
use std::path::Path;

pub use poq_core::record::LogRecord;

#[derive(Debug, Clone, PartialEq)]
struct Record {
    node: u32,
    qa: bool,
    truth: f64,
    latency_ms: f64,
    /// (evaluator, score, latency), sorted by evaluator id.
    scores: Vec<(EvaluatorId, f64, f64)>,
}

/// A world replaying logged records.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayWorld {
    nodes: Vec<String>,
    evaluators: Vec<String>,
    records: Vec<Record>,
}

fn bad(path: &Path, line: usize, reason: String) -> SimError {
    SimError::Log {
        path: path.to_path_buf(),
        line,
        reason,
    }
}

/// Reads and validates every record of a log file, naming the line of any bad one.
pub fn read_logs(path: &Path) -> Result<Vec<LogRecord>> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut raw = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: LogRecord = serde_json::from_str(line).map_err(|e| bad(path, i + 1, e.to_string()))?;
        ReplayWorld::check(&r).map_err(|reason| bad(path, i + 1, reason))?;
        raw.push(r);
    }
    if raw.is_empty() {
        return Err(bad(path, 0, "no records".to_string()));
    }
    Ok(raw)
}

impl ReplayWorld {
    /// Reads and validates a log file.
    pub fn load(path: &Path) -> Result<Self> {
        Ok(Self::from_records(&read_logs(path)?))
    }

    fn check(r: &LogRecord) -> std::result::Result<(), String> {
        if r.task != "qa" && r.task != "summarization" {
            return Err(format!("task {:?} is neither \"qa\" nor \"summarization\"", r.task));
        }
        for (name, v) in [("gt_f1", r.gt_f1), ("gt_rougeL", r.gt_rouge_l)] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(format!("{name} = {v} is not in [0, 1]"));
            }
        }
        if !(r.latency_ms.is_finite() && r.latency_ms >= 0.0) {
            return Err(format!(
                "latency_ms = {} is not a finite non-negative number",
                r.latency_ms
            ));
        }
        if r.scores.is_empty() {
            return Err("scores is empty: a record needs at least one evaluator's score".to_string());
        }
        for (name, &v) in &r.scores {
            if !(v.is_finite() && (0.0..=10.0).contains(&v)) {
                return Err(format!("score of evaluator {name:?} is {v}, not in [0, 10]"));
            }
        }
        if let Some(name) = r.scores.keys().find(|k| !r.eval_latency_ms.contains_key(*k)) {
            return Err(format!(
                "eval_latency_ms has no entry for evaluator {name:?}, which scored"
            ));
        }
        for (name, &v) in &r.eval_latency_ms {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("eval_latency_ms of {name:?} is {v}"));
            }
        }
        Ok(())
    }

    /// Builds the world from validated records; names are sorted, so ids do not depend
    /// on record order.
    fn from_records(raw: &[LogRecord]) -> Self {
        let nodes: Vec<String> = raw
            .iter()
            .map(|r| r.node.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let evaluators: Vec<String> = raw
            .iter()
            .flat_map(|r| r.scores.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let records = raw
            .iter()
            .map(|r| {
                let qa = r.task == "qa";
                Record {
                    node: nodes.binary_search(&r.node).unwrap_or(0) as u32,
                    qa,
                    truth: 10.0 * if qa { r.gt_f1 } else { r.gt_rouge_l },
                    latency_ms: r.latency_ms,
                    scores: r
                        .scores
                        .iter()
                        .map(|(name, &s)| {
                            let id = evaluators.binary_search(name).unwrap_or(0) as EvaluatorId;
                            (id, s, r.eval_latency_ms.get(name).copied().unwrap_or(0.0))
                        })
                        .collect(),
                }
            })
            .collect();
        Self {
            nodes,
            evaluators,
            records,
        }
    }

    /// Seats every logged evaluator on `n` evaluator nodes ("name#1" .. "name#n"),
    /// which report the same honest score: the same model on the same input is
    /// deterministic, so a network of many evaluator nodes running a few models looks
    /// like this. Attacks then corrupt nodes, not models. `n` = 0 is an error.
    pub fn with_replicas(self, n: usize) -> Result<Self> {
        if n == 0 {
            return Err(SimError::InvalidScenario {
                name: "replicas".to_string(),
                value: n.to_string(),
                reason: "each logged evaluator needs at least one node".to_string(),
            });
        }
        if n == 1 {
            return Ok(self);
        }
        let evaluators = self
            .evaluators
            .iter()
            .flat_map(|e| (1..=n).map(move |r| format!("{e}#{r}")))
            .collect();
        let records = self
            .records
            .into_iter()
            .map(|r| Record {
                scores: r
                    .scores
                    .iter()
                    .flat_map(|&(e, s, l)| (0..n).map(move |k| (e * n as EvaluatorId + k as EvaluatorId, s, l)))
                    .collect(),
                ..r
            })
            .collect();
        Ok(Self {
            nodes: self.nodes,
            evaluators,
            records,
        })
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no records (never true for a loaded world).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl World for ReplayWorld {
    fn evaluators(&self) -> usize {
        self.evaluators.len()
    }

    fn nodes(&self) -> usize {
        self.nodes.len()
    }

    fn node_name(&self, i: usize) -> String {
        self.nodes.get(i).cloned().unwrap_or_default()
    }

    fn evaluator_name(&self, i: usize) -> String {
        self.evaluators.get(i).cloned().unwrap_or_default()
    }

    fn max_k(&self) -> usize {
        self.records.iter().map(|r| r.scores.len()).min().unwrap_or(0)
    }

    fn draw(&self, rng: &mut Xoshiro256PlusPlus, k: usize, out: &mut RoundDraw) {
        let r = &self.records[below(rng, self.records.len() as u64) as usize];
        let k = k.clamp(1, r.scores.len());
        // Positions into the record's (sorted) scorers, so the committee stays sorted.
        let seats = draw_uniform(rng, r.scores.len(), k).unwrap_or_default();
        out.committee.clear();
        out.honest.clear();
        out.eval_latency_ms.clear();
        for &p in &seats {
            let (e, s, l) = r.scores[p as usize];
            out.committee.push(e);
            out.honest.push(s);
            out.eval_latency_ms.push(l);
        }
        out.node = r.node;
        out.qa = r.qa;
        out.truth = r.truth;
        out.latency_ms = r.latency_ms;
    }
}
