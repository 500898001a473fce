//! The error answers every poq HTTP server gives: OpenAI's shape,
//! `{"error": {"message", "type", "code"}}`, with a 4xx or 5xx status, so OpenAI clients
//! show them as they show OpenAI's own.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer with `status`, error type `kind` (`invalid_request_error`,
/// `server_error`, …), a machine-readable `code` and a message naming the bad value.
pub fn error(status: StatusCode, kind: &str, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"message": message.into(), "type": kind, "code": code}})),
    )
        .into_response()
}
