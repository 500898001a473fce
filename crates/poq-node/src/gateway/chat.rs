//! `POST /v1/chat/completions`: answer, receipt, submission, and the `poq` object.

use super::state::Gateway;
use crate::content::{Content, Message, answer_hash, prompt_hash};
use crate::history::{RoundRecord, RoundStatus};
use crate::inference::ReceiptRequest;
use crate::reply::error;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use poq_core::Task;
use poq_ledger::{Body as TxBody, Hash, Receipt, Tx};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// poq's part of a chat request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoqOptions {
    /// Wait for the round to close before answering.
    #[serde(default)]
    pub wait: bool,
    /// The longest to wait (milliseconds; capped by the gateway's limit).
    pub timeout_ms: Option<u64>,
    /// The prompt's task (default `qa`).
    pub task: Option<String>,
}

/// The chat request (OpenAI's fields poq uses; others are ignored, as OpenAI-compatible
/// servers do).
#[derive(Debug, Clone, Deserialize)]
pub struct ChatRequest {
    /// The model.
    pub model: Option<String>,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Most tokens.
    pub max_tokens: Option<u32>,
    /// Temperature.
    pub temperature: Option<f64>,
    /// Seed.
    pub seed: Option<u64>,
    /// Stream the answer as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// poq's options.
    pub poq: Option<PoqOptions>,
}

fn bad(code: &str, message: String) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request_error", code, message)
}

/// A request id no other receipt of this gateway has: its key, the wall clock in
/// nanoseconds, a counter and the process id.
fn request_id(gw: &Gateway) -> Hash {
    let n = gw.counter.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    Hash::of(
        "poq/gateway/request",
        &[
            &gw.key.public().0,
            &t.to_le_bytes(),
            &n.to_le_bytes(),
            &std::process::id().to_le_bytes(),
        ],
    )
}

/// The `poq` object of an answer.
pub fn poq_object(receipt: &Receipt, record: Option<&RoundRecord>) -> Value {
    let mut v = json!({
        "request": receipt.request,
        "round": record.map(|r| r.round.0),
        "status": record.map_or(RoundStatus::Pending, |r| r.status).name(),
        "inference_node": receipt.node,
        "model": receipt.model,
        "receipt": receipt,
    });
    if let Some(r) = record {
        v["submitted_height"] = json!(r.submitted);
        if !r.members.is_empty() {
            v["committee"] = json!(r.members);
        }
        if let Some(h) = r.closed {
            v["height"] = json!(h);
        }
        if let Some(o) = &r.outcome {
            v["consensus"] = json!(o.consensus);
            v["inference_reward"] = json!(o.inference_reward);
            v["reports"] = json!(o.reports);
        }
        if let Some(e) = &r.expiry {
            v["received"] = json!(e.received);
            v["quorum"] = json!(e.quorum);
        }
        if !r.payouts.is_empty() {
            v["rewards"] = json!(
                r.payouts
                    .iter()
                    .map(|(k, m)| json!({"key": k, "micro": m}))
                    .collect::<Vec<_>>()
            );
        }
    }
    v
}

/// Waits until the round of `request` is on the ledger (and closed, if `closed`), up
/// to `timeout`; the last record seen (`None` if it never landed). The gateway's
/// follower tells every waiter at once, so waiting costs the ledger nothing.
async fn wait_round(gw: &Gateway, request: &Hash, closed: bool, timeout: Duration) -> Option<RoundRecord> {
    let Some(mut rx) = gw.subscribe(request) else {
        // Not followed (the gateway is at its limit): ask the ledger once.
        return gw.node.round_of_request(request).await.ok().flatten();
    };
    let done = |r: &Option<RoundRecord>| r.as_ref().is_some_and(|r| !closed || r.status != RoundStatus::Pending);
    let _ = tokio::time::timeout(timeout, rx.wait_for(done)).await;
    rx.borrow().clone()
}

struct Answered {
    text: String,
    receipt: Receipt,
    usage: Value,
    id: String,
    created: u64,
    finish: String,
}

