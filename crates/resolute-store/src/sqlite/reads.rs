//! The reads of `Txn` on SQLite: filters and orders only, each with its documented bound.

use std::sync::LazyLock;

use resolute_core::command::{DueFilter, PromiseQuery, ScheduleQuery, TaskQuery};
use resolute_core::reply::Snapshot;
use resolute_core::txn::TxnResult;
use resolute_core::{
    Callback, Listener, Message, MessageKey, Promise, Schedule, Task, TimerKind, Timestamp,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::rows::{
    self, collect, read_error, MESSAGE_COLUMNS, PROMISE_COLUMNS, SCHEDULE_COLUMNS, TASK_COLUMNS,
};

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The point lookups every request makes, built once: formatting the SQL on each call cost ~700
/// instructions a lookup (callgrind, loadgen `promises`).
static PROMISE_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {PROMISE_COLUMNS} FROM promises WHERE id = ?1"));
static TASK_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"));
static SCHEDULE_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ?1"));
static MESSAGE_BY_KEY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE kind = ?1 AND ref_id = ?2 AND addr_key = ?3"
    )
});

pub(crate) fn promise(conn: &Connection, id: &str) -> TxnResult<Option<Promise>> {
    let mut statement = conn.prepare_cached(&PROMISE_BY_ID).map_err(read_error)?;
    statement.query_row([id], rows::promise).optional().map_err(read_error)
}

pub(crate) fn task(conn: &Connection, id: &str) -> TxnResult<Option<Task>> {
    let mut statement = conn.prepare_cached(&TASK_BY_ID).map_err(read_error)?;
    statement.query_row([id], rows::task).optional().map_err(read_error)
}

fn callback_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Callback> {
    Ok(Callback { awaited: row.get(0)?, awaiter: row.get(1)?, ready: row.get::<_, i64>(2)? != 0 })
}

pub(crate) fn callback(
    conn: &Connection,
    awaited: &str,
    awaiter: &str,
) -> TxnResult<Option<Callback>> {
    let sql = "SELECT awaited, awaiter, ready FROM callbacks WHERE awaited = ?1 AND awaiter = ?2";
    let mut statement = conn.prepare_cached(sql).map_err(read_error)?;
    statement.query_row([awaited, awaiter], callback_row).optional().map_err(read_error)
}

/// Complete by contract: a settlement must see every waiter in the same transaction.
pub(crate) fn callbacks_on(conn: &Connection, awaited: &str) -> TxnResult<Vec<Callback>> {
    let sql = "SELECT awaited, awaiter, ready FROM callbacks WHERE awaited = ?1 ORDER BY awaiter";
    let mut statement = conn.prepare_cached(sql).map_err(read_error)?;
    let rows = statement.query_map([awaited], callback_row).map_err(read_error)?;
    collect(rows)
}

/// Complete by contract: every listener fires once.
pub(crate) fn listeners(conn: &Connection, promise_id: &str) -> TxnResult<Vec<String>> {
    let sql = "SELECT address FROM listeners WHERE promise_id = ?1 ORDER BY address";
    let mut statement = conn.prepare_cached(sql).map_err(read_error)?;
    let rows = statement.query_map([promise_id], |row| row.get(0)).map_err(read_error)?;
    collect(rows)
}

/// Complete by contract: preload is the whole branch.
pub(crate) fn branch_promises(conn: &Connection, branch: &str) -> TxnResult<Vec<Promise>> {
    let sql = format!("SELECT {PROMISE_COLUMNS} FROM promises WHERE branch = ?1 ORDER BY id");
    let mut statement = conn.prepare_cached(&sql).map_err(read_error)?;
    let rows = statement.query_map([branch], rows::promise).map_err(read_error)?;
    collect(rows)
}

pub(crate) fn expired_promises(
    conn: &Connection,
    now: Timestamp,
    limit: usize,
) -> TxnResult<Vec<Promise>> {
    let sql = format!(
        "SELECT {PROMISE_COLUMNS} FROM promises WHERE state = 'pending' AND timeout_at <= ?1 \
         ORDER BY timeout_at, id LIMIT ?2"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(read_error)?;
    let rows = statement
        .query_map(params![now.ms(), limit_of(limit)], rows::promise)
        .map_err(read_error)?;
    collect(rows)
}

pub(crate) fn due_tasks(
    conn: &Connection,
    kind: TimerKind,
    now: Timestamp,
    limit: usize,
) -> TxnResult<Vec<Task>> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE timer_kind = ?1 AND timer_at <= ?2 \
         ORDER BY timer_at, id LIMIT ?3"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(read_error)?;
    let rows = statement
        .query_map(params![kind.code(), now.ms(), limit_of(limit)], rows::task)
        .map_err(read_error)?;
    collect(rows)
}

