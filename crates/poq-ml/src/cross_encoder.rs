//! Cross-encoders (BERT sequence classifiers with one label) run with candle on the CPU,
//! and the cross-encoder evaluator of the spec: the prompt (or the reference) and the
//! output are read together, the model gives one logit, and the score is
//! sigmoid(logit) ×10.
//!
//! A model directory is read as `sentence_transformers.CrossEncoder` (6.x) reads it, so that
//! the logits and the activated scores match its `predict` (the parity test checks them to
//! 1e-5 against golden values that `fixtures/ml/cross_encoder/make_fixtures.py` writes with
//! the real library, on a random tiny BERT made there):
//!
//! - a Hugging Face `BertForSequenceClassification` directory: `config.json`
//!   (`model_type` `bert`, one label), `model.safetensors` (BERT under `bert.`, the pooler
//!   `bert.pooler.dense`, a dense layer and tanh on the `[CLS]` vector, then `classifier`)
//!   and `tokenizer.json`. `"hidden_act": "gelu"` is the exact (erf) GELU, as in
//!   transformers; candle's BERT maps `gelu` to its erf GELU too;
//! - the activation [`predict`](CrossEncoder::predict) applies is chosen as
//!   sentence-transformers chooses it: the `activation_fn` of
//!   `config_sentence_transformers.json` when the directory was saved by
//!   sentence-transformers (it has a `modules.json`), else `config.json`'s
//!   `sentence_transformers.activation_fn`, else its older
//!   `sbert_ce_default_activation_function`, else Sigmoid, the default for one label.
//!   Sigmoid and Identity are supported; any other activation is refused by name;
//! - pairs are encoded with `[CLS] a [SEP] b [SEP]` and token types 0 then 1, truncated
//!   "longest first" (a word piece at a time from the longer text) to the length
//!   sentence-transformers uses: `sentence_bert_config.json`'s `max_seq_length` in a
//!   directory saved with a `modules.json`, else `tokenizer_config.json`'s
//!   `model_max_length` capped at `max_position_embeddings`, else
//!   `max_position_embeddings`.
//!
//! As with the bi-encoder, a `tokenizer.json` may carry its own truncation and fixed
//! padding; both are replaced, because sentence-transformers ignores them too: it
//! truncates at the length above and pads each batch to its longest pair.
//!
//! The texts are not stripped or otherwise changed before tokenizing: sentence-transformers
//! passes cross-encoder pairs to the tokenizer as they are.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Linear, Module, VarBuilder, linear};
use candle_transformers::models::bert::{BertModel, Config};
use poq_core::scorer::{Score, ScoreInput, Scorer, check_score, logit_to_score};
use serde_json::Value;
use tokenizers::{PostProcessor, Tokenizer, TruncationDirection};

use crate::bi_encoder::read_json;
use crate::{MlError, Result};

/// Pairs per forward pass: large enough to keep the matrix products efficient, small
/// enough that a batch of 512-token pairs stays within a few hundred MB.
const BATCH_SIZE: usize = 32;

/// Batches whose longest pair has at least this many word pieces are cut where a pair is
/// at most half as long (see [`CrossEncoder::score_pairs`]).
const MIN_SPLIT_LENGTH: usize = 64;

/// The activation sentence-transformers applies to the logit in `CrossEncoder.predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `torch.nn.Sigmoid`: 1 / (1 + e^-logit), in (0, 1). The default for one label.
    Sigmoid,
    /// `torch.nn.Identity`: the logit as is.
    Identity,
}

impl Activation {
    /// The activation a sentence-transformers config names by its Python class path
    /// (`torch.nn.modules.activation.Sigmoid`, `torch.nn.Identity`, ...), if supported.
    pub fn from_class_path(path: &str) -> Option<Self> {
        match path {
            "torch.nn.modules.activation.Sigmoid" | "torch.nn.Sigmoid" => Some(Self::Sigmoid),
            "torch.nn.modules.linear.Identity" | "torch.nn.Identity" => Some(Self::Identity),
            _ => None,
        }
    }

