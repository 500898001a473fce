//! Sentence-transformers bi-encoders (BERT family) run with candle on the CPU, and the
//! bi-encoder evaluator of the spec: the cosine similarity of the output with the
//! reference (or the prompt), clipped to [0, 1] and ×10.
//!
//! A model directory is read as `sentence-transformers` reads it, so that the embeddings
//! match its `SentenceTransformer.encode` (the parity test checks every component to
//! 1e-5 against golden vectors that `fixtures/ml/bi_encoder/make_fixtures.py` writes
//! with the real library):
//!
//! - `modules.json`: a `Transformer`, then a `Pooling`, then optionally a `Normalize`;
//!   any other module (a `Dense` projection, say) is refused rather than skipped, since
//!   skipping it would silently produce different embeddings. Without `modules.json`
//!   the directory is a plain Hugging Face model and gets mean pooling, as
//!   sentence-transformers does;
//! - the transformer's `config.json` (`model_type` `bert`, or `mpnet` through our own
//!   port in [`crate::mpnet`]), `model.safetensors` and
//!   `tokenizer.json`, with `sentence_bert_config.json`'s `max_seq_length` and
//!   `do_lower_case`;
//! - the pooling module's `config.json`: CLS, max, mean and mean-sqrt-length pooling,
//!   concatenated in that order when several are on (as sentence-transformers does);
//!   weighted-mean and last-token pooling are refused.
//!
//! `tokenizer.json` files exported from sentence-transformers often carry their own
//! truncation (128) and fixed-length padding (128); both are replaced here, because
//! sentence-transformers ignores them too: it truncates at `max_seq_length` and pads each
//! batch to its longest text.

use std::path::{Path, PathBuf};

use candle_core::{D, DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use crate::mpnet::{MpNet, MpNetConfig};
use poq_core::scorer::{Score, ScoreInput, Scorer, check_score, cosine_to_score};
use serde_json::Value;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::{MlError, Result};

/// Texts per forward pass: large enough to keep the matrix products efficient, small
/// enough that a batch of 256-token texts stays within a few hundred MB.
const BATCH_SIZE: usize = 32;

/// Batches whose longest text has at least this many word pieces are cut where a text is
/// at most half as long (see [`BiEncoder::embed`]).
const MIN_SPLIT_LENGTH: usize = 64;

/// The pooling modes of a sentence-transformers `Pooling` module that this crate runs.
/// When several are on, their vectors are concatenated in field order, which is the
/// order sentence-transformers concatenates them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pooling {
    cls: bool,
    max: bool,
    mean: bool,
    mean_sqrt_len: bool,
}

impl Pooling {
    /// Mean pooling only: what sentence-transformers uses for a directory without
    /// `modules.json`.
    const MEAN: Pooling = Pooling {
        cls: false,
        max: false,
        mean: true,
        mean_sqrt_len: false,
    };

    /// How many hidden-size vectors the pooled embedding concatenates.
    fn width(self) -> usize {
        [self.cls, self.max, self.mean, self.mean_sqrt_len]
            .iter()
            .filter(|&&on| on)
            .count()
    }
}

/// The transformer under the pooling.
enum Encoder {
    /// candle's BERT.
    Bert(BertModel),
    /// Our MPNet port.
    MpNet(MpNet),
}

impl Encoder {
    /// Last hidden states (n, len, hidden) of a padded batch.
    fn forward(&self, ids: &Tensor, type_ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Encoder::Bert(m) => m.forward(ids, type_ids, Some(mask)),
            // MPNet has no token types.
            Encoder::MpNet(m) => m.forward(ids, mask),
        }
    }
}

/// A model's configuration, by architecture.
enum Architecture {
    /// `model_type` "bert" (or none).
    Bert(Config),
    /// `model_type` "mpnet".
    MpNet(MpNetConfig),
}

impl Architecture {
    /// The longest input the model's positions allow.
    fn max_tokens(&self) -> usize {
        match self {
            Architecture::Bert(c) => c.max_position_embeddings,
            Architecture::MpNet(c) => c.max_tokens(),
        }
    }
}

