//! `/health` (work is moving: every background loop completes iterations) and `/ready` (plus the
//! storage answers), both with a JSON body an operator can read; and `/metrics`.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use resolute_core::address::Address;
use resolute_core::{Command, Reply};
use serde_json::{json, Value};

use crate::app::App;
use crate::metrics::{DeliveryLabels, ListenerLabels, ListenerReasonLabels, Metrics};
use crate::supervisor::LoopReport;

/// How long `/health?queues=1` waits for the outbox backlog before answering without it.
const QUEUES_READ_TIMEOUT: Duration = Duration::from_millis(500);
/// Lanes listed by `/health?queues=1`, oldest backlog first (the stuck detector's bound too).
const QUEUES_LISTED_MAX: usize = 100;

/// What `/health` says of a lane to a caller not shown lane names.
const HIDDEN_LANE: &str = "(lane name needs a token for every id)";

pub async fn health(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let loops = app.supervisor().reports();
    let listener_down = app.listener_failing_since();
    let healthy = loops.iter().all(|report| !report.stale) && listener_down.is_none();
    // The probe stays open with auth on, but poll groups and push origins are the deployment's
    // own names: only a token that may see every id is shown them.
    let named = match &app.config().auth {
        None => true,
        Some(verifier) => crate::auth::check_bearer(verifier, &headers, app.now().0)
            .is_ok_and(|claims| claims.sees_everything()),
    };
    let lane_name = |lane: &str| if named { lane.to_owned() } else { HIDDEN_LANE.to_owned() };
    let groups: Vec<Value> = match named {
        true => app
            .registry()
            .connections_by_group()
            .into_iter()
            .map(|(group, connections)| json!({"group": group, "connections": connections}))
            .collect(),
        false => Vec::new(),
    };
    let mut body = json!({
        "status": if healthy { "ok" } else { "stale" },
        "listener": listener_json(&app, listener_down),
        "runtime": runtime_json(&app),
        "loops": loops.iter().map(loop_json).collect::<Vec<_>>(),
        // The server's own clock, so a dashboard can turn the timestamps above into ages.
        "now": app.now().ms(),
        "deliveries": deliveries_json(app.metrics()),
        "poll": {"connections": app.registry().total_connections(), "groups": groups},
        // Executes out at workers, not yet acquired: what holds creates back when it is high.
        "unacquiredExecutes": app.dispatcher().map_or(0, |d| d.backlog().out_total(app.now())),
        "stuck": app.stuck_lanes().iter().map(|stuck| json!({
            "lane": lane_name(&stuck.lane),
            "pending": stuck.pending,
            "oldestAgeMs": stuck.oldest_age_ms,
            "reason": stuck.reason,
        })).collect::<Vec<_>>(),
    });
    // Opt-in: the plain probe must never wait on the store (that is `/ready`'s question).
    if query.is_some_and(|query| query.split('&').any(|pair| pair == "queues=1")) {
        body["queues"] = if named { queues_json(&app).await } else { json!([]) };
    }
    if !named {
        body["namesHidden"] = json!(true);
    }
    answer(healthy, body)
}

/// The API listener: answering or failing since when, its open connections and accept errors.
fn listener_json(app: &App, failing_since: Option<resolute_core::Timestamp>) -> Value {
    let metrics = &app.metrics().listeners;
    let open = metrics.open.get(&ListenerLabels { listener: "api" }).map_or(0, |gauge| gauge.get());
    let accept_errors: u64 = ["fd_exhausted", "memory", "other"]
        .into_iter()
        .map(|reason| ListenerReasonLabels { listener: "api", reason })
        .map(|labels| metrics.accept_errors.get(&labels).map_or(0, |counter| counter.get()))
        .sum();
    let mut listener = json!({
        "ok": failing_since.is_none(),
        "openConnections": open,
        "maxConnections": app.config().listener.max_connections,
        "acceptErrors": accept_errors,
    });
    if let Some(since) = failing_since {
        listener["failingSince"] = json!(since.ms());
    }
    listener
}

