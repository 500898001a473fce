//! The gateway: the OpenAI-compatible front door of a poq network.
//!
//! For a chat request it picks an inference worker (the one serving the model the
//! client names; among several, by reward history), obtains the answer and the node's
//! signed receipt, checks the receipt against the answer, stores the bytes, submits the
//! round to the ledger and answers the client with a top-level `poq` object (round,
//! status, receipt, and once the round closed: committee, consensus, rewards, height).
//!
//! ```text
//!   POST /v1/chat/completions   OpenAI's API (stream or not), plus "poq": {wait, timeout_ms, task}
//!   GET  /v1/models
//!   GET  /v1/poq/rounds/{id}    GET /v1/poq/rounds   GET /v1/poq/requests/{hash}
//!   GET  /v1/poq/nodes          (with the devnet's honest/malicious labels when it has them)
//!   GET  /v1/poq/status         GET /v1/poq/trust-history
//!   GET  /v1/poq/content/{request}   the bytes a committee scores
//!   GET  /health   GET /metrics (Prometheus)   GET / (the dashboard)
//! ```
//!
//! Every wait is bounded: the inference call by the gateway's timeout (504), the wait
//! for finalization by the request's `timeout_ms` (the answer then says `pending`).
//! Streaming sends the answer once the node has signed it (the receipt covers the whole
//! answer), in word chunks, and `poq` in a last chunk with empty `choices`.

mod api;
mod chat;
pub mod content_store;
pub mod metrics;
pub mod pool;
mod state;

pub use api::{router, serve};
pub use state::{Gateway, GatewayConfig, follow};