/// A sentence-transformers bi-encoder: BERT or MPNet, pooling, optional L2
/// normalization.
pub struct BiEncoder {
    /// The model directory, for error messages.
    name: String,
    model: Encoder,
    tokenizer: Tokenizer,
    pooling: Pooling,
    normalize: bool,
    do_lower_case: bool,
    pad_id: u32,
    dim: usize,
    device: Device,
}

impl std::fmt::Debug for BiEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The model and tokenizer are large and have no useful Debug of their own.
        f.debug_struct("BiEncoder")
            .field("name", &self.name)
            .field("pooling", &self.pooling)
            .field("normalize", &self.normalize)
            .field("do_lower_case", &self.do_lower_case)
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

impl BiEncoder {
    /// Loads a sentence-transformers BERT-family model directory: `config.json`,
    /// `model.safetensors`, `tokenizer.json`, honouring `modules.json` (is there a
    /// `Normalize`?), `sentence_bert_config.json` (`max_seq_length`, `do_lower_case`) and
    /// the pooling module's `config.json`. Fails with [`MlError::Model`] naming the
    /// directory on anything it cannot run exactly as sentence-transformers would.
    pub fn load(dir: &Path) -> Result<Self> {
        let name = dir.display().to_string();
        let err = |reason: String| MlError::Model {
            model: name.clone(),
            reason,
        };

        let (transformer_dir, pooling, normalize) = read_modules(dir, &err)?;

        let config_path = transformer_dir.join("config.json");
        let config_json = read_json(&config_path, &err)?;
        let config = match config_json.get("model_type").and_then(Value::as_str) {
            // BERT-family models whose weights follow BERT's layout but whose forward pass
            // differs (RoBERTa's position offset, DistilBERT's missing token types) would
            // load and produce wrong vectors, so only `bert` and our `mpnet` port are
            // accepted.
            Some("bert") | None => Architecture::Bert(
                serde_json::from_value(config_json)
                    .map_err(|e| err(format!("{}: not a BERT config: {e}", config_path.display())))?,
            ),
            Some("mpnet") => Architecture::MpNet(
                serde_json::from_value(config_json)
                    .map_err(|e| err(format!("{}: not an MPNet config: {e}", config_path.display())))?,
            ),
            Some(other) => {
                return Err(err(format!(
                    "{}: model_type {other:?} is not supported (\"bert\", \"mpnet\")",
                    config_path.display()
                )));
            }
        };

        let (max_seq_length, do_lower_case) = read_sentence_bert_config(&transformer_dir, config.max_tokens(), &err)?;

        let tokenizer_path = transformer_dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| err(format!("{}: cannot load tokenizer: {e}", tokenizer_path.display())))?;
        // sentence-transformers truncates at max_seq_length (special tokens included) and
        // pads per batch; the tokenizer.json's own settings would truncate at 128 and pad
        // every text to 128, so they are replaced. Padding is done per batch in `embed`.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_seq_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| err(format!("{}: cannot set truncation: {e}", tokenizer_path.display())))?;

