//! The answer of the RPC endpoint's limits (requests in flight, the per-request deadline): a clear
//! 503 envelope that SDKs treat as retryable. The limits themselves live in `endpoint.rs`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// The 503 envelope SDKs retry, saying why.
pub fn rejected_with(message: &str) -> Response {
    let body = serde_json::json!({
        "kind": "unknown",
        "head": {"corrId": "0", "status": 503, "version": "2026-04-01"},
        "data": message,
    });
    let headers = [(header::CONTENT_TYPE, "application/json")];
    (StatusCode::SERVICE_UNAVAILABLE, headers, body.to_string()).into_response()
}
