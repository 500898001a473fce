//! GGUF chat models run in process through candle: the llama architecture (SmolLM2)
//! through `quantized_llama`, the qwen2 architecture (Qwen2.5) through
//! `quantized_qwen2`, chosen by the file's `general.architecture`.
//!
//! Everything comes from the one GGUF file: the weights, the tokenizer (its token list
//! and merges rebuilt into a byte-level BPE, the format GPT-2-style models use) and the
//! chat template (`tokenizer.chat_template`, rendered with minijinja, the Jinja engine
//! whose output matches transformers' for these templates). Decoding is greedy at
//! temperature 0 and seeded otherwise.

use crate::llm::{ChatMessage, Generation, GenerationParams, Generator};
use crate::{MlError, Result};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::generation::LogitsProcessor;
use candle_transformers::models::{quantized_llama, quantized_qwen2};
use std::path::Path;
use std::time::Instant;
use tokenizers::Tokenizer;

/// The weights of one of the architectures candle runs.
enum Weights {
    /// `general.architecture` = "llama".
    Llama(quantized_llama::ModelWeights),
    /// `general.architecture` = "qwen2".
    Qwen2(quantized_qwen2::ModelWeights),
}

impl Weights {
    /// Loads the weights of the architecture `arch`; another one is an error naming it.
    fn load(
        arch: &str,
        content: gguf_file::Content,
        file: &mut std::fs::File,
        device: &Device,
        model: &str,
    ) -> Result<Self> {
        match arch {
            "llama" => quantized_llama::ModelWeights::from_gguf(content, file, device).map(Weights::Llama),
            "qwen2" => quantized_qwen2::ModelWeights::from_gguf(content, file, device).map(Weights::Qwen2),
            other => {
                return Err(fail(
                    model,
                    format!("general.architecture {other:?} is not supported (llama, qwen2)"),
                ));
            }
        }
        .map_err(|e| fail(model, e))
    }

    /// Logits of the last position of `input` (batch 1), the cache holding `index_pos`
    /// tokens before it (0 restarts it).
    fn forward(&mut self, input: &Tensor, index_pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Weights::Llama(m) => m.forward(input, index_pos),
            Weights::Qwen2(m) => m.forward(input, index_pos),
        }
    }
}

/// A GGUF chat model.
pub struct GgufChat {
    name: String,
    model: Weights,
    tokenizer: Tokenizer,
    template: String,
    /// Tokens that end the assistant's turn: the file's eos and the end-of-text and
    /// end-of-turn tokens where the vocabulary has them.
    stops: Vec<u32>,
    device: Device,
}

/// The pre-tokenizer a GGUF file's `tokenizer.ggml.pre` names, and its normalizer.
fn pre_tokenizer(pre: Option<&str>, model: &str) -> Result<(serde_json::Value, serde_json::Value)> {
    let byte_level =
        serde_json::json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    match pre {
        // SmolLM2's own tokenizer.json: single digits, then GPT-2's byte-level split.
        None | Some("smollm") | Some("default") => Ok((
            serde_json::Value::Null,
            serde_json::json!({"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": true}, byte_level]}),
        )),
        // Qwen2's tokenizer.json: NFC, its split regex (digits one by one), then the
        // byte-level mapping without GPT-2's own split.
        Some("qwen2") => Ok((
            serde_json::json!({"type": "NFC"}),
            serde_json::json!({"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": false},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]}),
        )),
        Some(other) => Err(fail(
            model,
            format!("tokenizer.ggml.pre {other:?} is not supported (smollm, qwen2)"),
        )),
    }
}

/// The split pattern of Qwen2's tokenizer (as llama.cpp's `LLAMA_VOCAB_PRE_TYPE_QWEN2`).
const QWEN2_SPLIT: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

pub(crate) fn fail(model: &str, reason: impl std::fmt::Display) -> MlError {
    MlError::Model {
        model: model.to_string(),
        reason: reason.to_string(),
    }
}

pub(crate) fn meta_str<'a>(c: &'a gguf_file::Content, key: &str, model: &str) -> Result<&'a String> {
    c.metadata
        .get(key)
        .ok_or_else(|| fail(model, format!("GGUF metadata has no {key}")))?
        .to_string()
        .map_err(|e| fail(model, format!("{key}: {e}")))
}

pub(crate) fn meta_strings(c: &gguf_file::Content, key: &str, model: &str) -> Result<Vec<String>> {
    c.metadata
        .get(key)
        .ok_or_else(|| fail(model, format!("GGUF metadata has no {key}")))?
        .to_vec()
        .map_err(|e| fail(model, format!("{key}: {e}")))?
        .iter()
        .map(|v| v.to_string().cloned().map_err(|e| fail(model, format!("{key}: {e}"))))
        .collect()
}

