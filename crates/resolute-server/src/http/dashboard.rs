//! `GET /dashboard`: the operator's live page (loop liveness, stuck lanes, delivery rate, search),
//! plain HTML, CSS and JS compiled into the binary so there is nothing to deploy or fetch elsewhere.
//!
//! The page holds no data of its own: it reads `/health?queues=1`, `/explain/{id}` and the RPC
//! endpoint with the operator's token, so auth applies there and the page itself stays public.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::App;

/// Everything the page loads comes from this server; nothing may be framed, posted or injected.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const INDEX: &str = include_str!("dashboard/index.html");

/// `/dashboard/{name}`: the page's scripts and style sheet.
const ASSETS: &[(&str, &str, &str)] = &[
    ("style.css", "text/css; charset=utf-8", include_str!("dashboard/style.css")),
    ("app.js", JS, include_str!("dashboard/app.js")),
    ("api.js", JS, include_str!("dashboard/api.js")),
    ("format.js", JS, include_str!("dashboard/format.js")),
    ("health.js", JS, include_str!("dashboard/health.js")),
    ("chart.js", JS, include_str!("dashboard/chart.js")),
    ("search.js", JS, include_str!("dashboard/search.js")),
];

const JS: &str = "text/javascript; charset=utf-8";

/// The dashboard's routes, merged into the API router.
pub fn routes() -> Router<App> {
    Router::new().route("/dashboard", get(index)).route("/dashboard/:asset", get(asset))
}

async fn index() -> Response {
    serve("text/html; charset=utf-8", INDEX)
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(asset, _, _)| *asset == name) {
        Some((_, content_type, body)) => serve(content_type, body),
        None => (StatusCode::NOT_FOUND, "no such dashboard file").into_response(),
    }
}

fn serve(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        // Revalidate each load so a page from an older binary never mixes with a newer one.
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    ];
    (headers, body).into_response()
}