/// The runtime's threads and its stalls since start (a stall in progress cannot be answered
/// from: the watch logs it, and ends the process past `--server-stall-exit-ms`).
fn runtime_json(app: &App) -> Value {
    let watch = app.runtime_watch();
    json!({
        "threads": tokio::runtime::Handle::current().metrics().num_workers(),
        "stalls": watch.map_or(0, |watch| watch.stalls()),
        "longestStallMs": watch.map_or(0, |watch| watch.longest_stall_ms()),
    })
}

/// Cumulative delivery outcomes since start, summed over transports; a dashboard derives rates.
fn deliveries_json(metrics: &Metrics) -> Value {
    // The transports `Dispatcher::record_outcome` labels with.
    let count = |outcome: &'static str| -> u64 {
        ["poll", "http"]
            .into_iter()
            .map(|transport| DeliveryLabels { transport, outcome })
            .map(|labels| metrics.deliveries.get(&labels).map_or(0, |counter| counter.get()))
            .sum()
    };
    json!({"delivered": count("delivered"), "failed": count("failed")})
}

/// Every lane with undelivered messages (stuck or not): backlog, age, the poll connections able
/// to take it (`null` for push lanes) and what blocks it now, if anything. `null` when the store
/// does not answer in time, so a slow store slows this view, never the probe.
async fn queues_json(app: &App) -> Value {
    let command = Command::OutboxBacklog { limit: QUEUES_LISTED_MAX };
    let backlogs =
        match tokio::time::timeout(QUEUES_READ_TIMEOUT, app.execute(command, app.now())).await {
            Ok(Ok(Reply::OutboxBacklog(backlogs))) => backlogs,
            _ => return Value::Null,
        };
    let now = app.now().ms();
    let dispatcher = app.dispatcher();
    let lanes = backlogs.iter().map(|backlog| {
        let workers = match Address::parse(&backlog.address) {
            Some(Address::Poll { cast, group, id }) => {
                json!(app.registry().connections(&group, cast, id.as_deref()))
            }
            _ => Value::Null,
        };
        json!({
            "lane": backlog.lane,
            "pending": backlog.pending,
            "oldestAgeMs": now.saturating_sub(backlog.oldest_queued_at.ms()),
            "workers": workers,
            "unacquired": dispatcher.map_or(0, |d| d.backlog().out(&backlog.lane, app.now())),
            "blocked": dispatcher.and_then(|d| d.blockage(&backlog.lane, &backlog.address)),
        })
    });
    Value::Array(lanes.collect())
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
    let scrape = scrape(&app).await;
    let text = app.metrics().render(&loops, app.registry().total_connections(), &stuck, &scrape);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The figures a scrape reads: the outbox per lane (bounded in time: a slow store must not hang
/// the scrape), and the process's RSS, open fds and tokio tasks.
async fn scrape(app: &App) -> crate::metrics::Scrape {
    let command = Command::OutboxBacklog { limit: QUEUES_LISTED_MAX };
    let backlogs =
        match tokio::time::timeout(QUEUES_READ_TIMEOUT, app.execute(command, app.now())).await {
            Ok(Ok(Reply::OutboxBacklog(backlogs))) => Some(backlogs),
            _ => None,
        };
    let (resident_bytes, open_fds) = crate::process::figures();
    if let Some(dispatcher) = app.dispatcher() {
        let unacquired =
            i64::try_from(dispatcher.backlog().out_total(app.now())).unwrap_or(i64::MAX);
        app.metrics().backpressure.executes_unacquired.set(unacquired);
    }
    crate::metrics::Scrape {
        now_ms: app.now().ms(),
        backlogs,
        resident_bytes,
        open_fds,
        alive_tasks: tokio::runtime::Handle::current().metrics().num_alive_tasks(),
        runtime_stalls: app.runtime_watch().map_or(0, |watch| watch.stalls()),
        runtime_longest_stall_ms: app.runtime_watch().map_or(0, |watch| watch.longest_stall_ms()),
    }
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