        let weights_path = transformer_dir.join("model.safetensors");
        let weights = std::fs::read(&weights_path).map_err(|source| MlError::Io {
            path: weights_path.clone(),
            source,
        })?;
        let device = Device::Cpu;
        // Buffered rather than memory-mapped: mapping needs `unsafe`, which the workspace
        // forbids, and the copy costs one read of a file of at most a few hundred MB.
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| err(format!("{}: {e}", weights_path.display())))?;
        let misfit = |e: candle_core::Error| {
            err(format!(
                "{}: weights do not fit config.json: {e}",
                weights_path.display()
            ))
        };
        let (model, hidden_size, pad_token_id) = match &config {
            Architecture::Bert(c) => (
                Encoder::Bert(BertModel::load(vb, c).map_err(misfit)?),
                c.hidden_size,
                c.pad_token_id,
            ),
            Architecture::MpNet(c) => (
                Encoder::MpNet(MpNet::load(vb, c).map_err(misfit)?),
                c.hidden_size,
                c.pad_token_id as usize,
            ),
        };

        let pad_id =
            u32::try_from(pad_token_id).map_err(|_| err(format!("pad_token_id {pad_token_id} out of range")))?;
        Ok(Self {
            dim: pooling.width() * hidden_size,
            name,
            model,
            tokenizer,
            pooling,
            normalize,
            do_lower_case,
            pad_id,
            device,
        })
    }

    /// The length of the embeddings [`embed`](Self::embed) returns.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Embeds texts, up to 32 per forward pass, and returns one vector per text, in order.
    /// Texts are stripped of surrounding whitespace (and lower-cased if the model says so)
    /// as sentence-transformers does, truncated at `max_seq_length` word pieces including
    /// `[CLS]` and `[SEP]`, and grouped by length so that each batch is padded only to its
    /// own longest text, and long texts are not batched with much shorter ones. The result
    /// does not depend on the batching beyond float rounding (about 1e-7).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prepared: Vec<String> = texts
            .iter()
            .map(|t| {
                let t = python_strip(t);
                if self.do_lower_case {
                    t.to_lowercase()
                } else {
                    t.to_string()
                }
            })
            .collect();
        let encodings = self
            .tokenizer
            .encode_batch(prepared, true)
            .map_err(|e| self.err(format!("tokenizing: {e}")))?;

        // Longest first, ties in input order (sentence-transformers sorts too): it keeps
        // padding small, and the stable sort keeps the batching deterministic.
        let len = |i: usize| encodings[i].get_ids().len();
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(len(i)));

        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        let mut start = 0;
        while start < order.len() {
            // A batch is cut early where padding would at least double the work of the
            // next text against a long batch: 30 short texts padded to one 256-piece text
            // cost about 15 times their own forward pass. Short batches are left whole,
            // since there a forward pass's fixed cost outweighs the padding.
            let longest = len(order[start]);
            let mut end = start + 1;
            while end < order.len()
                && end - start < BATCH_SIZE
                && (longest < MIN_SPLIT_LENGTH || 2 * len(order[end]) > longest)
            {
                end += 1;
            }
            let chunk = &order[start..end];
            let batch: Vec<&tokenizers::Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            let vectors = self
                .embed_batch(&batch)
                .map_err(|e| self.err(format!("forward pass: {e}")))?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
            start = end;
        }
        Ok(out)
    }

    /// The cosine similarity of the two texts of each pair, in order. A zero vector (which
    /// a model without normalization could produce) has similarity 0 with anything.
    pub fn similarity(&self, pairs: &[(&str, &str)]) -> Result<Vec<f64>> {
        // One embed call for all texts, so that the batches are full.
        let texts: Vec<&str> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        let vectors = self.embed(&texts)?;
        Ok(vectors.chunks_exact(2).map(|ab| cosine(&ab[0], &ab[1])).collect())
    }

    /// Runs one padded batch through the model, the pooling and the normalization.
    fn embed_batch(&self, batch: &[&tokenizers::Encoding]) -> candle_core::Result<Vec<Vec<f32>>> {
        let len = batch.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let n = batch.len();
        let mut ids = Vec::with_capacity(n * len);
        let mut type_ids = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in batch {
            let pad = len - e.get_ids().len();
            ids.extend(e.get_ids().iter().copied().chain(std::iter::repeat_n(self.pad_id, pad)));
            type_ids.extend(e.get_type_ids().iter().copied().chain(std::iter::repeat_n(0, pad)));
            mask.extend(e.get_ids().iter().map(|_| 1u32).chain(std::iter::repeat_n(0, pad)));
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let type_ids = Tensor::from_vec(type_ids, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;

        let hidden = self.model.forward(&ids, &type_ids, &mask)?; // (n, len, hidden)
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (n, len, 1)
        let tokens = mask.sum(1)?; // (n, 1)

        let mut parts = Vec::with_capacity(4);
        if self.pooling.cls {
            parts.push(hidden.narrow(1, 0, 1)?.squeeze(1)?);
        }
        if self.pooling.max {
            // Padding positions become -1e9 so they never win, as in sentence-transformers.
            let masked = (hidden.broadcast_mul(&mask)? + ((&mask - 1.0)? * 1e9)?.broadcast_as(hidden.shape())?)?;
            parts.push(masked.max(1)?);
        }
        if self.pooling.mean || self.pooling.mean_sqrt_len {
            let sum = hidden.broadcast_mul(&mask)?.sum(1)?; // (n, hidden)
            if self.pooling.mean {
                // Clamped like sentence-transformers; a text always has [CLS] and [SEP].
                parts.push(sum.broadcast_div(&tokens.clamp(1e-9, f64::INFINITY)?)?);
            }
            if self.pooling.mean_sqrt_len {
                parts.push(sum.broadcast_div(&tokens.sqrt()?)?);
            }
        }
        let mut pooled = Tensor::cat(&parts, 1)?;
        if self.normalize {
            // torch.nn.functional.normalize: x / max(‖x‖₂, 1e-12).
            let norm = pooled
                .sqr()?
                .sum_keepdim(D::Minus1)?
                .sqrt()?
                .clamp(1e-12, f64::INFINITY)?;
            pooled = pooled.broadcast_div(&norm)?;
        }
        pooled.to_vec2::<f32>()
    }

    fn err(&self, reason: String) -> MlError {
        MlError::Model {
            model: self.name.clone(),
            reason,
        }
    }
}

/// The bi-encoder evaluator: cosine of the output with the reference when there is one,
/// else with the prompt; raw = the cosine, score = the cosine clipped to [0, 1] ×10.
#[derive(Debug)]
pub struct BiEncoderScorer {
    encoder: BiEncoder,
    name: String,
}

impl BiEncoderScorer {
    /// The scorer's name, as `--evaluators` spells it.
    pub const NAME: &'static str = "bi-encoder";

    /// A scorer using `encoder`, named [`BiEncoderScorer::NAME`].
    pub fn new(encoder: BiEncoder) -> Self {
        Self {
            encoder,
            name: Self::NAME.to_string(),
        }
    }

    /// The same scorer under another name (the registry's, for a second bi-encoder).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// A scorer using the model in `dir` (see [`BiEncoder::load`]).
    pub fn load(dir: &Path) -> Result<Self> {
        BiEncoder::load(dir).map(Self::new)
    }

    /// The encoder.
    pub fn encoder(&self) -> &BiEncoder {
        &self.encoder
    }
}

impl Scorer for BiEncoderScorer {
    fn name(&self) -> &str {
        &self.name
    }

    fn score_batch(&mut self, inputs: &[ScoreInput<'_>]) -> poq_core::Result<Vec<Score>> {
        let pairs: Vec<(&str, &str)> = inputs
            .iter()
            .map(|i| (i.output, i.reference.unwrap_or(i.prompt)))
            .collect();
        let cosines = self.encoder.similarity(&pairs)?;
        // check_score turns a NaN cosine (a broken model) into an error instead of a score.
        cosines
            .into_iter()
            .map(|raw| {
                check_score(
                    Self::NAME,
                    Score {
                        score: cosine_to_score(raw),
                        raw,
                    },
                )
            })
            .collect()
    }
}

/// Cosine similarity in f64; 0 when either vector is zero.
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

/// Python's `str.strip()`, which sentence-transformers applies to every text: Rust's
/// `trim` plus the four separators U+001C..U+001F that Python counts as whitespace.
fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Reads and parses a JSON file.
pub(crate) fn read_json(path: &Path, err: &impl Fn(String) -> MlError) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| MlError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| err(format!("{}: invalid JSON: {e}", path.display())))
}

