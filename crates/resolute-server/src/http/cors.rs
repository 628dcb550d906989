//! CORS, off unless origins are configured, as in Resonate: `*` is fully permissive; otherwise
//! the listed origins may use GET, POST, PUT, PATCH, DELETE and OPTIONS with the headers Origin,
//! Content-Length, Content-Type and Authorization (protocol.md §1.2).

use axum::http::{header, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The layer for `origins`, or `None` when CORS is off. Origins are validated by the binary.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    if origins.iter().any(|origin| origin == "*") {
        return Some(CorsLayer::permissive());
    }
    let listed: Vec<HeaderValue> =
        origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    let methods =
        [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS];
    let headers =
        [header::ORIGIN, header::CONTENT_LENGTH, header::CONTENT_TYPE, header::AUTHORIZATION];
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(listed))
            .allow_methods(methods)
            .allow_headers(headers),
    )
}
