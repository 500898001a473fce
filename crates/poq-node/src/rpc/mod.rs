//! A node's HTTP API (axum): what gateways, evaluator workers and people ask a ledger.
//!
//! ```text
//!   POST /v1/poq/tx              a signed transaction's bytes → {hash} or an error naming why
//!   POST /v1/poq/duties          {keys} → the open rounds those keys sit on the committee of
//!   GET  /v1/poq/status          height, digest, validators, mempool, rounds, rejections
//!   GET  /v1/poq/wait?height=H&timeout_ms=T   the status once height ≥ H (bounded wait)
//!   GET  /v1/poq/rounds/{id}     the round as the ledger holds it (every signed commit and reveal)
//!   GET  /v1/poq/requests/{hash} the round that carries a receipt's request
//!   GET  /v1/poq/changes?after=H the rounds submitted or closed above height H (≤ 256 blocks)
//!   GET  /v1/poq/rounds?limit=N&before=ID     the newest rounds
//!   GET  /v1/poq/nodes           every registered key: roles, balance, bond, trust, rounds
//!   GET  /health                 {"status":"ok"}
//! ```
//!
//! The server takes a bound listener and a shutdown signal ([`serve`]), so tests bind
//! 127.0.0.1:0. Handlers lock the application only to copy what they answer; reads of
//! past rounds go to the store's reader and do not take the lock at all.

mod server;
pub mod view;

pub use server::{MAX_CHANGE_HEIGHTS, MAX_DUTY_KEYS, MAX_LIST, MAX_WAIT, NodeApi, router, serve};
