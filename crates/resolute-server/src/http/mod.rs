//! The HTTP routes of the API listener.

mod dashboard;
mod explain;
pub(crate) mod health;
mod legacy;
mod limits;
mod panic;
mod rpc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::App;

/// The metrics listener's router: `GET /metrics` only.
pub fn metrics_router(app: App) -> Router {
    // /health here too: when the API listener is the thing that died, this one still answers.
    Router::new()
        .route("/metrics", get(health::metrics))
        .route("/health", get(health::health))
        .with_state(app)
}

/// Builds the API router: the RPC endpoint, health, readiness and the legacy-path answers.
pub fn router(app: App) -> Router {
    let body_limit = app.config().body_limit_bytes;
    let mut router = Router::new()
        .route("/", post(rpc::handle).layer(limits::rpc_limits(app.config())))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/explain/:id", get(explain::explain))
        .route("/poll/:group/:id", get(crate::poll::sse::connect))
        .merge(dashboard::routes());
    for base in ["/promises", "/schedules", "/tasks"] {
        router = router
            .route(base, any(legacy::gone))
            .route(&format!("{base}/*rest"), any(legacy::gone));
    }
    router
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(panic::into_response))
        .with_state(app)
}
