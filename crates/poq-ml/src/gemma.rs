//! Gemma 3 base models (Gemma-3-270M) from GGUF, with our own forward pass.
//!
//! Why our own: candle-transformers 0.11.1's `quantized_gemma3` applies SiLU in the
//! MLP where Gemma uses GELU (tanh approximation), and it neither applies the sliding
//! window while decoding nor bounds it the way llama.cpp and transformers do (a query at
//! position p sees keys p - window < j <= p). This module follows llama.cpp's `gemma3`
//! graph, the runtime the GGUF is made for (with candle's quantized matrix products), and
//! the fixture checks it against llama-cpp-python: token ids exactly, logits and greedy
//! choices within the drift two correct runs of a quantized model show (see the test):
//! - embeddings scaled by sqrt(hidden);
//! - per layer: RMSNorm → attention (Q/K RMS-normed per head, NeoX RoPE with base 10 000
//!   on sliding layers and the GGUF's base on global ones, queries scaled by
//!   1/sqrt(head_dim), grouped K/V heads) → RMSNorm → residual; RMSNorm → GELU(tanh)
//!   gated MLP → RMSNorm → residual (the GGUF norm weights already include Gemma's +1);
//! - every sixth layer global, the others sliding-window;
//! - final RMSNorm and the tied embedding as output.
//!
//! It is a *base* model: [`GemmaBase`] continues text instead of chatting. As a
//! [`Generator`] it takes the message contents as the text to continue and answers
//! with the first line it writes.

use crate::Result;
use crate::gguf::{fail, meta_str, meta_strings, open_gguf};
use crate::llm::{ChatMessage, Generation, GenerationParams, Generator};
use crate::spm::SpmTokenizer;
use candle_core::quantized::{QMatMul, QTensor, gguf_file};
use candle_core::{DType, Device, IndexOp, Module, Tensor};
use candle_transformers::generation::LogitsProcessor;
use std::path::Path;
use std::time::Instant;

/// Every `SWA_PATTERN`-th layer attends globally (llama.cpp's gemma3 pattern).
const SWA_PATTERN: usize = 6;
/// RoPE base of the sliding layers (not in the GGUF; llama.cpp fixes it for gemma3).
const ROPE_BASE_SLIDING: f32 = 10_000.0;

struct Norm {
    weight: Tensor,
    eps: f32,
}

impl Norm {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::rms_norm(&x.contiguous()?, &self.weight, self.eps)
    }
}

struct Layer {
    wq: QMatMul,
    wk: QMatMul,
    wv: QMatMul,
    wo: QMatMul,
    q_norm: Norm,
    k_norm: Norm,
    attn_norm: Norm,
    post_attn_norm: Norm,
    ffn_norm: Norm,
    post_ffn_norm: Norm,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
    /// Keys a query may look back over (itself included); None for global layers.
    window: Option<usize>,
    rope_base: f32,
    /// Cached keys and values, (kv_heads, positions, head_dim).
    cache: Option<(Tensor, Tensor)>,
}