    /// Applies the activation to a logit.
    pub fn apply(self, logit: f64) -> f64 {
        match self {
            Self::Sigmoid => 1.0 / (1.0 + (-logit).exp()),
            Self::Identity => logit,
        }
    }
}

/// A sentence-transformers cross-encoder: BERT, pooler, a one-logit classifier.
pub struct CrossEncoder {
    /// The model directory, for error messages.
    name: String,
    model: BertModel,
    pooler: Linear,
    classifier: Linear,
    tokenizer: Tokenizer,
    activation: Activation,
    max_length: usize,
    pad_id: u32,
    device: Device,
}

impl std::fmt::Debug for CrossEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The model and tokenizer are large and have no useful Debug of their own.
        f.debug_struct("CrossEncoder")
            .field("name", &self.name)
            .field("activation", &self.activation)
            .field("max_length", &self.max_length)
            .finish_non_exhaustive()
    }
}

impl CrossEncoder {
    /// Loads a cross-encoder directory (`config.json`, `model.safetensors`,
    /// `tokenizer.json`, and the optional files described in the [module
    /// documentation](self)). A missing file is an [`MlError::Io`] naming it; anything
    /// the directory asks for that this crate cannot run exactly as sentence-transformers
    /// would (another model type, more than one label, an activation other than Sigmoid
    /// or Identity, other sentence-transformers modules) is an [`MlError::Model`] naming
    /// the directory, the file and the offending value.
    pub fn load(dir: &Path) -> Result<Self> {
        let name = dir.display().to_string();
        let err = |reason: String| MlError::Model {
            model: name.clone(),
            reason,
        };

        let config_path = dir.join("config.json");
        let config_json = read_json(&config_path, &err)?;
        match config_json.get("model_type").and_then(Value::as_str) {
            // RoBERTa, DistilBERT and the like would load BERT-shaped weights and run a
            // different forward pass, so only `bert` is accepted.
            Some("bert") | None => {}
            Some(other) => {
                return Err(err(format!(
                    "{}: model_type {other:?} is not supported (only \"bert\")",
                    config_path.display()
                )));
            }
        }
        let num_labels = num_labels(&config_json);
        if num_labels != 1 {
            return Err(err(format!(
                "{}: the classifier has {num_labels} labels; a quality evaluator needs exactly 1 (one logit)",
                config_path.display()
            )));
        }
        let config: Config = serde_json::from_value(config_json.clone())
            .map_err(|e| err(format!("{}: not a BERT config: {e}", config_path.display())))?;

        let st = read_sentence_transformers_files(dir, &err)?;
        let activation = choose_activation(st.activation_fn.as_ref(), &config_json, &config_path, &err)?;
        let max_length = match st.max_seq_length {
            Some(n) => n,
            None => tokenizer_max_length(dir, &err)?.map_or(config.max_position_embeddings, |n| {
                n.min(config.max_position_embeddings)
            }),
        };
        if max_length < 3 || max_length > config.max_position_embeddings {
            // Below 3 there is no room for [CLS] and two [SEP]; above the position count
            // the model has no embedding for the later positions (sentence-transformers
            // would crash there too).
            return Err(err(format!(
                "max length {max_length} outside [3, {}] (max_position_embeddings)",
                config.max_position_embeddings
            )));
        }

        let tokenizer_path = dir.join("tokenizer.json");
        if !tokenizer_path.exists() {
            return Err(MlError::Io {
                path: tokenizer_path,
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| err(format!("{}: cannot load tokenizer: {e}", tokenizer_path.display())))?;
        // sentence-transformers truncates at max_length (special tokens included),
        // longest first, and pads per batch; the tokenizer.json's own settings are
        // replaced. Padding is done per batch in `logits_batch`.
        // Truncation is ours (`truncate_longest_first`): the tokenizers crate 0.23.2 splits
        // some pairs one word piece differently from the tokenizers 0.23.3 that
        // sentence-transformers runs (the parity fixture has such a pair).
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| err(format!("{}: cannot unset truncation: {e}", tokenizer_path.display())))?;
        let added = tokenizer.get_post_processor().map_or(0, |p| p.added_tokens(true));
        if max_length <= added {
            return Err(err(format!(
                "max length {max_length} leaves no room for text beside the {added} special tokens of a pair"
            )));
        }

        let weights_path = dir.join("model.safetensors");
        let weights = std::fs::read(&weights_path).map_err(|source| MlError::Io {
            path: weights_path.clone(),
            source,
        })?;
        let device = Device::Cpu;
        // Buffered rather than memory-mapped: mapping needs `unsafe`, which the workspace
        // forbids, and the copy costs one read of a file of at most a few hundred MB.
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| err(format!("{}: {e}", weights_path.display())))?;
        let fit = |what: &str, e: candle_core::Error| {
            err(format!(
                "{}: {what} weights do not fit config.json (is this a BertForSequenceClassification?): {e}",
                weights_path.display()
            ))
        };
        let model = BertModel::load(vb.pp("bert"), &config).map_err(|e| fit("BERT", e))?;
        let hidden = config.hidden_size;
        let pooler = linear(hidden, hidden, vb.pp("bert.pooler.dense")).map_err(|e| fit("pooler", e))?;
        let classifier = linear(hidden, 1, vb.pp("classifier")).map_err(|e| fit("classifier", e))?;

        let pad_id = u32::try_from(config.pad_token_id)
            .map_err(|_| err(format!("pad_token_id {} out of range", config.pad_token_id)))?;
        Ok(Self {
            name,
            model,
            pooler,
            classifier,
            tokenizer,
            activation,
            max_length,
            pad_id,
            device,
        })
    }

