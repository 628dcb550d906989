//! Row ↔ record mapping: enum ↔ TEXT, JSON columns, message keys. Unknown text is `Corrupt`.

use std::collections::BTreeMap;

use resolute_core::txn::{TxnError, TxnErrorKind, TxnResult};
use resolute_core::{
    MessageKey, Promise, PromiseState, Schedule, Tags, Task, TaskState, TaskTimer, TimerKind,
    Timestamp, Value,
};
use rusqlite::{ErrorCode, Row};

/// A locked database means another connection is writing: the command may simply run again.
pub(crate) fn sql_error(error: rusqlite::Error) -> TxnError {
    let kind = match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => TxnErrorKind::Conflict,
        _ => TxnErrorKind::Unavailable,
    };
    TxnError::new(kind, error.to_string())
}

fn corrupt(message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, message.into())
}

pub(crate) fn headers_json(headers: &Option<BTreeMap<String, String>>) -> Option<String> {
    headers.as_ref().map(|headers| serde_json::to_string(headers).unwrap_or_default())
}

pub(crate) fn tags_json(tags: &Tags) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".to_owned())
}

fn parse_map(text: &str) -> rusqlite::Result<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|error| corrupt(format!("bad JSON map: {error}")))
}

fn value(headers: Option<String>, data: Option<String>) -> rusqlite::Result<Value> {
    let headers = headers.as_deref().map(parse_map).transpose()?;
    Ok(Value { headers, data })
}

/// Columns: id, state, param_headers, param_data, value_headers, value_data, tags, timeout_at,
/// created_at, settled_at.
pub(crate) const PROMISE_COLUMNS: &str = "id, state, param_headers, param_data, value_headers, \
     value_data, tags, timeout_at, created_at, settled_at";

pub(crate) fn promise(row: &Row<'_>) -> rusqlite::Result<Promise> {
    let state: String = row.get(1)?;
    Ok(Promise {
        id: row.get(0)?,
        state: PromiseState::parse(&state)
            .ok_or_else(|| corrupt(format!("promise state {state}")))?,
        param: value(row.get(2)?, row.get(3)?)?,
        value: value(row.get(4)?, row.get(5)?)?,
        tags: parse_map(&row.get::<_, String>(6)?)?,
        timeout_at: Timestamp(row.get(7)?),
        created_at: Timestamp(row.get(8)?),
        settled_at: row.get::<_, Option<i64>>(9)?.map(Timestamp),
    })
}

/// Columns: id, state, version, timer_kind, timer_at, timer_pid, timer_ttl, resumes,
/// lease_started_at, lease_progress_at.
pub(crate) const TASK_COLUMNS: &str = "id, state, version, timer_kind, timer_at, timer_pid, \
     timer_ttl, (SELECT COUNT(*) FROM callbacks c WHERE c.awaiter = tasks.id AND c.ready = 1), \
     lease_started_at, lease_progress_at";

pub(crate) fn task(row: &Row<'_>) -> rusqlite::Result<Task> {
    let state: String = row.get(1)?;
    let timer = match row.get::<_, Option<i64>>(3)? {
        None => None,
        Some(code) => Some(TaskTimer {
            kind: TimerKind::from_code(code)
                .ok_or_else(|| corrupt(format!("timer kind {code}")))?,
            at: Timestamp(row.get(4)?),
            pid: row.get(5)?,
            ttl_ms: row.get::<_, Option<i64>>(6)?.unwrap_or(0),
            started_at: row.get::<_, Option<i64>>(8)?.map(Timestamp),
            progress_at: row.get::<_, Option<i64>>(9)?.map(Timestamp),
        }),
    };
    Ok(Task {
        id: row.get(0)?,
        state: TaskState::parse(&state).ok_or_else(|| corrupt(format!("task state {state}")))?,
        version: row.get(2)?,
        timer,
        resumes: row.get(7)?,
    })
}

/// Columns: id, cron, promise_id, promise_timeout, promise_param_headers, promise_param_data,
/// promise_tags, created_at, next_run_at, last_run_at.
pub(crate) const SCHEDULE_COLUMNS: &str = "id, cron, promise_id, promise_timeout, \
     promise_param_headers, promise_param_data, promise_tags, created_at, next_run_at, last_run_at";

pub(crate) fn schedule(row: &Row<'_>) -> rusqlite::Result<Schedule> {
    Ok(Schedule {
        id: row.get(0)?,
        cron: row.get(1)?,
        promise_id: row.get(2)?,
        promise_timeout_ms: row.get(3)?,
        promise_param: value(row.get(4)?, row.get(5)?)?,
        promise_tags: parse_map(&row.get::<_, String>(6)?)?,
        created_at: Timestamp(row.get(7)?),
        next_run_at: Timestamp(row.get(8)?),
        last_run_at: row.get::<_, Option<i64>>(9)?.map(Timestamp),
    })
}

/// Columns: kind, ref_id, addr_key, address, lane, version, due_at, attempts, leased, queued_at.
pub(crate) const MESSAGE_COLUMNS: &str =
    "kind, ref_id, addr_key, address, lane, version, due_at, attempts, leased, queued_at";

pub(crate) fn message(row: &Row<'_>) -> rusqlite::Result<resolute_core::Message> {
    let kind: String = row.get(0)?;
    let ref_id: String = row.get(1)?;
    let body = match kind.as_str() {
        "execute" => resolute_core::MessageBody::Execute { task_id: ref_id, version: row.get(5)? },
        "unblock" => resolute_core::MessageBody::Unblock { promise_id: ref_id },
        other => return Err(corrupt(format!("message kind {other}"))),
    };
    Ok(resolute_core::Message {
        address: row.get(3)?,
        lane: row.get(4)?,
        body,
        due_at: Timestamp(row.get(6)?),
        attempts: row.get(7)?,
        leased: row.get::<_, i64>(8)? != 0,
        queued_at: Timestamp(row.get(9)?),
    })
}

/// The primary key columns (kind, ref_id, addr_key) of a message key.
pub(crate) fn key_columns(key: &MessageKey) -> (&'static str, &str, &str) {
    match key {
        MessageKey::Execute(task_id) => ("execute", task_id, ""),
        MessageKey::Unblock(promise_id, address) => ("unblock", promise_id, address),
    }
}

/// Maps a row-decoding failure to `Corrupt` and anything else to `Unavailable`.
pub(crate) fn read_error(error: rusqlite::Error) -> TxnError {
    match error {
        rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..) => {
            TxnError::new(TxnErrorKind::Corrupt, error.to_string())
        }
        other => sql_error(other),
    }
}

pub(crate) fn collect<T>(
    rows: rusqlite::MappedRows<'_, impl FnMut(&Row<'_>) -> rusqlite::Result<T>>,
) -> TxnResult<Vec<T>> {
    rows.collect::<rusqlite::Result<Vec<T>>>().map_err(read_error)
}
