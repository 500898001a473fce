//! `poq score`: one evaluator over JSON Lines.

use crate::jsonl::BadLine;
use anyhow::{Context, Result, bail};
use poq_core::scorer::{ScoreInput, Scorer, check_score};
use poq_ml::MlError;
use poq_ml::fetch::default_cache_dir;
use poq_ml::registry::{self, EvaluatorName};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

/// Arguments of `poq score`.
#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// The evaluator: bi-encoder (cosine of the output with the reference, or the
    /// prompt when there is none, clipped to [0, 1] ×10; all-MiniLM-L6-v2 unless
    /// --model names another sentence-transformers directory), cross-encoder
    /// (sigmoid of the logit of the pair (reference or prompt, output) ×10; needs
    /// --model: a BertForSequenceClassification directory with one label), lexical-f1 or
    /// lexical-rougeL (overlap of the output with the prompt, ×10), judge (SmolLM2's
    /// expected grade from its probabilities over "0".."10"), bi-encoder-mpnet
    /// (all-mpnet-base-v2 cosine, fetched), judge-qwen (Qwen2.5-Coder-1.5B's
    /// 10·P(Yes) that the output matches the reference).
    #[arg(long)]
    evaluator: String,
    /// Model directory, for model-backed evaluators.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Items scored per batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
}

/// Says which command-line flag a model-directory error is about.
pub(crate) fn flag_hint(e: MlError, flag: &str) -> anyhow::Error {
    let hint = match &e {
        MlError::ModelDirRequired { .. } => format!("{flag} DIR is missing"),
        MlError::ModelDirUnused { .. } => format!("{flag} given"),
        _ => return e.into(),
    };
    anyhow::Error::new(e).context(hint)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    prompt: String,
    output: String,
    #[serde(default)]
    reference: Option<String>,
}

#[derive(Serialize)]
struct Output {
    score: f64,
    raw: f64,
}

fn flush_batch(scorer: &mut dyn Scorer, batch: &mut Vec<Input>, out: &mut impl Write, first_line: usize) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let inputs: Vec<ScoreInput<'_>> = batch
        .iter()
        .map(|i| ScoreInput {
            prompt: &i.prompt,
            output: &i.output,
            reference: i.reference.as_deref(),
        })
        .collect();
    let scores = scorer
        .score_batch(&inputs)
        .with_context(|| format!("scoring lines {}..{}", first_line, first_line + batch.len() - 1))?;
    for s in scores {
        let s = check_score(scorer.name(), s)?;
        serde_json::to_writer(
            &mut *out,
            &Output {
                score: s.score,
                raw: s.raw,
            },
        )
        .context("writing stdout")?;
        out.write_all(b"\n").context("writing stdout")?;
    }
    batch.clear();
    Ok(())
}

/// `poq score`.
pub fn run(args: &ScoreArgs) -> Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let evaluator = EvaluatorName::from_name(&args.evaluator)?;
    let mut scorer = registry::load_scorer(evaluator, args.model.as_deref(), &default_cache_dir())
        .map_err(|e| flag_hint(e, "--model"))?;
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut batch = Vec::with_capacity(args.batch);
    let mut first = 1;
    for (i, line) in stdin.split(b'\n').enumerate() {
        let line_no = i + 1;
        let mut bytes = line.with_context(|| format!("reading line {line_no} of stdin"))?;
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let parsed = crate::jsonl::parse_line::<Input>(&bytes);
        match parsed {
            Ok(input) => {
                if batch.is_empty() {
                    first = line_no;
                }
                batch.push(input);
                if batch.len() == args.batch {
                    flush_batch(scorer.as_mut(), &mut batch, &mut out, first)?;
                }
            }
            Err(reason) => {
                // Answer every good line before the bad one, then stop.
                flush_batch(scorer.as_mut(), &mut batch, &mut out, first)?;
                out.flush().context("writing stdout")?;
                return Err(BadLine { line: line_no, reason }.into());
            }
        }
    }
    flush_batch(scorer.as_mut(), &mut batch, &mut out, first)?;
    out.flush().context("writing stdout")?;
    Ok(())
}