    /// The activation [`predict`](Self::predict) applies, as the model's config says.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The length, in word pieces including `[CLS]` and both `[SEP]`, that pairs are
    /// truncated to.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The raw logit of each pair `(a, b)`, in order: what `CrossEncoder.predict` returns
    /// with `activation_fn=torch.nn.Identity()`. Pairs are tokenized as
    /// `[CLS] a [SEP] b [SEP]`, truncated longest first at [`max_length`](Self::max_length),
    /// and run up to 32 per forward pass, grouped by length so that each batch is padded
    /// only to its own longest pair and long pairs are not batched with much shorter ones.
    /// The result does not depend on the batching beyond f32 rounding (about 1e-6 relative).
    pub fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<f64>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<&str> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        let singles = self
            .tokenizer
            .encode_batch(texts, false)
            .map_err(|e| self.err(format!("tokenizing: {e}")))?;
        let added = self.tokenizer.get_post_processor().map_or(0, |p| p.added_tokens(true));
        let mut encodings = Vec::with_capacity(pairs.len());
        let mut singles = singles.into_iter();
        while let (Some(mut a), Some(mut b)) = (singles.next(), singles.next()) {
            let (na, nb) = truncate_longest_first(a.len(), b.len(), self.max_length - added);
            a.truncate(na, 0, TruncationDirection::Right);
            b.truncate(nb, 0, TruncationDirection::Right);
            encodings.push(
                self.tokenizer
                    .post_process(a, Some(b), true)
                    .map_err(|e| self.err(format!("adding special tokens: {e}")))?,
            );
        }