/// Rebuilds a byte-level BPE tokenizer from GGUF metadata (`tokenizer.ggml.model` =
/// "gpt2": tokens and merges). Control tokens (type 3) become special added tokens, so
/// the chat template's `<|im_start|>` encodes as one token.
fn tokenizer_from_gguf(c: &gguf_file::Content, model: &str) -> Result<Tokenizer> {
    let kind = meta_str(c, "tokenizer.ggml.model", model)?;
    if kind != "gpt2" {
        return Err(fail(
            model,
            format!("tokenizer.ggml.model {kind:?} is not supported (only gpt2 byte-level BPE)"),
        ));
    }
    let tokens = meta_strings(c, "tokenizer.ggml.tokens", model)?;
    let merges = meta_strings(c, "tokenizer.ggml.merges", model)?;
    let types: Vec<i32> = match c.metadata.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()
            .map_err(|e| fail(model, e))?
            .iter()
            .map(|t| t.to_i32().map_err(|e| fail(model, e)))
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let vocab: serde_json::Map<String, serde_json::Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), serde_json::json!(i)))
        .collect();
    let added: Vec<serde_json::Value> = tokens
        .iter()
        .enumerate()
        .filter(|(i, _)| types.get(*i) == Some(&3))
        .map(|(i, t)| {
            serde_json::json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                               "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let pre = match c.metadata.get("tokenizer.ggml.pre") {
        Some(v) => Some(
            v.to_string()
                .map_err(|e| fail(model, format!("tokenizer.ggml.pre: {e}")))?
                .as_str(),
        ),
        None => None,
    };
    let (normalizer, pre_tokenizer) = pre_tokenizer(pre, model)?;
    let spec = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                  "vocab": vocab, "merges": merges}
    });
    spec.to_string()
        .parse::<Tokenizer>()
        .map_err(|e| fail(model, format!("building the tokenizer from GGUF metadata: {e}")))
}

/// Opens a GGUF file and reads its header: the model's name (the file stem), the open
/// file (for the tensors) and the metadata.
pub(crate) fn open_gguf(path: &Path) -> Result<(String, std::fs::File, gguf_file::Content)> {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string());
    let mut file = std::fs::File::open(path).map_err(|source| MlError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let content = gguf_file::Content::read(&mut file).map_err(|e| fail(&name, format!("not a GGUF file: {e}")))?;
    Ok((name, file, content))
}

impl GgufChat {
    /// Loads a GGUF file (llama or qwen2 architecture, gpt2 tokenizer, with a chat
    /// template).
    pub fn load(path: &Path) -> Result<Self> {
        let (name, mut file, content) = open_gguf(path)?;
        let arch = meta_str(&content, "general.architecture", &name)?.clone();
        let tokenizer = tokenizer_from_gguf(&content, &name)?;
        let template = meta_str(&content, "tokenizer.chat_template", &name)?.clone();
        let eos = content
            .metadata
            .get("tokenizer.ggml.eos_token_id")
            .ok_or_else(|| fail(&name, "GGUF metadata has no tokenizer.ggml.eos_token_id"))?
            .to_u32()
            .map_err(|e| fail(&name, e))?;
        let mut stops = vec![eos];
        for t in ["<|im_end|>", "<|endoftext|>"] {
            if let Some(id) = tokenizer.token_to_id(t)
                && !stops.contains(&id)
            {
                stops.push(id);
            }
        }
        let device = Device::Cpu;
        let model = Weights::load(&arch, content, &mut file, &device, &name)?;
        Ok(Self {
            name,
            model,
            tokenizer,
            template,
            stops,
            device,
        })
    }

    /// Renames the model (the name records and logs carry).
    pub fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }

    /// The prompt the chat template makes of `messages`, ready for the assistant's turn.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String> {
        let mut env = minijinja::Environment::new();
        env.add_template("chat", &self.template)
            .map_err(|e| fail(&self.name, format!("chat template: {e}")))?;
        let tmpl = env.get_template("chat").map_err(|e| fail(&self.name, e))?;
        tmpl.render(minijinja::context! { messages => messages, add_generation_prompt => true })
            .map_err(|e| fail(&self.name, format!("rendering the chat template: {e}")))
    }

    /// Token ids of `text` (no special tokens added; the template supplies them).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .tokenizer
            .encode(text, false)
            .map_err(|e| fail(&self.name, e))?
            .get_ids()
            .to_vec())
    }

    /// Text of token ids, special tokens skipped.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer.decode(ids, true).map_err(|e| fail(&self.name, e))
    }

    /// The logits after `ids`, the attention cache holding `index_pos` tokens before
    /// them (0 restarts it). An empty input or an id outside the vocabulary is an error
    /// naming it.
    pub fn logits(&mut self, ids: &[u32], index_pos: usize) -> Result<Vec<f32>> {
        let vocab = self.tokenizer.get_vocab_size(true);
        if ids.is_empty() {
            return Err(fail(&self.name, "no input tokens"));
        }
        if let Some(bad) = ids.iter().find(|&&t| t as usize >= vocab) {
            return Err(fail(
                &self.name,
                format!("token id {bad} is outside the vocabulary of {vocab}"),
            ));
        }
        let name = self.name.clone();
        let err = |e: candle_core::Error| fail(&name, e);
        let input = Tensor::new(ids, &self.device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(err)?;
        self.model
            .forward(&input, index_pos)
            .and_then(|l| l.squeeze(0))
            .and_then(|l| l.to_dtype(candle_core::DType::F32))
            .and_then(|l| l.to_vec1())
            .map_err(err)
    }

    /// The tokens that end a reply.
    pub fn stops(&self) -> &[u32] {
        &self.stops
    }
}

