//! Collection: real model answers to real prompts, scored by every evaluator, written
//! in the simulator's replay format (one JSON line per prompt and model).
//!
//! Resumable: records already in the output file are skipped, each new record is
//! appended and flushed as soon as it is complete, and a line cut short by a crash is
//! dropped on restart, so an interrupted run loses no finished record.

use crate::llm::{ChatMessage, GenerationParams, Generator};
use crate::{MlError, Result};
use poq_core::metrics;
use poq_core::scorer::{ScoreInput, Scorer, check_score};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// One prompt of a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// Identifier.
    pub id: String,
    /// "qa" or "summarization".
    pub task: &'static str,
    /// What a chat model is asked.
    pub instruction: String,
    /// The same request as text for a base model to continue (ends with a cue such as
    /// "Answer:").
    pub completion: String,
    /// What evaluators see as the prompt (the question, or the document).
    pub prompt: String,
    /// Reference answers (the ground-truth proxies are the max over them).
    pub references: Vec<String>,
}

/// QA prompts from SQuAD-format items.
pub fn qa_prompts(items: &[crate::data::QaItem]) -> Vec<Prompt> {
    items
        .iter()
        .map(|i| Prompt {
            id: i.id.clone(),
            task: "qa",
            instruction: format!(
                "Answer the question using the context. Reply with a short answer only.\n\nContext: {}\n\nQuestion: {}",
                i.context, i.question
            ),
            completion: format!(
                "Answer the question using the context. Reply with a short answer only.\n\nContext: {}\n\nQuestion: {}\nAnswer:",
                i.context, i.question
            ),
            prompt: i.question.clone(),
            references: i.answers.clone(),
        })
        .collect()
}

/// Summarization prompts.
pub fn summarization_prompts(items: &[crate::data::SummarizationItem]) -> Vec<Prompt> {
    items
        .iter()
        .map(|i| Prompt {
            id: i.id.clone(),
            task: "summarization",
            instruction: format!("Summarize the following text in two sentences.\n\n{}", i.document),
            // A base model writes its summary as the rest of the line.
            completion: format!("Text: {}\n\nSummary in two sentences:", i.document.replace('\n', " ")),
            prompt: i.document.clone(),
            references: vec![i.reference.clone()],
        })
        .collect()
}

pub use poq_core::record::LogRecord as Record;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MlError + '_ {
    move |source| MlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The (prompt_id, node) pairs already in `out`; a last line cut short by a crash is
/// removed from the file.
pub fn done_pairs(out: &Path) -> Result<BTreeSet<(String, String)>> {
    let Ok(text) = std::fs::read_to_string(out) else {
        return Ok(BTreeSet::new());
    };
    let mut done = BTreeSet::new();
    let mut good_len = 0;
    for line in text.split_inclusive('\n') {
        let complete = line.ends_with('\n');
        let parsed: Option<serde_json::Value> = serde_json::from_str(line.trim_end()).ok();
        match (complete, parsed) {
            (true, Some(v)) => {
                if let (Some(p), Some(n)) = (v["prompt_id"].as_str(), v["node"].as_str()) {
                    done.insert((p.to_string(), n.to_string()));
                }
                good_len += line.len();
            }
            (false, _) => break,
            (true, None) => {
                return Err(MlError::Data {
                    path: out.to_path_buf(),
                    reason: format!("a complete line at byte {good_len} is not JSON; refusing to append to it"),
                });
            }
        }
    }
    if good_len < text.len() {
        let f = std::fs::OpenOptions::new().write(true).open(out).map_err(io(out))?;
        f.set_len(good_len as u64).map_err(io(out))?;
    }
    Ok(done)
}

/// Runs every model over every prompt, scores with every evaluator, appends records
/// to `out`. `progress` is called once per (prompt, model) pair, done or skipped.
pub fn collect(
    prompts: &[Prompt],
    models: &mut [Box<dyn Generator + Send>],
    evaluators: &mut [Box<dyn Scorer + Send>],
    params: &GenerationParams,
    out: &Path,
    progress: &mut dyn FnMut(),
) -> Result<usize> {
    let done = done_pairs(out)?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .map_err(io(out))?;
    let mut written = 0;
    for p in prompts {
        for m in models.iter_mut() {
            let node = m.name().to_string();
            if done.contains(&(p.id.clone(), node.clone())) {
                progress();
                continue;
            }
            let request = if m.is_chat() { &p.instruction } else { &p.completion };
            let g = m.generate(&[ChatMessage::user(request.clone())], params)?;
            let gt = metrics::score(&g.text, &p.references).map_err(|e| MlError::Data {
                path: out.to_path_buf(),
                reason: format!("prompt {}: {e}", p.id),
            })?;
            let input = ScoreInput {
                prompt: &p.prompt,
                output: &g.text,
                reference: p.references.first().map(String::as_str),
            };
            let mut rec = Record {
                prompt_id: p.id.clone(),
                task: p.task.to_string(),
                node,
                output: g.text.clone(),
                latency_ms: g.latency_ms,
                gt_f1: gt.f1,
                gt_rouge_l: gt.rouge_l,
                scores: BTreeMap::new(),
                eval_latency_ms: BTreeMap::new(),
                failures: BTreeMap::new(),
                prompt_tokens: g.prompt_tokens,
                completion_tokens: g.completion_tokens,
            };
            for e in evaluators.iter_mut() {
                let name = e.name().to_string();
                let start = Instant::now();
                match e.score_batch(&[input]).and_then(|s| {
                    s.into_iter().next().map(|s| check_score(&name, s)).unwrap_or_else(|| {
                        Err(poq_core::CoreError::ScorerFailed {
                            scorer: name.clone(),
                            source: Arc::new(MlError::MissingScores { inputs: 1, got: 0 }),
                        })
                    })
                }) {
                    Ok(s) => {
                        rec.scores.insert(name.clone(), s.score);
                        rec.eval_latency_ms.insert(name, start.elapsed().as_secs_f64() * 1000.0);
                    }
                    Err(err) => {
                        rec.failures.insert(name, err.to_string());
                    }
                }
            }
            let line = serde_json::to_string(&rec).map_err(|e| MlError::Data {
                path: out.to_path_buf(),
                reason: e.to_string(),
            })?;
            writeln!(file, "{line}").map_err(io(out))?;
            file.flush().map_err(io(out))?;
            written += 1;
            progress();
        }
    }
    Ok(written)
}