        // Longest first, ties in input order: it keeps padding small, and the stable sort
        // keeps the batching deterministic.
        let len = |i: usize| encodings[i].get_ids().len();
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(len(i)));

        let mut out = vec![0.0; pairs.len()];
        let mut start = 0;
        while start < order.len() {
            // A batch is cut early where padding would at least double the work of the
            // next pair against a long batch (as in the bi-encoder); short batches are
            // left whole, since there a forward pass's fixed cost outweighs the padding.
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
            let logits = self
                .logits_batch(&batch)
                .map_err(|e| self.err(format!("forward pass: {e}")))?;
            for (&i, logit) in chunk.iter().zip(logits) {
                out[i] = f64::from(logit);
            }
            start = end;
        }
        Ok(out)
    }

    /// The activated score of each pair, in order: what `CrossEncoder.predict` returns
    /// with the model's own activation ([`activation`](Self::activation)) applied to
    /// [`score_pairs`](Self::score_pairs)' logit.
    pub fn predict(&self, pairs: &[(&str, &str)]) -> Result<Vec<f64>> {
        let logits = self.score_pairs(pairs)?;
        Ok(logits.into_iter().map(|l| self.activation.apply(l)).collect())
    }

    /// Runs one padded batch through BERT, the pooler and the classifier.
    fn logits_batch(&self, batch: &[&tokenizers::Encoding]) -> candle_core::Result<Vec<f32>> {
        let len = batch.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let n = batch.len();
        let mut ids = Vec::with_capacity(n * len);
        let mut type_ids = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in batch {
            let pad = len - e.get_ids().len();
            ids.extend(e.get_ids().iter().copied().chain(std::iter::repeat_n(self.pad_id, pad)));
            // Token types 0 for `[CLS] a [SEP]`, 1 for `b [SEP]`, as the tokenizer's pair
            // template sets them; BERT's token-type embeddings depend on them.
            type_ids.extend(e.get_type_ids().iter().copied().chain(std::iter::repeat_n(0, pad)));
            mask.extend(e.get_ids().iter().map(|_| 1u32).chain(std::iter::repeat_n(0, pad)));
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let type_ids = Tensor::from_vec(type_ids, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;

        let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?; // (n, len, hidden)
        let cls = hidden.narrow(1, 0, 1)?.squeeze(1)?; // (n, hidden)
        let pooled = self.pooler.forward(&cls)?.tanh()?;
        let logits = self.classifier.forward(&pooled)?; // (n, 1)
        logits.squeeze(1)?.to_vec1::<f32>()
    }

    fn err(&self, reason: String) -> MlError {
        MlError::Model {
            model: self.name.clone(),
            reason,
        }
    }
}

/// The cross-encoder evaluator: the pair (reference when there is one, else the prompt;
/// output) through the model; raw = the logit, score = sigmoid(logit) ×10 (spec §6).
///
/// The score is sigmoid(logit) ×10 whatever the model's activation: with the default
/// Sigmoid that is the activated value ×10; with Identity (a model trained on unbounded
/// targets) the spec's sigmoid still maps the logit into [0, 10].
#[derive(Debug)]
pub struct CrossEncoderScorer {
    encoder: CrossEncoder,
}

impl CrossEncoderScorer {
    /// The scorer's name, as `--evaluators` spells it.
    pub const NAME: &'static str = "cross-encoder";

    /// A scorer using `encoder`.
    pub fn new(encoder: CrossEncoder) -> Self {
        Self { encoder }
    }

    /// A scorer using the model in `dir` (see [`CrossEncoder::load`]).
    pub fn load(dir: &Path) -> Result<Self> {
        CrossEncoder::load(dir).map(Self::new)
    }

    /// The cross-encoder.
    pub fn encoder(&self) -> &CrossEncoder {
        &self.encoder
    }
}

impl Scorer for CrossEncoderScorer {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn score_batch(&mut self, inputs: &[ScoreInput<'_>]) -> poq_core::Result<Vec<Score>> {
        // The text the output is judged against comes first, as a query before a passage.
        let pairs: Vec<(&str, &str)> = inputs
            .iter()
            .map(|i| (i.reference.unwrap_or(i.prompt), i.output))
            .collect();
        let logits = self.encoder.score_pairs(&pairs)?;
        // check_score turns a NaN logit (a broken model) into an error instead of a score.
        logits
            .into_iter()
            .map(|raw| {
                check_score(
                    Self::NAME,
                    Score {
                        score: logit_to_score(raw),
                        raw,
                    },
                )
            })
            .collect()
    }
}

/// Lengths of a pair's two texts (special tokens excluded) after Hugging Face's
/// "longest first" truncation to `budget` word pieces, as tokenizers 0.23.3 cuts them:
/// nothing is cut when they fit; when the shorter text fits in half the budget only the
/// longer one is cut, to the rest; else the shorter gets half and the longer the rest
/// (the odd word piece), the first text counting as the shorter on a tie.
pub(crate) fn truncate_longest_first(n1: usize, n2: usize, budget: usize) -> (usize, usize) {
    if n1 + n2 <= budget {
        return (n1, n2);
    }
    let half = budget / 2;
    match (n1 <= n2, n1.min(n2) <= half) {
        (true, true) => (n1, budget - n1),
        (false, true) => (budget - n2, n2),
        (true, false) => (half, budget - half),
        (false, false) => (budget - half, half),
    }
}

/// The number of labels transformers gives a config: the length of `id2label` when there
/// is one, else `num_labels`, else 2 (transformers' default for a classifier).
fn num_labels(config: &Value) -> u64 {
    match config.get("id2label").and_then(Value::as_object) {
        Some(labels) => labels.len() as u64,
        None => config.get("num_labels").and_then(Value::as_u64).unwrap_or(2),
    }
}

/// What the files sentence-transformers saves beside the model say, for a directory with
/// a `modules.json`.
#[derive(Debug, Default)]
struct SentenceTransformersFiles {
    /// `config_sentence_transformers.json`'s `activation_fn`, when present and not null,
    /// with the file for error messages.
    activation_fn: Option<(String, String)>,
    /// `sentence_bert_config.json`'s `max_seq_length`, when present and not null.
    max_seq_length: Option<usize>,
}

/// Reads `modules.json`, `config_sentence_transformers.json` and
/// `sentence_bert_config.json` when the directory has a `modules.json` (which is when
/// sentence-transformers reads the other two), refusing what does not load as a plain
/// cross-encoder there.
fn read_sentence_transformers_files(dir: &Path, err: &impl Fn(String) -> MlError) -> Result<SentenceTransformersFiles> {
    let modules_path = dir.join("modules.json");
    if !modules_path.exists() {
        // Without modules.json, sentence-transformers builds a cross-encoder from the
        // Hugging Face files alone and reads neither of the other two.
        return Ok(SentenceTransformersFiles::default());
    }
    let modules = read_json(&modules_path, err)?;
    let kinds: Vec<(&str, &str)> = modules
        .as_array()
        .ok_or_else(|| err(format!("{}: not a list of modules", modules_path.display())))?
        .iter()
        .map(|m| {
            let kind = m.get("type").and_then(Value::as_str).unwrap_or("");
            let kind = kind.rsplit('.').next().unwrap_or(kind);
            (kind, m.get("path").and_then(Value::as_str).unwrap_or("?"))
        })
        .collect();
    if !matches!(kinds.as_slice(), [("Transformer", "")]) {
        return Err(err(format!(
            "{}: modules {kinds:?} are not supported (only one Transformer at path \"\")",
            modules_path.display()
        )));
    }

    let st_config_path = dir.join("config_sentence_transformers.json");
    let st_config = if st_config_path.exists() {
        read_json(&st_config_path, err)?
    } else {
        Value::Null
    };
    // sentence-transformers loads anything else (a missing model_type means
    // SentenceTransformer) by converting it, which ignores these files.
    match st_config.get("model_type").and_then(Value::as_str) {
        Some("CrossEncoder") => {}
        other => {
            return Err(err(format!(
                "{}: model_type {:?} is not \"CrossEncoder\" (a directory with modules.json must be a saved \
                 sentence-transformers CrossEncoder)",
                st_config_path.display(),
                other.unwrap_or("SentenceTransformer (missing)")
            )));
        }
    }
    let activation_fn = match st_config.get("activation_fn") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some((s.clone(), format!("{}: activation_fn", st_config_path.display()))),
        Some(other) => {
            return Err(err(format!(
                "{}: activation_fn {other} is not a class path",
                st_config_path.display()
            )));
        }
    };

    let sb_path = dir.join("sentence_bert_config.json");
    let sb = if sb_path.exists() {
        read_json(&sb_path, err)?
    } else {
        Value::Null
    };
    let mut max_seq_length = None;
    if let Some(fields) = sb.as_object() {
        for (key, value) in fields {
            let supported = match key.as_str() {
                "transformer_task" => value == "sequence-classification",
                "modality_config" => {
                    *value == serde_json::json!({"text": {"method": "forward", "method_output_name": "logits"}})
                }
                "module_output_name" => value == "scores",
                "do_lower_case" => *value == Value::Bool(false),
                "max_seq_length" => {
                    max_seq_length = match value {
                        Value::Null => None,
                        v => Some(
                            v.as_u64()
                                .and_then(|n| usize::try_from(n).ok())
                                .ok_or_else(|| err(format!("{}: max_seq_length {v} invalid", sb_path.display())))?,
                        ),
                    };
                    true
                }
                _ => false,
            };
            if !supported {
                return Err(err(format!("{}: {key} = {value} is not supported", sb_path.display())));
            }
        }
    }
    Ok(SentenceTransformersFiles {
        activation_fn,
        max_seq_length,
    })
}

/// The activation, in sentence-transformers' order of precedence (see the module
/// documentation); `from_st_config` is `config_sentence_transformers.json`'s, when read.
fn choose_activation(
    from_st_config: Option<&(String, String)>,
    config: &Value,
    config_path: &Path,
    err: &impl Fn(String) -> MlError,
) -> Result<Activation> {
    let named = match from_st_config {
        Some((path, source)) => Some((path.clone(), source.clone())),
        None => {
            // `sentence_transformers.activation_fn` hides the older key even when null.
            let new = config
                .get("sentence_transformers")
                .and_then(Value::as_object)
                .and_then(|st| st.get("activation_fn"));
            let source = |key: &str| format!("{}: {key}", config_path.display());
            match new {
                Some(Value::Null) => None,
                Some(Value::String(s)) => Some((s.clone(), source("sentence_transformers.activation_fn"))),
                Some(other) => {
                    return Err(err(format!(
                        "{}: activation_fn {other} is not a class path",
                        source("sentence_transformers")
                    )));
                }
                None => match config.get("sbert_ce_default_activation_function") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some((s.clone(), source("sbert_ce_default_activation_function"))),
                    Some(other) => {
                        return Err(err(format!(
                            "{} {other} is not a class path",
                            source("sbert_ce_default_activation_function")
                        )));
                    }
                },
            }
        }
    };
    match named {
        // One label (checked before): sentence-transformers' default is a sigmoid.
        None => Ok(Activation::Sigmoid),
        Some((path, source)) => Activation::from_class_path(&path).ok_or_else(|| {
            err(format!(
                "{source}: activation {path:?} is not supported (only torch.nn Sigmoid and Identity)"
            ))
        }),
    }
}

