//! A handler panic becomes a 500 envelope for that request only; the process keeps serving.

use std::any::Any;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

pub fn into_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "internal error".to_owned()
    };
    tracing::error!(%message, "request handler panicked");
    let body = serde_json::json!({
        "kind": "unknown",
        "head": {"corrId": "0", "status": 500, "version": "2026-04-01"},
        "data": message,
    });
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
