//! The node API's router and handlers.

use super::view::{self, Accepted, DutiesRequest};
use crate::app::NodeApp;
use crate::engine::{SharedApp, lock};
use crate::mempool::Refusal;
use crate::reply::error;
use crate::store::Reader;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use poq_core::RoundId;
use poq_ledger::limits::MAX_TX_BYTES;
use serde::Deserialize;
use serde_json::json;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The longest `GET /v1/poq/wait` waits.
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// The most rounds `GET /v1/poq/rounds` lists.
pub const MAX_LIST: usize = 500;
/// The most keys one duties request may ask about.
pub const MAX_DUTY_KEYS: usize = 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct NodeApi {
    app: SharedApp<NodeApp>,
    reader: Reader,
    height: watch::Receiver<u64>,
    network: poq_ledger::Hash,
}

impl NodeApi {
    /// The API of `app`; `height` follows its applied height (the node's loop sends it).
    pub fn new(app: SharedApp<NodeApp>, height: watch::Receiver<u64>) -> Self {
        let (reader, network) = {
            let a = lock(&app);
            (a.store().reader(), *a.store().ledger().network())
        };
        Self {
            app,
            reader,
            height,
            network,
        }
    }
}

fn store_error(e: crate::NodeError) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "store",
        e.to_string(),
    )
}

async fn submit(State(api): State<NodeApi>, body: Bytes) -> Response {
    // Decoding and the signature check happen outside the application's lock, so a burst
    // of submissions does not stall consensus.
    let bytes = body.to_vec();
    let hash = poq_ledger::Tx::hash_bytes(&bytes);
    let tx = match poq_ledger::Tx::decode(&bytes) {
        Ok(tx) => tx,
        Err(e) => {
            let r = poq_ledger::Rejection::Malformed(e);
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                r.reason().name(),
                r.to_string(),
            );
        }
    };
    if !tx.verify(&api.network) {
        let r = poq_ledger::Rejection::BadSignature {
            tx: hash,
            kind: tx.body.kind(),
            signer: tx.signer,
        };
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            r.reason().name(),
            r.to_string(),
        );
    }
    let result = lock(&api.app).submit_verified(bytes, tx);
    match result {
        Ok(hash) => Json(Accepted { hash }).into_response(),
        Err(Refusal::Full { .. }) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "mempool_full",
            result.unwrap_err().to_string(),
        ),
        Err(Refusal::Duplicate(h)) => error(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "duplicate",
            format!("transaction {h} is in the mempool already"),
        ),
        Err(Refusal::Rejected(r)) => error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            r.reason().name(),
            r.to_string(),
        ),
    }
}

async fn status(State(api): State<NodeApi>) -> Response {
    let v = {
        let a = lock(&api.app);
        view::status(a.store().ledger(), a.mempool().len())
    };
    Json(v).into_response()
}

#[derive(Deserialize)]
struct WaitQuery {
    height: u64,
    timeout_ms: Option<u64>,
}

async fn wait(State(api): State<NodeApi>, Query(q): Query<WaitQuery>) -> Response {
    let timeout = Duration::from_millis(q.timeout_ms.unwrap_or(10_000)).min(MAX_WAIT);
    let mut rx = api.height.clone();
    // Timing out is an answer too: the status says how far the node got.
    let _ = tokio::time::timeout(timeout, rx.wait_for(|h| *h >= q.height)).await;
    status(State(api)).await
}

async fn round(State(api): State<NodeApi>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "bad_round_id",
            format!("round id {id:?} is not a non-negative integer"),
        );
    };
    match api.reader.round(RoundId(id)) {
        Ok(Some(r)) => Json(r).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "unknown_round",
            format!("no round {id} on this ledger"),
        ),
        Err(e) => store_error(e),
    }
}

async fn request(State(api): State<NodeApi>, Path(hash): Path<String>) -> Response {
    let Some(h) = poq_ledger::Hash::from_hex(&hash) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "bad_request_hash",
            format!("request hash {hash:?} is not 64 hex digits"),
        );
    };
    match api.reader.round_of_request(&h) {
        Ok(Some(r)) => Json(r).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "unknown_request",
            format!("no round on this ledger carries request {h}"),
        ),
        Err(e) => store_error(e),
    }
}

/// The most blocks one changes answer covers.
pub const MAX_CHANGE_HEIGHTS: u64 = 256;

#[derive(Deserialize)]
struct ChangesQuery {
    after: u64,
}

async fn changes(State(api): State<NodeApi>, Query(q): Query<ChangesQuery>) -> Response {
    match api.reader.changes(q.after, MAX_CHANGE_HEIGHTS) {
        Ok((height, submitted, closed)) => Json(view::ChangesView {
            height,
            submitted,
            closed,
        })
        .into_response(),
        Err(e) => store_error(e),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
    before: Option<u64>,
}

async fn rounds(State(api): State<NodeApi>, Query(q): Query<ListQuery>) -> Response {
    let limit = q.limit.unwrap_or(50);
    if limit > MAX_LIST {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "limit",
            format!("limit {limit} is above {MAX_LIST}"),
        );
    }
    match api.reader.recent_rounds(limit, q.before.map(RoundId)) {
        Ok(r) => Json(r).into_response(),
        Err(e) => store_error(e),
    }
}

async fn nodes(State(api): State<NodeApi>) -> Response {
    let v = view::nodes(lock(&api.app).store().ledger());
    Json(v).into_response()
}

async fn duties(State(api): State<NodeApi>, body: Bytes) -> Response {
    let req: DutiesRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "malformed",
                format!("duties request: {e}"),
            );
        }
    };
    if req.keys.len() > MAX_DUTY_KEYS {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "too_many_keys",
            format!("{} keys, at most {MAX_DUTY_KEYS}", req.keys.len()),
        );
    }
    let v = view::duties(lock(&api.app).store().ledger(), &req.keys);
    Json(v).into_response()
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// The node API's routes.
pub fn router(api: NodeApi) -> Router {
    Router::new()
        .route("/v1/poq/tx", post(submit))
        .route(
            "/v1/poq/duties",
            post(duties).layer(DefaultBodyLimit::max(MAX_DUTY_KEYS * 80 + 1024)),
        )
        .route("/v1/poq/status", get(status))
        .route("/v1/poq/wait", get(wait))
        .route("/v1/poq/rounds", get(rounds))
        .route("/v1/poq/rounds/{id}", get(round))
        .route("/v1/poq/requests/{hash}", get(request))
        .route("/v1/poq/changes", get(changes))
        .route("/v1/poq/nodes", get(nodes))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_TX_BYTES + 1024))
        .with_state(api)
}

/// Serves `api` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    api: NodeApi,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(api))
        .with_graceful_shutdown(shutdown)
        .await
}