/// Shapes read from the GGUF metadata.
#[derive(Debug, Clone, Copy)]
struct Dims {
    hidden: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

/// A Gemma 3 base model loaded from GGUF.
pub struct GemmaBase {
    name: String,
    dims: Dims,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Norm,
    output: QMatMul,
    tokenizer: SpmTokenizer,
    bos: u32,
    eos: u32,
    device: Device,
}

fn meta_u32(c: &gguf_file::Content, key: &str, model: &str) -> Result<usize> {
    c.metadata
        .get(key)
        .ok_or_else(|| fail(model, format!("GGUF metadata has no {key}")))?
        .to_u32()
        .map(|v| v as usize)
        .map_err(|e| fail(model, format!("{key}: {e}")))
}

/// RoPE tables for positions [start, start + len).
fn rope_tables(
    base: f32,
    head_dim: usize,
    start: usize,
    len: usize,
    dev: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let inv: Vec<f32> = (0..head_dim)
        .step_by(2)
        .map(|i| 1.0 / base.powf(i as f32 / head_dim as f32))
        .collect();
    let mut cos = Vec::with_capacity(len * inv.len());
    let mut sin = Vec::with_capacity(len * inv.len());
    for p in start..start + len {
        for f in &inv {
            let a = p as f32 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    Ok((
        Tensor::from_vec(cos, (len, inv.len()), dev)?,
        Tensor::from_vec(sin, (len, inv.len()), dev)?,
    ))
}

impl Layer {
    fn attention(&mut self, x: &Tensor, pos: usize, d: Dims) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let q = self
            .wq
            .forward(x)?
            .reshape((b, t, d.heads, d.head_dim))?
            .transpose(1, 2)?;
        let k = self
            .wk
            .forward(x)?
            .reshape((b, t, d.kv_heads, d.head_dim))?
            .transpose(1, 2)?;
        let v = self
            .wv
            .forward(x)?
            .reshape((b, t, d.kv_heads, d.head_dim))?
            .transpose(1, 2)?;
        let q = self.q_norm.forward(&q)?;
        let k = self.k_norm.forward(&k)?;
        let (cos, sin) = rope_tables(self.rope_base, d.head_dim, pos, t, x.device())?;
        let q = candle_nn::rotary_emb::rope(&q.contiguous()?, &cos, &sin)?;
        let k = candle_nn::rotary_emb::rope(&k.contiguous()?, &cos, &sin)?;
        let q = (q * (1.0 / (d.head_dim as f64).sqrt()))?;
        // (kv_heads, positions, head_dim): batch is 1.
        let k = k.squeeze(0)?;
        let v = v.contiguous()?.squeeze(0)?;
        let (k, v) = match self.cache.take() {
            Some((kc, vc)) if pos > 0 => (Tensor::cat(&[&kc, &k], 1)?, Tensor::cat(&[&vc, &v], 1)?),
            _ => (k, v),
        };
        self.cache = Some((k.clone(), v.clone()));
        let s = k.dim(1)?;
        // Query heads h*g .. h*g+g-1 share kv head h: fold the group into the rows.
        let groups = d.heads / d.kv_heads;
        let q = q.squeeze(0)?.reshape((d.kv_heads, groups * t, d.head_dim))?;
        let scores = q.matmul(&k.t()?.contiguous()?)?;
        let mask: Vec<f32> = (0..groups * t)
            .flat_map(|row| {
                let p = pos + row % t;
                let window = self.window;
                (0..s).map(move |j| {
                    let visible = j <= p && window.is_none_or(|w| p - j < w);
                    if visible { 0.0 } else { f32::NEG_INFINITY }
                })
            })
            .collect();
        let mask = Tensor::from_vec(mask, (1, groups * t, s), x.device())?;
        let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(&mask)?)?;
        let out = probs.matmul(&v)?; // (kv_heads, groups*t, head_dim)
        let out = out
            .reshape((1, d.heads, t, d.head_dim))?
            .transpose(1, 2)?
            .reshape((b, t, d.heads * d.head_dim))?;
        self.wo.forward(&out)
    }

    fn forward(&mut self, x: &Tensor, pos: usize, d: Dims) -> candle_core::Result<Tensor> {
        let h = self.attn_norm.forward(x)?;
        let h = self.attention(&h, pos, d)?;
        let x = (self.post_attn_norm.forward(&h)? + x)?;
        let h = self.ffn_norm.forward(&x)?;
        // GELU with the tanh approximation (gelu_pytorch_tanh), as Gemma is trained.
        let h = (self.gate.forward(&h)?.gelu()? * self.up.forward(&h)?)?;
        let h = self.down.forward(&h)?;
        self.post_ffn_norm.forward(&h)? + x
    }
}

impl GemmaBase {
    /// Loads a Gemma 3 GGUF file (architecture `gemma3`, SentencePiece vocabulary).
    pub fn load(path: &Path) -> Result<Self> {
        let (name, file, c) = open_gguf(path)?;
        let arch = meta_str(&c, "general.architecture", &name)?;
        if arch != "gemma3" {
            return Err(fail(&name, format!("general.architecture is {arch:?}, not gemma3")));
        }
        let kind = meta_str(&c, "tokenizer.ggml.model", &name)?;
        if kind != "llama" {
            return Err(fail(
                &name,
                format!("tokenizer.ggml.model {kind:?} is not supported (only SentencePiece \"llama\")"),
            ));
        }
        let tokenizer = spm_from_gguf(&c, &name)?;
        let dims = Dims {
            hidden: meta_u32(&c, "gemma3.embedding_length", &name)?,
            heads: meta_u32(&c, "gemma3.attention.head_count", &name)?,
            kv_heads: meta_u32(&c, "gemma3.attention.head_count_kv", &name)?,
            head_dim: meta_u32(&c, "gemma3.attention.key_length", &name)?,
        };
        if dims.kv_heads == 0 || !dims.heads.is_multiple_of(dims.kv_heads) {
            return Err(fail(
                &name,
                format!("{} heads cannot be grouped over {} kv heads", dims.heads, dims.kv_heads),
            ));
        }
        let blocks = meta_u32(&c, "gemma3.block_count", &name)?;
        let window = meta_u32(&c, "gemma3.attention.sliding_window", &name)?;
        let rope_base = c
            .metadata
            .get("gemma3.rope.freq_base")
            .ok_or_else(|| fail(&name, "GGUF metadata has no gemma3.rope.freq_base"))?
            .to_f32()
            .map_err(|e| fail(&name, e))?;
        let eps = c
            .metadata
            .get("gemma3.attention.layer_norm_rms_epsilon")
            .ok_or_else(|| fail(&name, "GGUF metadata has no gemma3.attention.layer_norm_rms_epsilon"))?
            .to_f32()
            .map_err(|e| fail(&name, e))?;
        let bos = meta_u32(&c, "tokenizer.ggml.bos_token_id", &name)? as u32;
        let eos = meta_u32(&c, "tokenizer.ggml.eos_token_id", &name)? as u32;
        let device = Device::Cpu;
        let err = |e: candle_core::Error| fail(&name, e);
        let file = std::cell::RefCell::new(file);
        let tensor = |n: &str| -> Result<QTensor> { c.tensor(&mut *file.borrow_mut(), n, &device).map_err(err) };
        let norm = |n: &str| -> Result<Norm> {
            Ok(Norm {
                weight: tensor(n)?.dequantize(&device).map_err(err)?,
                eps,
            })
        };
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let sliding = (i + 1) % SWA_PATTERN != 0;
            layers.push(Layer {
                q_norm: norm(&format!("blk.{i}.attn_q_norm.weight"))?,
                k_norm: norm(&format!("blk.{i}.attn_k_norm.weight"))?,
                attn_norm: norm(&format!("blk.{i}.attn_norm.weight"))?,
                post_attn_norm: norm(&format!("blk.{i}.post_attention_norm.weight"))?,
                ffn_norm: norm(&format!("blk.{i}.ffn_norm.weight"))?,
                post_ffn_norm: norm(&format!("blk.{i}.post_ffw_norm.weight"))?,
                wq: QMatMul::from_qtensor(tensor(&format!("blk.{i}.attn_q.weight"))?).map_err(err)?,
                wk: QMatMul::from_qtensor(tensor(&format!("blk.{i}.attn_k.weight"))?).map_err(err)?,
                wv: QMatMul::from_qtensor(tensor(&format!("blk.{i}.attn_v.weight"))?).map_err(err)?,
                wo: QMatMul::from_qtensor(tensor(&format!("blk.{i}.attn_output.weight"))?).map_err(err)?,
                gate: QMatMul::from_qtensor(tensor(&format!("blk.{i}.ffn_gate.weight"))?).map_err(err)?,
                up: QMatMul::from_qtensor(tensor(&format!("blk.{i}.ffn_up.weight"))?).map_err(err)?,
                down: QMatMul::from_qtensor(tensor(&format!("blk.{i}.ffn_down.weight"))?).map_err(err)?,
                window: sliding.then_some(window),
                rope_base: if sliding { ROPE_BASE_SLIDING } else { rope_base },
                cache: None,
            });
        }
        let final_norm = norm("output_norm.weight")?;
        let embed_q = tensor("token_embd.weight")?;
        let embed = embed_q.dequantize(&device).map_err(err)?;
        // Gemma ties the output projection to the embedding unless the file has one.
        let output_q = match tensor("output.weight") {
            Ok(t) => t,
            Err(_) => embed_q,
        };
        let output = QMatMul::from_qtensor(output_q).map_err(err)?;
        Ok(Self {
            name,
            dims,
            embed,
            layers,
            norm: final_norm,
            output,
            tokenizer,
            bos,
            eos,
            device,
        })
    }

