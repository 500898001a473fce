//! Collection: real model answers to real prompts, scored by every evaluator, written
//! in the simulator's replay format (one JSON line per prompt and model).
//!
//! Resumable: records already in the output file are skipped, each new record is
//! appended and flushed as soon as it is complete, and a line cut short by a crash is
//! dropped on restart, so an interrupted run loses no finished record.
//!
//! [`CollectPlan`] is the entry point: a workload, models and evaluators by their
//! [`registry`] names, and where to write; [`collect`] is the loop it
//! runs, for callers that build their own backends.

use crate::llm::{ChatMessage, GenerationParams, Generator};
use crate::registry::{self, EvaluatorName, ModelName};
use crate::{MlError, Result};
use poq_core::metrics;
use poq_core::scorer::{ScoreInput, Scorer, check_score};
use poq_core::task::Task;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// One prompt of a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// Identifier.
    pub id: String,
    /// The workload it belongs to.
    pub task: Task,
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

/// QA prompts from QA items: reading comprehension where the item has a context,
/// closed-book (the question alone) where it has none.
pub fn qa_prompts(items: &[crate::data::QaItem]) -> Vec<Prompt> {
    items
        .iter()
        .map(|i| {
            let instruction = if i.context.is_empty() {
                format!("Answer the question. Reply with a short answer only.\n\nQuestion: {}", i.question)
            } else {
                format!(
                    "Answer the question using the context. Reply with a short answer only.\n\nContext: {}\n\nQuestion: {}",
                    i.context, i.question
                )
            };
            Prompt {
                id: i.id.clone(),
                task: Task::Qa,
                completion: format!("{instruction}\nAnswer:"),
                instruction,
                prompt: i.question.clone(),
                references: i.answers.clone(),
            }
        })
        .collect()
}

/// Summarization prompts.
pub fn summarization_prompts(items: &[crate::data::SummarizationItem]) -> Vec<Prompt> {
    items
        .iter()
        .map(|i| Prompt {
            id: i.id.clone(),
            task: Task::Summarization,
            instruction: format!("Summarize the following text in two sentences.\n\n{}", i.document),
            // A base model writes its summary as the rest of the line.
            completion: format!("Text: {}\n\nSummary in two sentences:", i.document.replace('\n', " ")),
            prompt: i.document.clone(),
            references: vec![i.reference.clone()],
        })
        .collect()
}

/// Where a collection's prompts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    /// The task's own: the project's QA set, or aclsum's test split.
    Default,
    /// A file: SQuAD v1.1 JSON for QA, JSON Lines `{"id", "document", "reference"}` for
    /// summarization.
    File(PathBuf),
    /// FanOutQA dev's closed-book factoid sub-questions (QA only), fetched.
    FanOutQa,
}

/// The prompts of `task` from `workload` (packages fetched into `cache` when missing).
/// FanOutQA for summarization is an error naming both.
pub fn load_prompts(task: Task, workload: &Workload, cache: &Path) -> Result<Vec<Prompt>> {
    Ok(match (task, workload) {
        (Task::Qa, Workload::Default) => qa_prompts(&crate::data::project_qa()?),
        (Task::Qa, Workload::File(p)) => qa_prompts(&crate::data::load_squad(p)?),
        (Task::Qa, Workload::FanOutQa) => {
            let dir = crate::fetch::fetch_model("fanoutqa", cache)?;
            qa_prompts(&crate::data::load_fanoutqa(&dir.join(crate::data::FANOUTQA_DEV))?)
        }
        (Task::Summarization, Workload::Default) => {
            let dir = crate::fetch::fetch_model("aclsum", cache)?;
            summarization_prompts(&crate::data::load_aclsum(&dir, "test")?)
        }
        (Task::Summarization, Workload::File(p)) => summarization_prompts(&crate::data::load_summarization(p)?),
        (Task::Summarization, Workload::FanOutQa) => {
            return Err(MlError::WorkloadMismatch {
                workload: "fanoutqa",
                task: task.name(),
            });
        }
    })
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
                task: p.task,
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

/// Most tokens per answer for QA unless a plan says otherwise: SQuAD answers are short.
pub const QA_MAX_TOKENS: u32 = 48;
/// Most tokens per answer for summarization unless a plan says otherwise: two sentences.
pub const SUMMARIZATION_MAX_TOKENS: u32 = 96;

/// The default most tokens per answer for `task`.
pub fn default_max_tokens(task: Task) -> u32 {
    match task {
        Task::Qa => QA_MAX_TOKENS,
        Task::Summarization => SUMMARIZATION_MAX_TOKENS,
    }
}

/// How far a [`CollectPlan::run`] is, in (prompt, model) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Pairs done or skipped (already in the output).
    pub done: usize,
    /// Pairs in the run: prompts × models.
    pub total: usize,
}

