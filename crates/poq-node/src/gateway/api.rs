//! The gateway's routes other than chat: models, the ledger's views, content, metrics,
//! health and the dashboard.

use super::chat::chat;
use super::state::Gateway;
use crate::reply::error;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use poq_ledger::Hash;
use serde::Deserialize;
use serde_json::json;
use std::future::Future;
use tokio::net::TcpListener;

/// The dashboard (one self-contained page: no CDN, no build step).
const DASHBOARD: &str = include_str!("dashboard.html");

fn unreachable_ledger(e: crate::NodeError) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "server_error",
        "ledger_unreachable",
        format!("no ledger node answered ({e}); retry later"),
    )
}

async fn models(State(gw): State<Gateway>) -> Response {
    let data: Vec<_> = gw
        .pool()
        .models()
        .into_iter()
        .map(|m| json!({"id": m, "object": "model", "owned_by": "poq"}))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
}

async fn status(State(gw): State<Gateway>) -> Response {
    match gw.node.status().await {
        Ok(s) => {
            let mut v = json!(s);
            v["gateway"] = json!(gw.public());
            v["nodes_asked"] = json!(gw.node.urls());
            v["inference_workers"] = json!(gw.workers());
            Json(v).into_response()
        }
        Err(e) => unreachable_ledger(e),
    }
}

async fn round(State(gw): State<Gateway>, Path(id): Path<String>) -> Response {
    let Ok(n) = id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "bad_round_id",
            format!("round id {id:?} is not a non-negative integer"),
        );
    };
    match gw.node.round(n).await {
        Ok(Some(r)) => Json(r).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "unknown_round",
            format!("no round {n}"),
        ),
        Err(e) => unreachable_ledger(e),
    }
}

async fn request(State(gw): State<Gateway>, Path(hash): Path<String>) -> Response {
    let Some(h) = Hash::from_hex(&hash) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "bad_request_hash",
            format!("request {hash:?} is not 64 hex digits"),
        );
    };
    match gw.node.round_of_request(&h).await {
        Ok(Some(r)) => Json(r).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "unknown_request",
            format!("no round carries {h}"),
        ),
        Err(e) => unreachable_ledger(e),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

async fn rounds(State(gw): State<Gateway>, Query(q): Query<ListQuery>) -> Response {
    let limit = q.limit.unwrap_or(50);
    if limit > crate::rpc::MAX_LIST {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "limit",
            format!("limit {limit} is above {}", crate::rpc::MAX_LIST),
        );
    }
    match gw.node.rounds(limit).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => unreachable_ledger(e),
    }
}

async fn nodes(State(gw): State<Gateway>) -> Response {
    match gw.node.nodes().await {
        Ok(nodes) => {
            let v: Vec<_> = nodes
                .into_iter()
                .map(|n| {
                    let label = gw.config.labels.get(&n.key).cloned();
                    let mut v = json!(n);
                    v["label"] = json!(label);
                    v
                })
                .collect();
            Json(v).into_response()
        }
        Err(e) => unreachable_ledger(e),
    }
}

async fn trust_history(State(gw): State<Gateway>) -> Response {
    Json(gw.trust_samples()).into_response()
}

async fn content(State(gw): State<Gateway>, Path(hash): Path<String>) -> Response {
    let Some(h) = Hash::from_hex(&hash) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "bad_request_hash",
            format!("request {hash:?} is not 64 hex digits"),
        );
    };
    match gw.content.get(&h) {
        Ok(Some(c)) => Json(c).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "unknown_request",
            format!("no content for {h}"),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "store",
            e.to_string(),
        ),
    }
}

async fn metrics(State(gw): State<Gateway>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        gw.metrics.encode(),
    )
        .into_response()
}

/// `{"status":"ok"}` once the gateway has reached a ledger node and knows a worker;
/// 503 `{"status":"starting"}` before.
async fn health(State(gw): State<Gateway>) -> Response {
    if gw.synced.load(std::sync::atomic::Ordering::Relaxed) && !gw.workers().is_empty() {
        Json(json!({"status": "ok"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "starting"}))).into_response()
    }
}

async fn dashboard() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], DASHBOARD).into_response()
}

/// The gateway's routes.
pub fn router(gw: Gateway) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/v1/poq/status", get(status))
        .route("/v1/poq/rounds", get(rounds))
        .route("/v1/poq/rounds/{id}", get(round))
        .route("/v1/poq/requests/{hash}", get(request))
        .route("/v1/poq/nodes", get(nodes))
        .route("/v1/poq/trust-history", get(trust_history))
        .route("/v1/poq/content/{hash}", get(content))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .with_state(gw)
}

/// Serves the gateway on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    gw: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(gw)).with_graceful_shutdown(shutdown).await
}
