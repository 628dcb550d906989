//! Row ↔ record mapping on PostgreSQL, and which server errors mean "run the command again".

use std::collections::BTreeMap;

use postgres::error::SqlState;
use postgres::Row;
use resolute_core::txn::{TxnError, TxnErrorKind, TxnResult};
use resolute_core::{
    Callback, Message, MessageBody, Promise, PromiseState, Schedule, Task, TaskState, TaskTimer,
    TimerKind, Timestamp, Value,
};

/// Errors that a re-run resolves: a concurrent node got there first (a unique key, a lock, a
/// serialization or deadlock abort). Everything else is the database being unavailable.
pub(crate) fn sql_error(error: postgres::Error) -> TxnError {
    let conflict = [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::UNIQUE_VIOLATION,
        SqlState::LOCK_NOT_AVAILABLE,
    ];
    let kind = match error.code() {
        Some(code) if conflict.contains(code) => TxnErrorKind::Conflict,
        _ => TxnErrorKind::Unavailable,
    };
    TxnError::new(kind, error.to_string())
}

fn corrupt(message: impl Into<String>) -> TxnError {
    TxnError::new(TxnErrorKind::Corrupt, message)
}

/// One column, with a decoding failure reported as corruption rather than a panic.
fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, index: usize) -> TxnResult<T> {
    row.try_get(index).map_err(|error| corrupt(format!("column {index}: {error}")))
}

fn parse_map(text: &str) -> TxnResult<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|error| corrupt(format!("bad JSON map: {error}")))
}

fn value(headers: Option<String>, data: Option<String>) -> TxnResult<Value> {
    let headers = headers.as_deref().map(parse_map).transpose()?;
    Ok(Value { headers, data })
}

pub(crate) fn promise(row: &Row) -> TxnResult<Promise> {
    let state: String = get(row, 1)?;
    Ok(Promise {
        id: get(row, 0)?,
        state: PromiseState::parse(&state)
            .ok_or_else(|| corrupt(format!("promise state {state}")))?,
        param: value(get(row, 2)?, get(row, 3)?)?,
        value: value(get(row, 4)?, get(row, 5)?)?,
        tags: parse_map(&get::<String>(row, 6)?)?,
        timeout_at: Timestamp(get(row, 7)?),
        created_at: Timestamp(get(row, 8)?),
        settled_at: get::<Option<i64>>(row, 9)?.map(Timestamp),
    })
}

/// Columns as in SQLite's `TASK_COLUMNS`; the count is cast so it decodes as BIGINT.
pub(crate) const TASK_COLUMNS: &str = "id, state, version, timer_kind, timer_at, timer_pid, \
     timer_ttl, (SELECT COUNT(*) FROM callbacks c WHERE c.awaiter = tasks.id AND c.ready)::BIGINT, \
     lease_started_at, lease_progress_at";

pub(crate) fn task(row: &Row) -> TxnResult<Task> {
    let state: String = get(row, 1)?;
    let timer = match get::<Option<i64>>(row, 3)? {
        None => None,
        Some(code) => Some(TaskTimer {
            kind: TimerKind::from_code(code)
                .ok_or_else(|| corrupt(format!("timer kind {code}")))?,
            at: Timestamp(get(row, 4)?),
            pid: get(row, 5)?,
            ttl_ms: get::<Option<i64>>(row, 6)?.unwrap_or(0),
            started_at: get::<Option<i64>>(row, 8)?.map(Timestamp),
            progress_at: get::<Option<i64>>(row, 9)?.map(Timestamp),
        }),
    };
    Ok(Task {
        id: get(row, 0)?,
        state: TaskState::parse(&state).ok_or_else(|| corrupt(format!("task state {state}")))?,
        version: get(row, 2)?,
        timer,
        resumes: get(row, 7)?,
    })
}

pub(crate) fn schedule(row: &Row) -> TxnResult<Schedule> {
    Ok(Schedule {
        id: get(row, 0)?,
        cron: get(row, 1)?,
        promise_id: get(row, 2)?,
        promise_timeout_ms: get(row, 3)?,
        promise_param: value(get(row, 4)?, get(row, 5)?)?,
        promise_tags: parse_map(&get::<String>(row, 6)?)?,
        created_at: Timestamp(get(row, 7)?),
        next_run_at: Timestamp(get(row, 8)?),
        last_run_at: get::<Option<i64>>(row, 9)?.map(Timestamp),
    })
}

pub(crate) fn callback(row: &Row) -> TxnResult<Callback> {
    Ok(Callback { awaited: get(row, 0)?, awaiter: get(row, 1)?, ready: get(row, 2)? })
}

pub(crate) fn message(row: &Row) -> TxnResult<Message> {
    let kind: String = get(row, 0)?;
    let ref_id: String = get(row, 1)?;
    let body = match kind.as_str() {
        "execute" => MessageBody::Execute { task_id: ref_id, version: get(row, 5)? },
        "unblock" => MessageBody::Unblock { promise_id: ref_id },
        other => return Err(corrupt(format!("message kind {other}"))),
    };
    Ok(Message {
        address: get(row, 3)?,
        lane: get(row, 4)?,
        body,
        due_at: Timestamp(get(row, 6)?),
        attempts: get(row, 7)?,
        leased: get(row, 8)?,
        queued_at: Timestamp(get(row, 9)?),
    })
}

pub(crate) fn string(row: &Row) -> TxnResult<String> {
    get(row, 0)
}

pub(crate) fn lane_backlog(row: &Row) -> TxnResult<resolute_core::reply::LaneBacklog> {
    Ok(resolute_core::reply::LaneBacklog {
        lane: get(row, 0)?,
        address: get(row, 1)?,
        pending: get(row, 2)?,
        oldest_queued_at: Timestamp(get(row, 3)?),
    })
}

pub(crate) fn listener(row: &Row) -> TxnResult<resolute_core::Listener> {
    Ok(resolute_core::Listener { promise_id: get(row, 0)?, address: get(row, 1)? })
}
