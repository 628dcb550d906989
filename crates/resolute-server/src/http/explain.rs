//! `GET /explain/{id}`: the plain-words account of one promise and its task, as JSON.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use resolute_api::AuthResource;
use resolute_core::model::Task;
use resolute_core::reply::{PromiseReply, TaskGetReply};
use resolute_core::{Command, MessageKey, Reply};
use serde_json::{json, Value};

use crate::app::App;
use crate::explain::{explain as account, Facts};

pub async fn explain(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    // The account shows a promise's state and its task: the same rule as `promise.get` on `id`.
    if let Some(verifier) = &app.config().auth {
        match crate::auth::check_bearer(verifier, &headers, app.now().0) {
            Err(_) => return answer(StatusCode::UNAUTHORIZED, json!({"error": "Unauthorized"})),
            Ok(claims) if !claims.permits(&AuthResource::Ids(vec![id.clone()])) => {
                return answer(StatusCode::FORBIDDEN, json!({"error": "Forbidden"}));
            }
            Ok(_) => {}
        }
    }
    match build(&app, &id).await {
        Ok(Some(body)) => answer(StatusCode::OK, body),
        Ok(None) => answer(StatusCode::NOT_FOUND, json!({"error": format!("no promise `{id}`")})),
        Err(error) => answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": error})),
    }
}

async fn build(app: &App, id: &str) -> Result<Option<Value>, String> {
    let now = app.now();
    let run =
        |command| async { app.execute(command, now).await.map_err(|error| error.to_string()) };
    let Reply::PromiseGet(PromiseReply::Found(promise)) =
        run(Command::PromiseGet { id: id.into() }).await?
    else {
        return Ok(None);
    };
    let task = match run(Command::TaskGet { id: id.into() }).await? {
        Reply::TaskGet(TaskGetReply::Found(task)) => Some(task),
        _ => None,
    };
    let key = MessageKey::Execute(id.to_owned());
    let message = match run(Command::OutboxMessage { key }).await? {
        Reply::OutboxMessage(message) => message,
        _ => None,
    };
    let blockage = message.as_ref().and_then(|message| {
        app.dispatcher().and_then(|dispatcher| dispatcher.blockage(&message.lane, &message.address))
    });
    let facts =
        Facts { promise: &promise, task: task.as_ref(), message: message.as_ref(), blockage, now };
    Ok(Some(json!({
        "id": id,
        "promise": {"state": promise.state.as_str(), "timeoutAt": promise.timeout_at.ms()},
        "task": task.as_ref().map(task_json),
        "message": message.as_ref().map(|message| json!({
            "address": message.address,
            "lane": message.lane,
            "attempts": message.attempts,
            "leased": message.leased,
            "dueAt": message.due_at.ms(),
            "queuedAt": message.queued_at.ms(),
        })),
        "blockage": blockage,
        "explanation": account(&facts),
    })))
}

/// The task's state, and for a held lease who holds it, since when, its last progress and its end
/// (epoch ms). Explain only: `task.get` keeps the protocol's record (§2.3).
fn task_json(task: &Task) -> Value {
    let mut body = json!({"state": task.state.as_str(), "version": task.version});
    if let Some(lease) = task.lease() {
        body["lease"] = json!({
            "pid": lease.pid,
            "startedAt": lease.started_at.map(|at| at.ms()),
            "lastProgressAt": lease.progress_at.map(|at| at.ms()),
            "expiresAt": lease.at.ms(),
            "ttl": lease.ttl_ms,
        });
    }
    body
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
