//! `/health` (work is moving: every background loop completes iterations) and `/ready` (plus the
//! storage answers), both with a JSON body an operator can read; and `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::app::App;
use crate::supervisor::LoopReport;

pub async fn health(State(app): State<App>) -> Response {
    let loops = app.supervisor().reports();
    let listener_down = app.listener_failing_since();
    let healthy = loops.iter().all(|report| !report.stale) && listener_down.is_none();
    let body = json!({
        "status": if healthy { "ok" } else { "stale" },
        "listener": match listener_down {
            None => json!({"ok": true}),
            Some(since) => json!({"ok": false, "failingSince": since.ms()}),
        },
        "loops": loops.iter().map(loop_json).collect::<Vec<_>>(),
        "poll": {"connections": app.registry().total_connections()},
        "stuck": app.stuck_lanes().iter().map(|stuck| json!({
            "lane": stuck.lane,
            "pending": stuck.pending,
            "oldestAgeMs": stuck.oldest_age_ms,
            "reason": stuck.reason,
        })).collect::<Vec<_>>(),
    });
    answer(healthy, body)
}

pub async fn ready(State(app): State<App>) -> Response {
    let storage = app.store().ping().await;
    let loops = app.supervisor().reports();
    let healthy = storage.is_ok() && loops.iter().all(|report| !report.stale);
    if let Err(error) = &storage {
        tracing::warn!(%error, "readiness probe: storage unavailable");
    }
    let body = json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "storage": match &storage { Ok(()) => json!("ok"), Err(error) => json!(error.to_string()) },
        "loops": loops.iter().map(loop_json).collect::<Vec<_>>(),
    });
    answer(healthy, body)
}

pub async fn metrics(State(app): State<App>) -> Response {
    let loops = app.supervisor().reports();
    let stuck = app.stuck_lanes();
    let text = app.metrics().render(&loops, app.registry().total_connections(), &stuck);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

fn loop_json(report: &LoopReport) -> Value {
    json!({
        "name": report.name,
        "lastStartedAt": report.last_started_at_ms,
        "lastCompletedAt": report.last_completed_at_ms,
        "iterations": report.iterations,
        "restarts": report.restarts,
        "stale": report.stale,
    })
}

fn answer(healthy: bool, body: Value) -> Response {
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
