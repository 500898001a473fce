//! The inference worker's HTTP server.

use crate::content::{Message, answer_hash, prompt_hash};
use crate::reply::error;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use poq_core::Task;
use poq_ledger::{Hash, Keypair, PublicKey, Receipt, Signature};
use poq_ml::llm::{GenerationParams, Generator};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

/// The most tokens one request may ask for.
pub const MAX_TOKENS: u32 = 1024;
/// The largest request body (above the gateway's 1 MiB, so what a gateway accepts a
/// worker does too).
pub const MAX_BODY: usize = (1 << 20) + (64 << 10);
/// Requests a worker holds at once (one runs on the model, the others wait); beyond
/// them it answers 503 at once instead of queueing without bound.
pub const MAX_QUEUED: usize = 16;

/// What a gateway asks the node to sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptRequest {
    /// The gateway that will submit it.
    pub gateway: PublicKey,
    /// The request's id.
    pub request: Hash,
    /// The last height it may be submitted at.
    pub expires: u64,
    /// The prompt's task.
    pub task: Task,
}

/// An OpenAI chat-completions request, with poq's field.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatRequest {
    /// The model asked for.
    pub model: Option<String>,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Most tokens to generate.
    pub max_tokens: Option<u32>,
    /// Sampling temperature (0: greedy).
    pub temperature: Option<f64>,
    /// Sampling seed.
    pub seed: Option<u64>,
    /// poq's receipt request.
    pub poq: Option<ReceiptRequest>,
}

/// A worker: its key, the network it signs for, its model.
#[derive(Clone)]
pub struct InferenceWorker {
    key: Arc<Keypair>,
    network: Hash,
    model: String,
    generator: Arc<Mutex<Box<dyn Generator + Send>>>,
    queue: Arc<tokio::sync::Semaphore>,
}

impl InferenceWorker {
    /// A worker signing with `key` on `network`, answering as `model` with `generator`.
    pub fn new(key: Keypair, network: Hash, model: String, generator: Box<dyn Generator + Send>) -> Self {
        Self {
            key: Arc::new(key),
            network,
            model,
            generator: Arc::new(Mutex::new(generator)),
            queue: Arc::new(tokio::sync::Semaphore::new(MAX_QUEUED)),
        }
    }
}

fn bad(code: &str, message: String) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request_error", code, message)
}

async fn chat(State(w): State<InferenceWorker>, body: axum::body::Bytes) -> Response {
    let req: ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad("malformed", format!("the request is not a chat request: {e}")),
    };
    if let Some(m) = &req.model
        && *m != w.model
    {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
            format!("model {m:?} is not served here (this node serves {:?})", w.model),
        );
    }
    if req.messages.is_empty() {
        return bad("messages", "messages is empty".into());
    }
    let max_tokens = req.max_tokens.unwrap_or(64);
    if max_tokens == 0 || max_tokens > MAX_TOKENS {
        return bad(
            "max_tokens",
            format!("max_tokens {max_tokens} is not in 1..={MAX_TOKENS}"),
        );
    }
    let temperature = req.temperature.unwrap_or(0.0);
    if !(0.0..=2.0).contains(&temperature) {
        return bad("temperature", format!("temperature {temperature} is not in [0, 2]"));
    }
    let params = GenerationParams {
        max_tokens,
        temperature,
        seed: Some(req.seed.unwrap_or(0)),
    };
    let messages: Vec<_> = req.messages.iter().map(Message::to_chat).collect();
    let Ok(_permit) = w.queue.clone().try_acquire_owned() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "busy",
            format!("{MAX_QUEUED} requests are queued on this node already; retry later"),
        );
    };
    let generator = w.generator.clone();
    let generated = tokio::task::spawn_blocking(move || {
        let mut g = generator.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The cost is the model's time, not the time spent queueing for it.
        let start = Instant::now();
        g.generate(&messages, &params)
            .map(|out| (out, start.elapsed().as_secs_f64()))
    })
    .await;
    let (generation, latency) = match generated {
        Ok(Ok(g)) => g,
        Ok(Err(e)) => return error(StatusCode::BAD_GATEWAY, "server_error", "model", e.to_string()),
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "model",
                e.to_string(),
            );
        }
    };
    let receipt = req.poq.as_ref().map(|r| {
        Receipt {
            node: w.key.public(),
            gateway: r.gateway,
            request: r.request,
            prompt: prompt_hash(&req.messages),
            answer: answer_hash(&generation.text),
            model: w.model.clone(),
            task: r.task,
            // The cost is the latency in seconds; the protocol normalizes it.
            cost: latency,
            expires: r.expires,
            reference: None,
            signature: Signature([0; 64]),
        }
        .signed(&w.network, &w.key)
    });
    let prompt_tokens = generation.prompt_tokens.unwrap_or(0);
    let completion_tokens = generation.completion_tokens.unwrap_or(0);
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let id = format!(
        "chatcmpl-{}",
        &answer_hash(&format!("{created}{}", generation.text)).to_hex()[..24]
    );
    let finish = if completion_tokens >= u64::from(max_tokens) {
        "length"
    } else {
        "stop"
    };
    let mut v = json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": w.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": generation.text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    });
    if let Some(r) = receipt {
        v["poq"] = json!({"receipt": r, "latency_ms": latency * 1000.0});
    }
    Json(v).into_response()
}

async fn models(State(w): State<InferenceWorker>) -> Response {
    Json(json!({"object": "list", "data": [{"id": w.model, "object": "model", "owned_by": w.key.public()}]}))
        .into_response()
}

async fn identity(State(w): State<InferenceWorker>) -> Response {
    Json(json!({"key": w.key.public(), "model": w.model})).into_response()
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Serves `worker` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    worker: InferenceWorker,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/v1/poq/identity", get(identity))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(worker);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
