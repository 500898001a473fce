//! The inference worker: an OpenAI-compatible server in front of one model, which signs
//! a receipt for every answer a gateway asks it to.
//!
//! ```text
//!   POST /v1/chat/completions   OpenAI's request, plus "poq": {gateway, request, expires, task}
//!                               → chat.completion, plus "poq": {receipt}
//!   GET  /v1/models             the one model it serves
//!   GET  /v1/poq/identity       {key, model}
//!   GET  /health
//! ```
//!
//! Backends ([`Backend`]): `synthetic` (deterministic answers from the project's QA set),
//! an in-process GGUF model of poq-ml by name (`smollm2-135m-instruct`, `gemma3-270m`), or
//! an OpenAI-compatible upstream. The worker measures the answer's cost (its latency, in
//! seconds) and signs it with the answer's hash, so what the gateway submits and the
//! committee scores is what the node answered.

mod server;
pub mod synthetic;

pub use server::{ChatRequest, InferenceWorker, MAX_TOKENS, ReceiptRequest, serve};

use crate::error::{NodeError, Result};
use poq_ml::llm::{Generator, OpenAiChat};
use std::path::Path;
use std::time::Duration;

/// Where a worker's answers come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// [`synthetic::Synthetic`] with this quality in [0, 1].
    Synthetic {
        /// The probability of a correct answer.
        quality: f64,
    },
    /// An in-process model of poq-ml's registry.
    Model(poq_ml::registry::ModelName),
    /// An OpenAI-compatible server.
    Upstream {
        /// Its base URL.
        url: String,
        /// The model to ask for.
        model: String,
        /// A bearer key, if it needs one.
        key: Option<String>,
    },
}

/// The QA items the synthetic backend knows: (the instruction a chat model is sent, the
/// first reference answer), from the project's QA set.
pub fn synthetic_items() -> Result<Vec<(String, String)>> {
    let items = poq_ml::data::project_qa().map_err(|e| NodeError::Worker {
        role: "inference",
        reason: e.to_string(),
    })?;
    Ok(poq_ml::collect::qa_prompts(&items)
        .into_iter()
        .map(|p| (p.instruction, p.references.into_iter().next().unwrap_or_default()))
        .collect())
}

impl Backend {
    /// The model name this backend answers as (what the node registers).
    pub fn model_name(&self) -> String {
        match self {
            Backend::Synthetic { .. } => "synthetic".into(),
            Backend::Model(m) => m.name().into(),
            Backend::Upstream { model, .. } => model.clone(),
        }
    }

    /// Builds the generator (fetching a model into `cache` when it needs one). `name`
    /// tells synthetic nodes apart.
    pub fn load(&self, name: &str, cache: &Path) -> Result<Box<dyn Generator + Send>> {
        let fail = |e: poq_ml::MlError| NodeError::Worker {
            role: "inference",
            reason: e.to_string(),
        };
        Ok(match self {
            Backend::Synthetic { quality } => {
                if !(0.0..=1.0).contains(quality) {
                    return Err(NodeError::Worker {
                        role: "inference",
                        reason: format!("synthetic quality {quality} is not in [0, 1]"),
                    });
                }
                Box::new(synthetic::Synthetic::new(name, *quality, synthetic_items()?))
            }
            Backend::Model(m) => poq_ml::registry::load_generator(*m, cache).map_err(fail)?,
            Backend::Upstream { url, model, key } => {
                Box::new(OpenAiChat::new(url, model, key.clone(), Duration::from_secs(120)))
            }
        })
    }
}