/// `tokenizer_config.json`'s `model_max_length`, if the file gives one. transformers
/// writes a huge placeholder (about 1e30) for "no limit", which is returned saturated.
fn tokenizer_max_length(dir: &Path, err: &impl Fn(String) -> MlError) -> Result<Option<usize>> {
    let path = dir.join("tokenizer_config.json");
    if !path.exists() {
        return Ok(None);
    }
    let value = read_json(&path, err)?;
    Ok(match value.get("model_max_length") {
        None | Some(Value::Null) => None,
        Some(v) => match (v.as_u64(), v.as_f64()) {
            (Some(n), _) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            // A float cast saturates: the placeholder becomes usize::MAX.
            (None, Some(x)) if x >= 1.0 => Some(x as usize),
            _ => return Err(err(format!("{}: model_max_length {v} invalid", path.display()))),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::truncate_longest_first as cut;

    #[test]
    fn longest_first_truncation_by_hand() {
        // Fits: untouched.
        assert_eq!(cut(10, 20, 45), (10, 20));
        assert_eq!(cut(0, 45, 45), (0, 45));
        // The shorter fits in half the budget: only the longer is cut.
        assert_eq!(cut(10, 60, 45), (10, 35));
        assert_eq!(cut(60, 10, 45), (35, 10));
        assert_eq!(cut(22, 30, 45), (22, 23));
        // Both longer than half: the shorter gets 22, the longer the odd 23.
        assert_eq!(cut(67, 40, 45), (23, 22));
        assert_eq!(cut(40, 67, 45), (22, 23));
        assert_eq!(cut(23, 23, 45), (22, 23));
        assert_eq!(cut(50, 50, 44), (22, 22));
        assert_eq!(cut(100, 100, 1), (0, 1));
    }
}