    /// Renames the model (the name records and logs carry).
    pub fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }

    /// Token ids of `text` with the BOS token first, as llama.cpp encodes a prompt.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = vec![self.bos];
        ids.extend(self.tokenizer.encode(text).map_err(|e| fail(&self.name, e))?);
        Ok(ids)
    }

    /// Text of token ids (control tokens dropped).
    pub fn decode(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids)
    }

    /// Logits of the next token after `ids`, which continue the `pos` tokens already in
    /// the cache (pos 0 starts afresh).
    pub fn forward(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>> {
        let name = self.name.clone();
        let err = |e: candle_core::Error| fail(&name, e);
        if ids.is_empty() {
            return Err(fail(&name, "forward needs at least one token"));
        }
        if let Some(bad) = ids.iter().find(|&&i| i as usize >= self.tokenizer.vocab_size()) {
            return Err(fail(&name, format!("token id {bad} is outside the vocabulary")));
        }
        let d = self.dims;
        let mut run = || -> candle_core::Result<Vec<f32>> {
            let input = Tensor::new(ids, &self.device)?;
            let mut x = self
                .embed
                .index_select(&input, 0)?
                .unsqueeze(0)?
                .affine((d.hidden as f64).sqrt(), 0.0)?;
            for layer in self.layers.iter_mut() {
                x = layer.forward(&x, pos, d)?;
            }
            let last = x.i((.., ids.len() - 1, ..))?;
            let last = self.norm.forward(&last)?;
            self.output.forward(&last)?.squeeze(0)?.to_dtype(DType::F32)?.to_vec1()
        };
        run().map_err(err)
    }

    /// Greedy or seeded continuation of `prompt`: the generated token ids, ending before
    /// EOS, after `max_tokens`, or (with `first_line`) once a line break follows text.
    pub fn continue_ids(&mut self, prompt: &[u32], params: &GenerationParams, first_line: bool) -> Result<Vec<u32>> {
        let temperature = (params.temperature > 0.0).then_some(params.temperature);
        let mut sampler = LogitsProcessor::new(params.seed.unwrap_or(0), temperature, None);
        let name = self.name.clone();
        let err = |e: candle_core::Error| fail(&name, e);
        let mut logits = self.forward(prompt, 0)?;
        let mut out = Vec::new();
        for step in 0..params.max_tokens as usize {
            let t = Tensor::new(logits.as_slice(), &self.device).map_err(err)?;
            let next = sampler.sample(&t).map_err(err)?;
            if next == self.eos {
                break;
            }
            out.push(next);
            if step + 1 == params.max_tokens as usize
                || (first_line && self.tokenizer.decode(&out).trim_start().contains('\n'))
            {
                break;
            }
            logits = self.forward(&[next], prompt.len() + step)?;
        }
        Ok(out)
    }
}