/// Reads `modules.json`: the transformer's directory, the pooling, and whether the
/// embeddings are normalized.
fn read_modules(dir: &Path, err: &impl Fn(String) -> MlError) -> Result<(PathBuf, Pooling, bool)> {
    let path = dir.join("modules.json");
    if !path.exists() {
        return Ok((dir.to_path_buf(), Pooling::MEAN, false));
    }
    let modules = read_json(&path, err)?;
    let modules = modules
        .as_array()
        .ok_or_else(|| err(format!("{}: not a list of modules", path.display())))?;
    // The class name without its package, so that both `sentence_transformers.models.X`
    // and later layouts of the package are recognised.
    let kinds: Vec<(&str, &str)> = modules
        .iter()
        .map(|m| {
            let kind = m.get("type").and_then(Value::as_str).unwrap_or("");
            let kind = kind.rsplit('.').next().unwrap_or(kind);
            (kind, m.get("path").and_then(Value::as_str).unwrap_or(""))
        })
        .collect();
    let (transformer, pooling, normalize) = match kinds.as_slice() {
        [("Transformer", t), ("Pooling", p)] => (t, p, false),
        [("Transformer", t), ("Pooling", p), ("Normalize", _)] => (t, p, true),
        _ => {
            let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
            return Err(err(format!(
                "{}: modules {names:?} are not supported (Transformer, Pooling and optionally Normalize)",
                path.display()
            )));
        }
    };
    let pooling = read_pooling(&dir.join(pooling).join("config.json"), err)?;
    Ok((dir.join(transformer), pooling, normalize))
}