/// Natural-log softmax of a logits vector, in f64.
fn log_softmax(logits: &Tensor) -> candle_core::Result<Vec<f64>> {
    let v: Vec<f32> = logits.to_dtype(candle_core::DType::F32)?.to_vec1()?;
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let log_sum = v.iter().map(|&x| (x as f64 - max).exp()).sum::<f64>().ln() + max;
    Ok(v.iter().map(|&x| x as f64 - log_sum).collect())
}

impl GgufChat {
    /// Next-token log-probabilities after `ids`. `cached` is what the attention cache
    /// holds: when `ids` extends it, only the new tokens are run; otherwise the cache
    /// restarts. It holds `ids` afterwards.
    fn next_logprobs(&mut self, ids: &[u32], cached: &mut Vec<u32>) -> Result<Vec<f64>> {
        let name = self.name.clone();
        let err = |e: candle_core::Error| fail(&name, e);
        let start = if !cached.is_empty() && ids.len() > cached.len() && ids.starts_with(cached) {
            cached.len()
        } else {
            0
        };
        let input = Tensor::new(&ids[start..], &self.device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(err)?;
        let logits = self
            .model
            .forward(&input, start)
            .and_then(|l| l.squeeze(0))
            .map_err(err)?;
        cached.clear();
        cached.extend_from_slice(ids);
        log_softmax(&logits).map_err(err)
    }
}

impl Generator for GgufChat {
    fn name(&self) -> &str {
        &self.name
    }

    /// One forward pass over the prompt scores every continuation's first token; each
    /// further token of a continuation costs one more pass, over that token alone when it
    /// extends what the cache holds (as the one multi-token grade "10" does).
    fn continuation_logprobs(&mut self, messages: &[ChatMessage], continuations: &[&str]) -> Result<Option<Vec<f64>>> {
        let prompt = self.encode(&self.render(messages)?)?;
        let mut cached = Vec::new();
        let first = self.next_logprobs(&prompt, &mut cached)?;
        let mut out = Vec::with_capacity(continuations.len());
        for c in continuations {
            let toks = self.encode(c)?;
            let Some(&t0) = toks.first() else {
                return Err(fail(&self.name, format!("continuation {c:?} has no tokens")));
            };
            let mut lp = first[t0 as usize];
            let mut ids = prompt.clone();
            for w in toks.windows(2) {
                ids.push(w[0]);
                lp += self.next_logprobs(&ids, &mut cached)?[w[1] as usize];
            }
            out.push(lp);
        }
        Ok(Some(out))
    }

    fn generate(&mut self, messages: &[ChatMessage], params: &GenerationParams) -> Result<Generation> {
        let start = Instant::now();
        let prompt = self.render(messages)?;
        let ids = self.encode(&prompt)?;
        let temperature = (params.temperature > 0.0).then_some(params.temperature);
        let mut sampler = LogitsProcessor::new(params.seed.unwrap_or(0), temperature, None);
        let name = self.name.clone();
        let err = |e: candle_core::Error| fail(&name, e);
        let input = Tensor::new(ids.as_slice(), &self.device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(err)?;
        // index_pos 0 restarts the attention cache: each call is a fresh conversation.
        let mut logits = self.model.forward(&input, 0).and_then(|l| l.squeeze(0)).map_err(err)?;
        let mut out: Vec<u32> = Vec::new();
        for step in 0..params.max_tokens as usize {
            let next = sampler.sample(&logits).map_err(err)?;
            if self.stops.contains(&next) {
                break;
            }
            out.push(next);
            if step + 1 == params.max_tokens as usize {
                break;
            }
            let input = Tensor::new(&[next], &self.device)
                .and_then(|t| t.unsqueeze(0))
                .map_err(err)?;
            logits = self
                .model
                .forward(&input, ids.len() + step)
                .and_then(|l| l.squeeze(0))
                .map_err(err)?;
        }
        let text = self.decode(&out)?;
        Ok(Generation {
            text: text.trim().to_string(),
            latency_ms: start.elapsed().as_secs_f64() * 1000.0,
            prompt_tokens: Some(ids.len() as u64),
            completion_tokens: Some(out.len() as u64),
        })
    }
}