/// The SentencePiece vocabulary of a GGUF file.
fn spm_from_gguf(c: &gguf_file::Content, model: &str) -> Result<SpmTokenizer> {
    let tokens = meta_strings(c, "tokenizer.ggml.tokens", model)?;
    let get_vec = |key: &str| {
        c.metadata
            .get(key)
            .ok_or_else(|| fail(model, format!("GGUF metadata has no {key}")))?
            .to_vec()
            .map_err(|e| fail(model, format!("{key}: {e}")))
    };
    let scores = get_vec("tokenizer.ggml.scores")?
        .iter()
        .map(|v| v.to_f32().map_err(|e| fail(model, e)))
        .collect::<Result<Vec<f32>>>()?;
    let types = get_vec("tokenizer.ggml.token_type")?
        .iter()
        .map(|v| v.to_i32().map_err(|e| fail(model, e)))
        .collect::<Result<Vec<i32>>>()?;
    let add_space_prefix = match c.metadata.get("tokenizer.ggml.add_space_prefix") {
        Some(v) => v.to_bool().map_err(|e| fail(model, e))?,
        // llama.cpp's default for SentencePiece vocabularies.
        None => true,
    };
    SpmTokenizer::new(tokens, scores, types, add_space_prefix).map_err(|e| fail(model, e))
}

impl Generator for GemmaBase {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_chat(&self) -> bool {
        false
    }

    /// Continues the message contents (joined by blank lines) and returns the first
    /// line written, trimmed: a base model does not know when its turn ends.
    fn generate(&mut self, messages: &[ChatMessage], params: &GenerationParams) -> Result<Generation> {
        let start = Instant::now();
        let text: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
        let ids = self.encode(&text.join("\n\n"))?;
        let out = self.continue_ids(&ids, params, true)?;
        let text = self.decode(&out);
        Ok(Generation {
            text: text.trim_start().lines().next().unwrap_or("").trim().to_string(),
            latency_ms: start.elapsed().as_secs_f64() * 1000.0,
            prompt_tokens: Some(ids.len() as u64),
            completion_tokens: Some(out.len() as u64),
        })
    }
}