pub(crate) fn schedule(conn: &Connection, id: &str) -> TxnResult<Option<Schedule>> {
    let mut statement = conn.prepare_cached(&SCHEDULE_BY_ID).map_err(read_error)?;
    statement.query_row([id], rows::schedule).optional().map_err(read_error)
}

pub(crate) fn due_schedules(
    conn: &Connection,
    now: Timestamp,
    limit: usize,
) -> TxnResult<Vec<Schedule>> {
    let sql = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE next_run_at <= ?1 \
         ORDER BY next_run_at, id LIMIT ?2"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(read_error)?;
    let rows = statement
        .query_map(params![now.ms(), limit_of(limit)], rows::schedule)
        .map_err(read_error)?;
    collect(rows)
}

/// Builds `WHERE` clauses for a tag subset on a JSON column: each pair must be present.
fn tag_filters(
    column: &str,
    tags: &resolute_core::Tags,
    clauses: &mut Vec<String>,
    values: &mut Vec<SqlValue>,
) {
    for (key, value) in tags {
        let first = values.len() + 1;
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM json_each({column}) WHERE key = ?{first} AND value = ?{})",
            first + 1
        ));
        values.push(SqlValue::Text(key.clone()));
        values.push(SqlValue::Text(value.clone()));
    }
}

fn cursor_filter(cursor: &Option<String>, clauses: &mut Vec<String>, values: &mut Vec<SqlValue>) {
    if let Some(cursor) = cursor {
        values.push(SqlValue::Text(cursor.clone()));
        clauses.push(format!("id > ?{}", values.len()));
    }
}

fn where_sql(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}

pub(crate) fn search_promises(conn: &Connection, query: &PromiseQuery) -> TxnResult<Vec<Promise>> {
    let (mut clauses, mut values) = (Vec::new(), Vec::new());
    if let Some(state) = query.state {
        values.push(SqlValue::Text(state.as_str().to_owned()));
        clauses.push(format!("state = ?{}", values.len()));
    }
    tag_filters("tags", &query.tags, &mut clauses, &mut values);
    cursor_filter(&query.page.cursor, &mut clauses, &mut values);
    values.push(SqlValue::Integer(limit_of(query.page.limit)));
    let sql = format!(
        "SELECT {PROMISE_COLUMNS} FROM promises {} ORDER BY id LIMIT ?{}",
        where_sql(&clauses),
        values.len()
    );
    let mut statement = conn.prepare_cached(&sql).map_err(read_error)?;
    let rows = statement.query_map(params_from_iter(values), rows::promise).map_err(read_error)?;
    collect(rows)
}

pub(crate) fn search_tasks(conn: &Connection, query: &TaskQuery) -> TxnResult<Vec<Task>> {
    let (mut clauses, mut values) = (Vec::new(), Vec::new());
    if let Some(state) = query.state {
        values.push(SqlValue::Text(state.as_str().to_owned()));
        clauses.push(format!("state = ?{}", values.len()));
    }
    cursor_filter(&query.page.cursor, &mut clauses, &mut values);
    values.push(SqlValue::Integer(limit_of(query.page.limit)));
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks {} ORDER BY id LIMIT ?{}",
        where_sql(&clauses),
        values.len()
    );
    let mut statement = conn.prepare_cached(&sql).map_err(read_error)?;
    let rows = statement.query_map(params_from_iter(values), rows::task).map_err(read_error)?;
    collect(rows)
}

