//! Limits on the RPC endpoint: a ceiling on requests in flight (shed, never queued without bound)
//! and a deadline per request. Both answer a clear 503 envelope that SDKs treat as retryable.

use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::layer::util::{Identity, Stack};
use tower::limit::ConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::timeout::TimeoutLayer;
use tower::{BoxError, ServiceBuilder};

use crate::config::ServerConfig;

type Limits = ServiceBuilder<
    Stack<
        TimeoutLayer,
        Stack<
            ConcurrencyLimitLayer,
            Stack<
                LoadShedLayer,
                Stack<HandleErrorLayer<fn(BoxError) -> std::future::Ready<Response>, ()>, Identity>,
            >,
        >,
    >,
>;

/// The layers wrapped around `POST /`.
pub fn rpc_limits(config: &ServerConfig) -> Limits {
    let handle: fn(BoxError) -> std::future::Ready<Response> =
        |error| std::future::ready(rejected(error));
    ServiceBuilder::new()
        .layer(HandleErrorLayer::new(handle))
        .load_shed()
        .concurrency_limit(config.rpc_in_flight_max.max(1))
        .timeout(config.rpc_timeout.max(Duration::from_millis(1)))
}

fn rejected(error: BoxError) -> Response {
    let message = if error.is::<tower::load_shed::error::Overloaded>() {
        "Server busy: too many requests in flight; retry shortly"
    } else if error.is::<tower::timeout::error::Elapsed>() {
        "Request timed out"
    } else {
        "Request could not be served"
    };
    let body = serde_json::json!({
        "kind": "unknown",
        "head": {"corrId": "0", "status": 503, "version": "2026-04-01"},
        "data": message,
    });
    let headers = [(header::CONTENT_TYPE, "application/json")];
    (StatusCode::SERVICE_UNAVAILABLE, headers, body.to_string()).into_response()
}
