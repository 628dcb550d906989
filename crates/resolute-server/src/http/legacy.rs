//! The pre-2026 REST paths: always `410 Gone`, telling old clients to upgrade.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn gone() -> Response {
    (StatusCode::GONE, [(header::CONTENT_TYPE, "application/json")], resolute_api::LEGACY_GONE_BODY)
        .into_response()
}
