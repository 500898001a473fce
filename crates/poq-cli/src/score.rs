//! `poq score`: one evaluator over JSON Lines.

use crate::jsonl::BadLine;
use anyhow::{Context, Result, bail};
use poq_core::scorer::{Lexical, Overlap, ScoreInput, Scorer, check_score};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

/// The evaluators `poq score` and `poq collect` can build.
pub const EVALUATORS: &str = "bi-encoder, cross-encoder, lexical-f1, lexical-rougeL";

/// Arguments of `poq score`.
#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// The evaluator: bi-encoder (cosine of the output with the reference, or the
    /// prompt when there is none, clipped to [0, 1] ×10; all-MiniLM-L6-v2 unless
    /// --model names another sentence-transformers directory), cross-encoder
    /// (sigmoid of the logit of the pair (reference or prompt, output) ×10; needs
    /// --model: a BertForSequenceClassification directory with one label), lexical-f1 or
    /// lexical-rougeL (overlap of the output with the prompt, ×10).
    #[arg(long)]
    evaluator: String,
    /// Model directory, for model-backed evaluators.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Items scored per batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
}

/// Builds the evaluator called `name`.
pub fn make_scorer(name: &str, model: Option<&std::path::Path>) -> Result<Box<dyn Scorer + Send>> {
    let scorer: Box<dyn Scorer + Send> = match name {
        "lexical-f1" => Box::new(Lexical::new(Overlap::TokenF1)),
        "lexical-rougeL" => Box::new(Lexical::new(Overlap::RougeL)),
        "bi-encoder" => {
            let dir = match model {
                Some(d) => d.to_path_buf(),
                None => poq_ml::fetch::fetch_model("all-minilm-l6-v2", &poq_ml::fetch::default_cache_dir())
                    .context("fetching all-MiniLM-L6-v2")?,
            };
            Box::new(
                poq_ml::bi_encoder::BiEncoderScorer::load(&dir)
                    .with_context(|| format!("loading the bi-encoder from {}", dir.display()))?,
            )
        }
        "cross-encoder" => {
            // No pretrained cross-encoder can be fetched offline: the user brings one.
            let Some(dir) = model else {
                bail!("the cross-encoder needs --model DIR (a BertForSequenceClassification directory)");
            };
            Box::new(
                poq_ml::cross_encoder::CrossEncoderScorer::load(dir)
                    .with_context(|| format!("loading the cross-encoder from {}", dir.display()))?,
            )
        }
        _ => bail!("unknown evaluator {name:?}; expected one of: {EVALUATORS}"),
    };
    if let (Some(m), true) = (model, name.starts_with("lexical")) {
        bail!("--model {} given, but {name} uses no model", m.display());
    }
    Ok(scorer)
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
    let mut scorer = make_scorer(&args.evaluator, args.model.as_deref())?;
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