/// Everything up to the submission; an error answer otherwise.
async fn answer(gw: &Gateway, req: &ChatRequest, task: Task, start: Instant) -> Result<Answered, Response> {
    let worker = gw.pool().pick(req.model.as_deref());
    let Some(worker) = worker else {
        return Err(match &req.model {
            Some(m) if !gw.pool().models().contains(m) && !gw.pool().workers().is_empty() => error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "model_not_found",
                format!(
                    "model {m:?} is not served here; models: {}",
                    gw.pool().models().join(", ")
                ),
            ),
            _ => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "no_inference_node",
                "no inference node is available; retry later",
            ),
        });
    };
    if !gw.synced.load(Ordering::Relaxed) {
        // Without a height a receipt's expiry would be a guess (and likely past).
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "ledger_unreachable",
            "the gateway has not reached a ledger node yet; retry later",
        ));
    }
    let request = request_id(gw);
    let expires = gw.height.load(Ordering::Relaxed) + gw.config.ttl;
    let body = json!({
        "model": worker.model,
        "messages": req.messages,
        "max_tokens": req.max_tokens,
        "temperature": req.temperature,
        "seed": req.seed,
        "poq": ReceiptRequest { gateway: gw.public(), request, expires, task },
    });
    let sent = gw
        .http
        .post(format!("{}/v1/chat/completions", worker.url))
        .timeout(gw.config.inference_timeout)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Err(error(
                StatusCode::GATEWAY_TIMEOUT,
                "server_error",
                "inference_timeout",
                format!(
                    "the inference node at {} did not answer within {:?}",
                    worker.url, gw.config.inference_timeout
                ),
            ));
        }
        Err(e) => {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "no_inference_node",
                format!("the inference node at {} is unreachable ({e}); retry later", worker.url),
            ));
        }
    };
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| {
        error(
            StatusCode::BAD_GATEWAY,
            "server_error",
            "inference",
            format!("reading the node's answer: {e}"),
        )
    })?;
    let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if !status.is_success() {
        let code = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        if v["error"]["message"].is_string() {
            // The node's own error (a bad parameter) goes back to the client as it is.
            return Err((code, Json(v)).into_response());
        }
        let text: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
        return Err(error(
            StatusCode::BAD_GATEWAY,
            "server_error",
            "inference",
            format!("the inference node at {} answered {code}: {text}", worker.url),
        ));
    }
    gw.metrics.inference_seconds.observe(start.elapsed().as_secs_f64());
    let text = v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let receipt: Option<Receipt> = serde_json::from_value(v["poq"]["receipt"].clone()).ok();
    let bad_receipt = |why: &str| {
        error(
            StatusCode::BAD_GATEWAY,
            "server_error",
            "bad_receipt",
            format!("the inference node at {} sent an unusable receipt: {why}", worker.url),
        )
    };
    let Some(receipt) = receipt else {
        return Err(bad_receipt("missing"));
    };
    if receipt.node != worker.key || !receipt.verify(&gw.network) {
        return Err(bad_receipt("not signed by the node's key"));
    }
    if receipt.request != request
        || receipt.gateway != gw.public()
        || receipt.expires != expires
        || receipt.task != task
    {
        return Err(bad_receipt("it is not for this request"));
    }
    if receipt.answer != answer_hash(&text) || receipt.prompt != prompt_hash(&req.messages) {
        return Err(bad_receipt("its hashes do not match the answer"));
    }
    if receipt.model != worker.model || receipt.reference.is_some() {
        return Err(bad_receipt("it names another model, or makes the round a spot-check"));
    }
    let content = Content {
        request,
        messages: req.messages.clone(),
        answer: text.clone(),
        task,
    };
    if let Err(e) = gw.content.put(&content) {
        return Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "store",
            e.to_string(),
        ));
    }
    let tx = Tx::sign(
        &gw.network,
        &gw.key,
        expires,
        TxBody::Submit {
            receipt: receipt.clone(),
        },
    );
    // Followed before it is sent, so its landing cannot be missed.
    gw.watch(request, start);
    match gw.node.submit(tx.encode()).await {
        Ok(Ok(_)) => {
            gw.metrics.submitted.inc();
        }
        // A resend after a node failed mid-request: the first attempt got through.
        Ok(Err(r)) if r.code == "duplicate" || r.code == "replayed" => {
            gw.metrics.submitted.inc();
        }
        Ok(Err(r)) => {
            let code = if r.status == 503 {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_GATEWAY
            };
            return Err(error(
                code,
                "server_error",
                "submission",
                format!("the ledger refused the round: {}", r.message),
            ));
        }
        Err(e) => {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "ledger_unreachable",
                format!("no ledger node answered ({e}); retry later"),
            ));
        }
    }
    Ok(Answered {
        text,
        receipt,
        usage: v["usage"].clone(),
        id: v["id"].as_str().unwrap_or("chatcmpl").to_string(),
        created: v["created"].as_u64().unwrap_or(0),
        finish: v["choices"][0]["finish_reason"].as_str().unwrap_or("stop").to_string(),
    })
}

