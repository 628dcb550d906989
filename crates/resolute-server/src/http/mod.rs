//! The HTTP routes of the API listener.

mod cors;
mod dashboard;
mod endpoint;
mod explain;
pub(crate) mod health;
mod legacy;
mod limits;
mod panic;
mod rpc;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::routing::{any, get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::App;
pub use endpoint::RpcEndpoint;

/// What a listener serves: the router, and the RPC endpoint its connections call directly.
#[derive(Clone)]
pub struct Routes {
    pub router: Router,
    pub rpc: Option<Arc<RpcEndpoint>>,
}

/// The metrics listener's routes: `GET /metrics` only.
pub fn metrics_router(app: App) -> Routes {
    // /health here too: when the API listener is the thing that died, this one still answers.
    let router = Router::new()
        .route("/metrics", get(health::metrics))
        .route("/health", get(health::health))
        .with_state(app);
    Routes { router, rpc: None }
}

/// The API routes: the RPC endpoint, health, readiness and the legacy-path answers. With CORS on,
/// `POST /` goes through the router too, so that the CORS layer sees every request.
pub fn router(app: App) -> Routes {
    let rpc = RpcEndpoint::new(app.clone());
    let routed = rpc.clone();
    let cors = cors::layer(&app.config().cors_allow_origins);
    let router = api_router(app)
        .route("/", post(move |request: Request<Body>| routed.clone().serve(request)));
    match cors {
        Some(cors) => Routes { router: router.layer(cors), rpc: None },
        None => Routes { router, rpc: Some(rpc) },
    }
}

fn api_router(app: App) -> Router {
    let body_limit = app.config().body_limit_bytes;
    let mut router = Router::new()
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