/// What a [`CollectPlan::run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collected {
    /// Records written by this run (pairs already in the output are not rewritten).
    pub written: usize,
    /// Prompts of the workload, after the limit.
    pub prompts: usize,
}

/// One collection: which workload, which models and evaluators, where to write.
/// Everything is named as the registry names it, and loaded only by [`CollectPlan::run`].
#[derive(Debug, Clone, PartialEq)]
pub struct CollectPlan {
    /// The workload.
    pub task: Task,
    /// The inference models, in the order each prompt is put to them.
    pub models: Vec<ModelName>,
    /// The evaluators scoring every answer.
    pub evaluators: Vec<EvaluatorName>,
    /// The cross-encoder's model directory (required when the evaluators include it).
    pub cross_encoder: Option<PathBuf>,
    /// Use only the first N prompts.
    pub limit: Option<usize>,
    /// Where the prompts come from (see [`load_prompts`]).
    pub workload: Workload,
    /// The JSON Lines output; an existing file is resumed, not overwritten.
    pub out: PathBuf,
    /// Most tokens per answer; [`default_max_tokens`] of the task when None.
    pub max_tokens: Option<u32>,
    /// Sampling temperature (0 = greedy).
    pub temperature: f64,
    /// Seed for sampling.
    pub seed: u64,
    /// The model cache; models and data are fetched there first when missing.
    pub cache: PathBuf,
}

impl CollectPlan {
    /// A plan for `task` into `out` with the defaults: every model, every evaluator but
    /// the cross-encoder (it needs a directory), every prompt of the default workload,
    /// greedy decoding with seed 0, the default cache directory.
    pub fn new(task: Task, out: impl Into<PathBuf>) -> Self {
        Self {
            task,
            models: registry::default_models(),
            evaluators: registry::default_evaluators(false),
            cross_encoder: None,
            limit: None,
            workload: Workload::Default,
            out: out.into(),
            max_tokens: None,
            temperature: 0.0,
            seed: 0,
            cache: crate::fetch::default_cache_dir(),
        }
    }

    /// The model directory `evaluator` is given: [`CollectPlan::cross_encoder`] for the
    /// cross-encoder, none for the others (the bi-encoder fetches its default).
    fn evaluator_dir(&self, evaluator: EvaluatorName) -> Option<&Path> {
        match evaluator {
            EvaluatorName::CrossEncoder => self.cross_encoder.as_deref(),
            _ => None,
        }
    }

    /// The decoding parameters every model answers with.
    pub fn params(&self) -> GenerationParams {
        GenerationParams {
            max_tokens: self.max_tokens.unwrap_or_else(|| default_max_tokens(self.task)),
            temperature: self.temperature,
            seed: Some(self.seed),
        }
    }

    /// Loads the prompts, models and evaluators (fetching what is missing), then runs
    /// [`collect`]. `progress` is called once when the models are loaded (`done` = 0)
    /// and once per (prompt, model) pair after that.
    pub fn run(&self, progress: &mut dyn FnMut(Progress)) -> Result<Collected> {
        // A misplaced directory is refused before minutes of fetching and loading.
        for &e in &self.evaluators {
            registry::check_model_dir(e, self.evaluator_dir(e))?;
        }
        let mut prompts = load_prompts(self.task, &self.workload, &self.cache)?;
        if let Some(n) = self.limit {
            prompts.truncate(n);
        }
        let mut models = self
            .models
            .iter()
            .map(|&m| registry::load_generator(m, &self.cache))
            .collect::<Result<Vec<_>>>()?;
        let mut evaluators = self
            .evaluators
            .iter()
            .map(|&e| registry::load_scorer(e, self.evaluator_dir(e), &self.cache))
            .collect::<Result<Vec<_>>>()?;
        let mut state = Progress {
            done: 0,
            total: prompts.len() * models.len(),
        };
        progress(state);
        let written = collect(
            &prompts,
            &mut models,
            &mut evaluators,
            &self.params(),
            &self.out,
            &mut || {
                state.done += 1;
                progress(state);
            },
        )?;
        Ok(Collected {
            written,
            prompts: prompts.len(),
        })
    }
}