/// The handler.
pub async fn chat(State(gw): State<Gateway>, body: Body) -> Response {
    let start = Instant::now();
    let response = handle(&gw, body, start).await;
    gw.metrics
        .requests
        .get_or_create(&super::metrics::StatusLabel {
            status: response.status().as_u16(),
        })
        .inc();
    gw.metrics.request_seconds.observe(start.elapsed().as_secs_f64());
    response
}

async fn handle(gw: &Gateway, body: Body, start: Instant) -> Response {
    let bytes = match axum::body::to_bytes(body, gw.config.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "body_too_large",
                format!("the request body is over {} bytes", gw.config.max_body),
            );
        }
    };
    let req: ChatRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return bad("malformed", format!("the body is not a chat request: {e}")),
    };
    if req.messages.is_empty() {
        return bad("messages", "messages is empty".into());
    }
    if let Some(m) = req.max_tokens
        && (m == 0 || m > gw.config.max_tokens)
    {
        return bad(
            "max_tokens",
            format!("max_tokens {m} is not in 1..={}", gw.config.max_tokens),
        );
    }
    let opts = req.poq.clone().unwrap_or_default();
    let task = match opts.task.as_deref() {
        None => Task::Qa,
        Some(t) => match Task::from_name(t) {
            Ok(t) => t,
            Err(e) => return bad("task", e.to_string()),
        },
    };
    let a = match answer(gw, &req, task, start).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let timeout = Duration::from_millis(opts.timeout_ms.unwrap_or(30_000)).min(gw.config.max_wait);
    if req.stream {
        return stream(gw.clone(), a, opts.wait, timeout);
    }
    // The round id is known one block after submission; wait for that much, at least.
    let record = wait_round(
        gw,
        &a.receipt.request,
        opts.wait,
        if opts.wait {
            timeout
        } else {
            timeout.min(Duration::from_secs(5))
        },
    )
    .await;
    let mut v = json!({
        "id": a.id,
        "object": "chat.completion",
        "created": a.created,
        "model": a.receipt.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": a.text}, "finish_reason": a.finish}],
        "usage": a.usage,
    });
    v["poq"] = poq_object(&a.receipt, record.as_ref());
    let mut resp = Json(v).into_response();
    if let Some(r) = &record
        && let Ok(h) = r.round.0.to_string().parse()
    {
        resp.headers_mut().insert("x-poq-round-id", h);
    }
    resp
}

fn chunk(a: &Answered, delta: Value, finish: Option<&str>) -> SseEvent {
    let v = json!({
        "id": a.id, "object": "chat.completion.chunk", "created": a.created, "model": a.receipt.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    SseEvent::default().data(v.to_string())
}

fn stream(gw: Gateway, a: Answered, wait: bool, timeout: Duration) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<SseEvent>(64);
    tokio::spawn(async move {
        let mut events = vec![chunk(&a, json!({"role": "assistant", "content": ""}), None)];
        let words: Vec<&str> = a.text.split_inclusive(' ').collect();
        for w in words {
            events.push(chunk(&a, json!({"content": w}), None));
        }
        events.push(chunk(&a, json!({}), Some(&a.finish)));
        for e in events {
            if tx.send(e).await.is_err() {
                return;
            }
        }
        let record = wait_round(
            &gw,
            &a.receipt.request,
            wait,
            if wait {
                timeout
            } else {
                timeout.min(Duration::from_secs(5))
            },
        )
        .await;
        let last = json!({
            "id": a.id, "object": "chat.completion.chunk", "created": a.created, "model": a.receipt.model,
            "choices": [], "usage": a.usage, "poq": poq_object(&a.receipt, record.as_ref()),
        });
        let _ = tx.send(SseEvent::default().data(last.to_string())).await;
        let _ = tx.send(SseEvent::default().data("[DONE]")).await;
    });
    let s = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, std::convert::Infallible>(e), rx))
    });
    Sse::new(s).into_response()
}
