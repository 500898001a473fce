//! `poq collect`: real answers, scored by real evaluators, in the replay format.
//!
//! The command line only: the arguments become a [`CollectPlan`], which poq-ml runs.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use poq_core::Task;
use poq_ml::collect::{CollectPlan, Workload};
use poq_ml::fetch::default_cache_dir;
use poq_ml::registry::{self, EvaluatorName, ModelName};
use std::path::PathBuf;

/// Arguments of `poq collect`.
#[derive(clap::Args, Debug)]
pub struct CollectArgs {
    /// The workload: qa (the project's QA set, --data SQuAD JSON, or --dataset
    /// fanoutqa) or summarization (aclsum's test split, or --data JSON Lines {"id",
    /// "document", "reference"}).
    #[arg(long, value_parser = ["qa", "summarization"])]
    task: String,
    /// Inference models, comma separated (default: every fetchable GGUF model:
    /// smollm2-135m-instruct, qwen2.5-coder-0.5b-instruct and
    /// qwen2.5-coder-1.5b-instruct, chat models, and gemma3-270m, a base model prompted
    /// for completion).
    #[arg(long, value_delimiter = ',')]
    models: Vec<String>,
    /// Evaluators, comma separated: bi-encoder (all-MiniLM-L6-v2 cosine with the
    /// reference), cross-encoder (needs --cross-encoder), lexical-f1, lexical-rougeL,
    /// judge (SmolLM2's expected grade from its probabilities over "0".."10"),
    /// judge-qwen (Qwen2.5-Coder-1.5B's P(Yes) that the answer matches the reference).
    /// Default: all of them (the cross-encoder only when --cross-encoder names its
    /// model).
    #[arg(long, value_delimiter = ',')]
    evaluators: Vec<String>,
    /// A cross-encoder model directory (BertForSequenceClassification, one label) for
    /// the cross-encoder evaluator; none can be fetched offline.
    #[arg(long)]
    cross_encoder: Option<PathBuf>,
    /// Use only the first N prompts.
    #[arg(long)]
    limit: Option<usize>,
    /// Workload file instead of the default.
    #[arg(long, conflicts_with = "dataset")]
    data: Option<PathBuf>,
    /// A fetchable data set instead of the default: fanoutqa (FanOutQA dev's
    /// closed-book factoid sub-questions, CC-BY-SA-4.0; qa only).
    #[arg(long, value_enum)]
    dataset: Option<Dataset>,
    /// Output JSON Lines; an existing file is resumed, not overwritten.
    #[arg(long)]
    out: PathBuf,
    /// Most tokens per answer (default: 48 for qa, 96 for summarization).
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Sampling temperature (0 = greedy, the default).
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Seed for sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Model cache directory (models are fetched there first if missing).
    #[arg(long)]
    cache: Option<PathBuf>,
}

/// The fetchable data sets `--dataset` names.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Dataset {
    /// FanOutQA dev: closed-book factoid sub-questions with gold answers.
    Fanoutqa,
}

/// The plan `args` describe: every name parsed once, the defaults filled in.
fn plan(args: &CollectArgs) -> Result<CollectPlan> {
    let task = Task::from_name(&args.task)?;
    let models = if args.models.is_empty() {
        registry::default_models()
    } else {
        args.models
            .iter()
            .map(|m| ModelName::from_name(m))
            .collect::<Result<_, _>>()?
    };
    let evaluators = if args.evaluators.is_empty() {
        registry::default_evaluators(args.cross_encoder.is_some())
    } else {
        args.evaluators
            .iter()
            .map(|e| EvaluatorName::from_name(e))
            .collect::<Result<_, _>>()?
    };
    Ok(CollectPlan {
        task,
        models,
        evaluators,
        cross_encoder: args.cross_encoder.clone(),
        limit: args.limit,
        workload: match (&args.data, args.dataset) {
            (Some(p), _) => Workload::File(p.clone()),
            (None, Some(Dataset::Fanoutqa)) => Workload::FanOutQa,
            (None, None) => Workload::Default,
        },
        out: args.out.clone(),
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        seed: args.seed,
        cache: args.cache.clone().unwrap_or_else(default_cache_dir),
    })
}

/// `poq collect`.
pub fn run(args: &CollectArgs) -> Result<()> {
    let plan = plan(args)?;
    let collected = run_plan(&plan)?;
    eprintln!(
        "{} new records in {} ({} prompts x {} models; evaluators: {})",
        collected.written,
        args.out.display(),
        collected.prompts,
        plan.models.len(),
        plan.evaluators.iter().map(|e| e.name()).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

/// Runs a collection plan behind a progress bar (`poq collect`, `poq demo --real`).
pub(crate) fn run_plan(plan: &CollectPlan) -> Result<poq_ml::collect::Collected> {
    // The bar appears once everything is loaded and the number of answers is known.
    let mut bar: Option<ProgressBar> = None;
    let collected = plan.run(&mut |p| {
        let pb = bar.get_or_insert_with(|| {
            let pb = ProgressBar::new(p.total as u64);
            pb.set_style(
                ProgressStyle::with_template("collect [{bar:40}] {pos}/{len} answers, {elapsed} elapsed, eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            pb
        });
        pb.set_position(p.done as u64);
    });
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    collected
        .map_err(|e| crate::score::flag_hint(e, "--cross-encoder"))
        .with_context(|| format!("collecting into {}", plan.out.display()))
}
