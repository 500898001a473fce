//! MPNet (the encoder of all-mpnet-base-v2) in candle, which has no MPNet model.
//!
//! A port of Hugging Face transformers' `MPNetModel` (`modeling_mpnet.py`), checked
//! against sentence-transformers by the bi-encoder parity fixtures
//! (`fixtures/ml/bi_encoder_mpnet/make_fixtures.py`). It is BERT with four differences:
//!
//! - one relative-position bias shared by every layer: T5-style buckets (half of them
//!   for each direction; exact distances below a quarter of the buckets, logarithmic
//!   ones up to `max_distance` 128), looked up in `encoder.relative_attention_bias` and
//!   added to every layer's attention scores;
//! - RoBERTa-style absolute positions: `padding_idx + 1 + (number of non-padding
//!   tokens so far)`, padding tokens at `padding_idx`; they are counted on the input ids
//!   (a token equal to the padding id is padding), as transformers does;
//! - no token types;
//! - its own tensor names (`attention.attn.{q,k,v,o}`).

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder, embedding, layer_norm, linear};
use serde::Deserialize;

/// The fields of an MPNet `config.json` the forward pass needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MpNetConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Absolute position embeddings (positions start after the padding id).
    pub max_position_embeddings: usize,
    /// Buckets of the relative-position bias.
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// The padding token id, which is also the position padding index.
    pub pad_token_id: u32,
    /// The feed-forward activation; only the exact (erf) "gelu" is supported.
    pub hidden_act: String,
}

fn default_buckets() -> usize {
    32
}

/// The distance from which relative positions share logarithmic buckets' last one.
const MAX_DISTANCE: i64 = 128;

impl MpNetConfig {
    /// The longest input the absolute positions allow: positions run from
    /// `pad_token_id + 1` to `max_position_embeddings - 1`.
    pub fn max_tokens(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.pad_token_id as usize + 1)
    }
}

/// The bucket of a relative position `memory − context` (transformers'
/// `relative_position_bucket` with `max_distance` 128), in the same f32 arithmetic.
pub fn relative_position_bucket(relative_position: i64, num_buckets: usize) -> usize {
    let half = (num_buckets / 2) as i64;
    let n = -relative_position;
    let mut bucket = if n < 0 { half } else { 0 };
    let n = n.abs();
    let max_exact = half / 2;
    bucket += if n < max_exact {
        n
    } else {
        // torch: log(n.float() / max_exact) / math.log(max_distance / max_exact)
        // * (num_buckets − max_exact), truncated to long; the tensor is f32 throughout.
        let ratio = (n as f32 / max_exact as f32).ln();
        let scale = ((MAX_DISTANCE as f64) / (max_exact as f64)).ln() as f32;
        let large = max_exact + (ratio / scale * (half - max_exact) as f32) as i64;
        large.min(half - 1)
    };
    bucket as usize
}

struct SelfAttention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    head_dim: usize,
}

impl SelfAttention {
    fn load(vb: VarBuilder, c: &MpNetConfig) -> candle_core::Result<Self> {
        let h = c.hidden_size;
        Ok(Self {
            q: linear(h, h, vb.pp("q"))?,
            k: linear(h, h, vb.pp("k"))?,
            v: linear(h, h, vb.pp("v"))?,
            o: linear(h, h, vb.pp("o"))?,
            heads: c.num_attention_heads,
            head_dim: h / c.num_attention_heads,
        })
    }