/// Reads a pooling module's `config.json`, refusing the modes this crate does not run.
fn read_pooling(path: &Path, err: &impl Fn(String) -> MlError) -> Result<Pooling> {
    let config = read_json(path, err)?;
    let on = |key: &str| config.get(key).and_then(Value::as_bool).unwrap_or(false);
    for unsupported in ["pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"] {
        if on(unsupported) {
            return Err(err(format!("{}: {unsupported} is not supported", path.display())));
        }
    }
    let pooling = Pooling {
        cls: on("pooling_mode_cls_token"),
        max: on("pooling_mode_max_tokens"),
        mean: on("pooling_mode_mean_tokens"),
        mean_sqrt_len: on("pooling_mode_mean_sqrt_len_tokens"),
    };
    if pooling.width() == 0 {
        return Err(err(format!("{}: no supported pooling mode is on", path.display())));
    }
    Ok(pooling)
}

/// Reads `sentence_bert_config.json` (optional): the truncation length and whether to
/// lower-case texts. Without a `max_seq_length`, sentence-transformers uses the smaller
/// of the tokenizer's `model_max_length` and the model's position count.
fn read_sentence_bert_config(dir: &Path, max_tokens: usize, err: &impl Fn(String) -> MlError) -> Result<(usize, bool)> {
    let path = dir.join("sentence_bert_config.json");
    let st = if path.exists() {
        read_json(&path, err)?
    } else {
        Value::Null
    };
    let do_lower_case = st.get("do_lower_case").and_then(Value::as_bool).unwrap_or(false);
    let max_seq_length = match st.get("max_seq_length").and_then(Value::as_u64) {
        Some(n) => usize::try_from(n).map_err(|_| err(format!("{}: max_seq_length too large", path.display())))?,
        None => {
            let tok_config = dir.join("tokenizer_config.json");
            let model_max = if tok_config.exists() {
                read_json(&tok_config, err)?
                    .get("model_max_length")
                    .and_then(Value::as_u64)
            } else {
                None
            };
            model_max
                .and_then(|n| usize::try_from(n).ok())
                .map_or(max_tokens, |n| n.min(max_tokens))
        }
    };
    if max_seq_length < 2 || max_seq_length > max_tokens {
        // Below 2 there is no room for [CLS] and [SEP]; above the position count the
        // model has no embedding for the later positions (sentence-transformers would
        // crash there too).
        return Err(err(format!(
            "{}: max_seq_length {max_seq_length} outside [2, {max_tokens}] (the model's positions)",
            path.display(),
        )));
    }
    Ok((max_seq_length, do_lower_case))
}
