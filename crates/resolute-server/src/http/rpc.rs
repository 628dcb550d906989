//! `POST /`: the RPC endpoint. Parse, execute, render — every rule lives below this file.

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use resolute_api::{ApiError, Operation, Rendered};
use resolute_core::model::{TAG_DELAY, TAG_TARGET};
use resolute_core::{Command, Timestamp};

use crate::app::App;
use crate::dispatch::backlog::Hold;

/// Answers one RPC body; `endpoint.rs` has already applied the HTTP-level limits.
pub async fn handle(app: &App, body: Bytes) -> Response {
    let envelope = match resolute_api::parse_envelope(&body, app.config().debug) {
        Ok(envelope) => envelope,
        Err(error) => return respond(error.render()),
    };
    let kind = envelope.kind().to_owned();
    let corr_id = envelope.corr_id().to_owned();
    let now = envelope.debug_time().map(Timestamp).unwrap_or_else(|| app.now());
    let started = std::time::Instant::now();
    // Step 6: after the envelope checks, before the kind is looked up (protocol §1.4). The token
    // is checked against the wall clock, never the request's debug time.
    let authorized = match &app.config().auth {
        Some(verifier) => crate::auth::check_rpc(verifier, &envelope, app.now().0),
        None => Ok(()),
    };
    let rendered = match authorized.and_then(|()| envelope.into_operation()) {
        Ok(operation) => run(app, operation, &kind, &corr_id, now).await,
        Err(error) => error.render(),
    };
    record(app, &kind, rendered.status, started.elapsed());
    respond(rendered)
}

/// Counts requests that got past the envelope checks, like the reference does.
fn record(app: &App, kind: &str, status: u16, elapsed: std::time::Duration) {
    let kind = crate::metrics::kind_label(kind);
    let metrics = app.metrics();
    metrics.requests.get_or_create(&crate::metrics::RequestLabels { kind, status }).inc();
    let labels = crate::metrics::KindLabels { kind };
    metrics.request_seconds.get_or_create(&labels).observe(elapsed.as_secs_f64());
    metrics.resonate.request_took(kind, elapsed.as_secs_f64());
}

async fn run(
    app: &App,
    operation: Operation,
    kind: &str,
    corr_id: &str,
    now: Timestamp,
) -> Rendered {
    match operation {
        Operation::Kernel(command) => {
            hold_if_workers_are_behind(app, &command).await;
            let acquiring = match &command {
                Command::TaskAcquire { id, .. } => Some(id.clone()),
                _ => None,
            };
            match app.execute(command, now).await {
                Ok(reply) => {
                    if let (Some(task), Some(dispatcher)) = (acquiring, app.dispatcher()) {
                        dispatcher.task_acquired(&task);
                    }
                    resolute_api::render(kind, corr_id, &reply)
                }
                Err(error) => ApiError::internal(kind, corr_id, &error).render(),
            }
        }
        Operation::DebugStart => {
            app.set_paused(true);
            resolute_api::render_empty(kind, corr_id)
        }
        Operation::DebugStop => {
            app.set_paused(false);
            resolute_api::render_empty(kind, corr_id)
        }
        Operation::DebugTick { time } => match app.run_timeouts(Timestamp(time)).await {
            Ok(_) => resolute_api::render_tick(kind, corr_id),
            Err(error) => ApiError::internal(kind, corr_id, &error).render(),
        },
    }
}

/// Back-pressure: a create that will queue an execute at once waits (boundedly) while its lane's
/// workers hold their share of unacquired executes. Creates by workers (inside `task.fence`) are
/// never held: they are how held work finishes.
async fn hold_if_workers_are_behind(app: &App, command: &Command) {
    let Command::PromiseCreate(create) = command else {
        return;
    };
    let Some(target) = create.tags.get(TAG_TARGET) else {
        return;
    };
    if create.tags.contains_key(TAG_DELAY) {
        return;
    }
    let Some(dispatcher) = app.dispatcher() else {
        return;
    };
    if let Hold::Waited(waited) = dispatcher.hold_create(target).await {
        app.metrics().backpressure.create_hold_seconds.observe(waited.as_secs_f64());
    }
}

fn respond(rendered: Rendered) -> Response {
    let status = StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], rendered.body).into_response()
}
