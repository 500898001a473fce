//! Text generation: the interface every inference backend implements, and the
//! OpenAI-compatible HTTP backend (`POST {base}/v1/chat/completions`), which lets any
//! server speaking that protocol (llama.cpp's server, vLLM, a hosted API) be an
//! inference node.

use crate::{MlError, Result};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// "system", "user" or "assistant".
    pub role: String,
    /// The text.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: "system".to_string(),
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: "user".to_string(),
            content: content.into(),
        }
    }
}

/// Decoding parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationParams {
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Sampling temperature; 0 means greedy.
    pub temperature: f64,
    /// Seed for sampling, where the backend supports one.
    pub seed: Option<u64>,
}

impl Default for GenerationParams {
    fn default() -> Self {
        Self {
            max_tokens: 64,
            temperature: 0.0,
            seed: Some(0),
        }
    }
}

/// One generation and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generation {
    /// The generated text.
    pub text: String,
    /// Wall-clock latency, measured by the caller's side (ms).
    pub latency_ms: f64,
    /// Prompt tokens, when the backend reports them.
    pub prompt_tokens: Option<u64>,
    /// Generated tokens, when the backend reports them.
    pub completion_tokens: Option<u64>,
}

/// An inference backend. `Send`, so that a node can move its models to the thread that
/// runs them.
pub trait Generator: Send {
    /// The model's name, as logs and `--models` spell it.
    fn name(&self) -> &str;
    /// Whether it follows chat turns (true) or continues text (a base model).
    fn is_chat(&self) -> bool {
        true
    }
    /// Answers a conversation.
    fn generate(&mut self, messages: &[ChatMessage], params: &GenerationParams) -> Result<Generation>;
    /// The log-probability of each continuation as the start of the model's reply
    /// (natural log, summed over its tokens), or None when the backend cannot tell
    /// (an HTTP server gives text only).
    fn continuation_logprobs(&mut self, messages: &[ChatMessage], continuations: &[&str]) -> Result<Option<Vec<f64>>> {
        let _ = (messages, continuations);
        Ok(None)
    }
}

/// A client of an OpenAI-compatible chat-completions server.
pub struct OpenAiChat {
    endpoint: String,
    model: String,
    api_key: Option<String>,
    agent: ureq::Agent,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    max_tokens: u32,
    temperature: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
}

#[derive(Deserialize)]
struct Response {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChatMessage,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

impl OpenAiChat {
    /// A client for `base_url` (e.g. `http://127.0.0.1:8080`, with or without a
    /// trailing `/v1`), asking for `model`, with an optional bearer key.
    pub fn new(base_url: &str, model: &str, api_key: Option<String>, timeout: Duration) -> Self {
        let base = base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            // Error statuses are read and reported with their body, not turned into
            // bare transport errors.
            .http_status_as_error(false)
            .build()
            .new_agent();
        Self {
            endpoint: format!("{base}/v1/chat/completions"),
            model: model.to_string(),
            api_key,
            agent,
        }
    }

    fn fail(&self, reason: String) -> MlError {
        MlError::Model {
            model: format!("{} at {}", self.model, self.endpoint),
            reason,
        }
    }
}

impl Generator for OpenAiChat {
    fn name(&self) -> &str {
        &self.model
    }

    fn generate(&mut self, messages: &[ChatMessage], params: &GenerationParams) -> Result<Generation> {
        let body = serde_json::to_string(&Request {
            model: &self.model,
            messages,
            max_tokens: params.max_tokens,
            temperature: params.temperature,
            seed: params.seed,
        })
        .map_err(|e| self.fail(format!("encoding the request: {e}")))?;
        let mut req = self
            .agent
            .post(&self.endpoint)
            .header("Content-Type", "application/json");
        if let Some(key) = &self.api_key {
            req = req.header("Authorization", &format!("Bearer {key}"));
        }
        let start = Instant::now();
        let mut resp = req
            .send(body.as_str())
            .map_err(|e| self.fail(format!("request failed: {e}")))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| self.fail(format!("reading the response: {e}")))?;
        let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
        if !(200..300).contains(&status) {
            let snippet: String = text.chars().take(300).collect();
            return Err(self.fail(format!("HTTP {status}: {snippet}")));
        }
        let parsed: Response =
            serde_json::from_str(&text).map_err(|e| self.fail(format!("unexpected response ({e}): {text:.300}")))?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| self.fail("the response has no choices".to_string()))?;
        Ok(Generation {
            text: choice.message.content,
            latency_ms,
            prompt_tokens: parsed.usage.as_ref().and_then(|u| u.prompt_tokens),
            completion_tokens: parsed.usage.as_ref().and_then(|u| u.completion_tokens),
        })
    }
}