pub(crate) fn search_schedules(
    conn: &Connection,
    query: &ScheduleQuery,
) -> TxnResult<Vec<Schedule>> {
    let (mut clauses, mut values) = (Vec::new(), Vec::new());
    tag_filters("promise_tags", &query.tags, &mut clauses, &mut values);
    cursor_filter(&query.page.cursor, &mut clauses, &mut values);
    values.push(SqlValue::Integer(limit_of(query.page.limit)));
    let sql = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules {} ORDER BY id LIMIT ?{}",
        where_sql(&clauses),
        values.len()
    );
    let mut statement = conn.prepare_cached(&sql).map_err(read_error)?;
    let rows = statement.query_map(params_from_iter(values), rows::schedule).map_err(read_error)?;
    collect(rows)
}

pub(crate) fn due_messages(
    conn: &Connection,
    now: Timestamp,
    limit: usize,
    lanes: &DueFilter,
) -> TxnResult<Vec<Message>> {
    let (filter, served) = match lanes {
        DueFilter::All => ("", String::new()),
        DueFilter::PollLanesOnly(served) => (
            "AND (lane NOT LIKE 'poll:%' OR lane IN (SELECT value FROM json_each(?3)))",
            serde_json::to_string(served).unwrap_or_else(|_| "[]".into()),
        ),
    };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE due_at <= ?1 {filter} \
         ORDER BY due_at, kind, ref_id, addr_key LIMIT ?2"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(read_error)?;
    let found = if filter.is_empty() {
        collect(
            statement
                .query_map(params![now.ms(), limit_of(limit)], rows::message)
                .map_err(read_error)?,
        )
    } else {
        collect(
            statement
                .query_map(params![now.ms(), limit_of(limit), served], rows::message)
                .map_err(read_error)?,
        )
    };
    found
}

pub(crate) fn message(conn: &Connection, key: &MessageKey) -> TxnResult<Option<Message>> {
    let (kind, ref_id, addr_key) = rows::key_columns(key);
    let mut statement = conn.prepare_cached(&MESSAGE_BY_KEY).map_err(read_error)?;
    statement.query_row([kind, ref_id, addr_key], rows::message).optional().map_err(read_error)
}

/// Backlog per lane. Scans the outbox (small in a healthy system); the answer is bounded.
pub(crate) fn lane_backlogs(
    conn: &Connection,
    limit: usize,
) -> TxnResult<Vec<resolute_core::reply::LaneBacklog>> {
    let sql = "SELECT lane, MIN(address), COUNT(*), MIN(queued_at) FROM outbox GROUP BY lane \
               ORDER BY MIN(queued_at), lane LIMIT ?1";
    let mut statement = conn.prepare_cached(sql).map_err(read_error)?;
    let rows = statement
        .query_map([limit_of(limit)], |row| {
            Ok(resolute_core::reply::LaneBacklog {
                lane: row.get(0)?,
                address: row.get(1)?,
                pending: row.get(2)?,
                oldest_queued_at: Timestamp(row.get(3)?),
            })
        })
        .map_err(read_error)?;
    collect(rows)
}

/// Every row a statement yields (snapshots only).
fn all<T>(
    conn: &Connection,
    sql: &str,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> TxnResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(read_error)?;
    let rows = statement.query_map([], map).map_err(read_error)?;
    collect(rows)
}

/// Everything, for `debug.snap` and invariant checks (debug mode and tests only).
pub(crate) fn snapshot(conn: &Connection) -> TxnResult<Snapshot> {
    let listener =
        |row: &rusqlite::Row<'_>| Ok(Listener { promise_id: row.get(0)?, address: row.get(1)? });
    Ok(Snapshot {
        promises: all(
            conn,
            &format!("SELECT {PROMISE_COLUMNS} FROM promises ORDER BY id"),
            rows::promise,
        )?,
        tasks: all(conn, &format!("SELECT {TASK_COLUMNS} FROM tasks ORDER BY id"), rows::task)?,
        callbacks: all(
            conn,
            "SELECT awaited, awaiter, ready FROM callbacks ORDER BY awaited, awaiter",
            callback_row,
        )?,
        listeners: all(
            conn,
            "SELECT promise_id, address FROM listeners ORDER BY promise_id, address",
            listener,
        )?,
        messages: all(
            conn,
            &format!("SELECT {MESSAGE_COLUMNS} FROM outbox ORDER BY kind, ref_id, addr_key"),
            rows::message,
        )?,
        schedules: all(
            conn,
            &format!("SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY id"),
            rows::schedule,
        )?,
    })
}