    /// (n, len, hidden) → (n, heads, len, head_dim)
    fn split(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (n, len, _) = x.dims3()?;
        x.reshape((n, len, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn forward(&self, x: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
        let (n, len, hidden) = x.dims3()?;
        let q = self.split(&self.q.forward(x)?)?;
        let k = self.split(&self.k.forward(x)?)?;
        let v = self.split(&self.v.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?;
        // `bias` holds the relative-position bias plus the padding mask.
        let scores = scores.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((n, len, hidden))?;
        self.o.forward(&context)
    }
}

struct Layer {
    attention: SelfAttention,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl Layer {
    fn load(vb: VarBuilder, c: &MpNetConfig) -> candle_core::Result<Self> {
        Ok(Self {
            attention: SelfAttention::load(vb.pp("attention").pp("attn"), c)?,
            attention_norm: layer_norm(c.hidden_size, c.layer_norm_eps, vb.pp("attention").pp("LayerNorm"))?,
            intermediate: linear(c.hidden_size, c.intermediate_size, vb.pp("intermediate").pp("dense"))?,
            output: linear(c.intermediate_size, c.hidden_size, vb.pp("output").pp("dense"))?,
            output_norm: layer_norm(c.hidden_size, c.layer_norm_eps, vb.pp("output").pp("LayerNorm"))?,
        })
    }

    fn forward(&self, x: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
        let attended = self.attention_norm.forward(&(self.attention.forward(x, bias)? + x)?)?;
        let inner = self.intermediate.forward(&attended)?.gelu_erf()?;
        self.output_norm.forward(&(self.output.forward(&inner)? + attended)?)
    }
}

/// An MPNet encoder: embeddings, layers, the shared relative-position bias.
pub struct MpNet {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    relative_bias: Embedding,
    config: MpNetConfig,
    device: Device,
}

impl MpNet {
    /// Loads the weights (tensor names without a prefix, as all-mpnet-base-v2 stores
    /// them). A config this port does not run (another activation) is an error.
    pub fn load(vb: VarBuilder, config: &MpNetConfig) -> candle_core::Result<Self> {
        if config.hidden_act != "gelu" {
            candle_core::bail!("hidden_act {:?} is not supported (only \"gelu\")", config.hidden_act);
        }
        if config.num_attention_heads == 0 || !config.hidden_size.is_multiple_of(config.num_attention_heads) {
            candle_core::bail!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                config.hidden_size,
                config.num_attention_heads
            );
        }
        let emb = vb.pp("embeddings");
        let enc = vb.pp("encoder");
        Ok(Self {
            word_embeddings: embedding(config.vocab_size, config.hidden_size, emb.pp("word_embeddings"))?,
            position_embeddings: embedding(
                config.max_position_embeddings,
                config.hidden_size,
                emb.pp("position_embeddings"),
            )?,
            embedding_norm: layer_norm(config.hidden_size, config.layer_norm_eps, emb.pp("LayerNorm"))?,
            layers: (0..config.num_hidden_layers)
                .map(|i| Layer::load(enc.pp("layer").pp(i.to_string()), config))
                .collect::<candle_core::Result<_>>()?,
            relative_bias: embedding(
                config.relative_attention_num_buckets,
                config.num_attention_heads,
                enc.pp("relative_attention_bias"),
            )?,
            config: config.clone(),
            device: vb.device().clone(),
        })
    }

    /// The last hidden states (n, len, hidden) of a padded batch of ids (n, len), u32,
    /// with its attention mask (n, len), 1 for a token and 0 for padding.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (n, len) = ids.dims2()?;
        if len > self.config.max_tokens() {
            candle_core::bail!(
                "{len} tokens exceed the {} positions MPNet has",
                self.config.max_tokens()
            );
        }
        let pad = self.config.pad_token_id;
        let rows: Vec<Vec<u32>> = ids.to_vec2()?;
        let mut positions = Vec::with_capacity(n * len);
        for row in &rows {
            let mut seen = 0u32;
            for &t in row {
                if t == pad {
                    positions.push(pad);
                } else {
                    seen += 1;
                    positions.push(pad + seen);
                }
            }
        }
        let positions = Tensor::from_vec(positions, (n, len), &self.device)?;
        let x = (self.word_embeddings.forward(ids)? + self.position_embeddings.forward(&positions)?)?;
        let mut x = self.embedding_norm.forward(&x)?;

        // One (1, heads, len, len) relative bias for every layer, plus the padding mask
        // (n, 1, 1, len): 0 for a token, f32::MIN for padding (torch.finfo.min).
        let buckets: Vec<u32> = (0..len as i64)
            .flat_map(|q| {
                (0..len as i64)
                    .map(move |k| relative_position_bucket(k - q, self.config.relative_attention_num_buckets) as u32)
            })
            .collect();
        let buckets = Tensor::from_vec(buckets, (len, len), &self.device)?;
        let relative = self.relative_bias.forward(&buckets)?.permute((2, 0, 1))?.unsqueeze(0)?;
        let padding = ((mask.to_dtype(DType::F32)?.ones_like()? - mask.to_dtype(DType::F32)?)? * f32::MIN as f64)?
            .unsqueeze(1)?
            .unsqueeze(1)?;
        let bias = relative.broadcast_add(&padding)?.contiguous()?;
        for layer in &self.layers {
            x = layer.forward(&x, &bias)?;
        }
        Ok(x)
    }
}
