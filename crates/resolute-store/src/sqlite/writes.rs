//! The writes of `Txn` on SQLite: one statement per `Write`, no conditions beyond the key.

use resolute_core::txn::TxnResult;
use resolute_core::{Promise, Schedule, Task, Write};
use rusqlite::{params, Connection};

use super::rows::{headers_json, key_columns, sql_error, tags_json};

/// Runs one cached statement with the given parameters.
fn run(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> TxnResult<()> {
    let mut statement = conn.prepare_cached(sql).map_err(sql_error)?;
    statement.execute(params).map(|_| ()).map_err(sql_error)
}

pub(crate) fn apply(conn: &Connection, write: Write) -> TxnResult<()> {
    match write {
        Write::InsertPromise(promise) => insert_promise(conn, &promise),
        Write::SettlePromise { id, state, value, settled_at } => run(
            conn,
            "UPDATE promises SET state = ?2, value_headers = ?3, value_data = ?4, settled_at = ?5 \
             WHERE id = ?1",
            params![id, state.as_str(), headers_json(&value.headers), value.data, settled_at.ms()],
        ),
        Write::InsertTask(task) => insert_task(conn, &task),
        Write::UpdateTask { id, state, version, timer } => {
            let task = Task { id, state, version, timer, resumes: 0 };
            insert_task(conn, &task)
        }
        Write::InsertCallback { awaited, awaiter, ready } => run(
            conn,
            "INSERT OR IGNORE INTO callbacks (awaited, awaiter, ready) VALUES (?1, ?2, ?3)",
            params![awaited, awaiter, ready],
        ),
        Write::MarkCallbacksReady { awaited } => {
            run(conn, "UPDATE callbacks SET ready = 1 WHERE awaited = ?1", [awaited])
        }
        Write::DeleteReadyCallbacks { awaiter } => {
            run(conn, "DELETE FROM callbacks WHERE awaiter = ?1 AND ready = 1", [awaiter])
        }
        Write::DeleteCallbacksOfAwaiter { awaiter } => {
            run(conn, "DELETE FROM callbacks WHERE awaiter = ?1", [awaiter])
        }
        Write::InsertListener { promise_id, address } => run(
            conn,
            "INSERT OR IGNORE INTO listeners (promise_id, address) VALUES (?1, ?2)",
            [promise_id, address],
        ),
        Write::DeleteListeners { promise_id } => {
            run(conn, "DELETE FROM listeners WHERE promise_id = ?1", [promise_id])
        }
        Write::InsertSchedule(schedule) => insert_schedule(conn, &schedule),
        Write::UpdateScheduleRun { id, last_run_at, next_run_at } => run(
            conn,
            "UPDATE schedules SET last_run_at = ?2, next_run_at = ?3 WHERE id = ?1",
            params![id, last_run_at.ms(), next_run_at.ms()],
        ),
        Write::DeleteSchedule { id } => run(conn, "DELETE FROM schedules WHERE id = ?1", [id]),
        Write::DeleteAll => conn
            .execute_batch(
                "DELETE FROM promises; DELETE FROM tasks; DELETE FROM callbacks; \
                 DELETE FROM listeners; DELETE FROM outbox; DELETE FROM schedules;",
            )
            .map_err(sql_error),
        message_write => apply_message(conn, message_write),
    }
}

fn apply_message(conn: &Connection, write: Write) -> TxnResult<()> {
    match write {
        Write::PutExecute { task_id, version, address, lane, due_at } => run(
            conn,
            "INSERT INTO outbox (kind, ref_id, addr_key, address, lane, version, due_at, \
             attempts, leased, queued_at) VALUES ('execute', ?1, '', ?2, ?3, ?4, ?5, 0, 0, ?5) \
             ON CONFLICT (kind, ref_id, addr_key) DO UPDATE SET address = excluded.address, \
             lane = excluded.lane, version = excluded.version, due_at = excluded.due_at, \
             attempts = 0, leased = 0",
            params![task_id, address, lane, version, due_at.ms()],
        ),
        Write::PutUnblock { promise_id, address, lane, due_at } => run(
            conn,
            "INSERT OR IGNORE INTO outbox (kind, ref_id, addr_key, address, lane, version, \
             due_at, attempts, leased, queued_at) VALUES ('unblock', ?1, ?2, ?2, ?3, 0, ?4, 0, 0, ?4)",
            params![promise_id, address, lane, due_at.ms()],
        ),
        Write::LeaseMessage { key, due_at, attempts } => {
            let (kind, ref_id, addr_key) = key_columns(&key);
            run(
                conn,
                "UPDATE outbox SET due_at = ?4, attempts = ?5, leased = 1 \
                 WHERE kind = ?1 AND ref_id = ?2 AND addr_key = ?3",
                params![kind, ref_id, addr_key, due_at.ms(), attempts],
            )
        }
        Write::DelayMessage { key, due_at } => {
            let (kind, ref_id, addr_key) = key_columns(&key);
            run(
                conn,
                "UPDATE outbox SET due_at = ?4, leased = 0 WHERE kind = ?1 AND ref_id = ?2 AND addr_key = ?3",
                params![kind, ref_id, addr_key, due_at.ms()],
            )
        }
        Write::DeleteMessage { key } => {
            let (kind, ref_id, addr_key) = key_columns(&key);
            run(
                conn,
                "DELETE FROM outbox WHERE kind = ?1 AND ref_id = ?2 AND addr_key = ?3",
                params![kind, ref_id, addr_key],
            )
        }
        Write::WakeLanes { lanes, now } => {
            for lane in lanes {
                run(
                    conn,
                    "UPDATE outbox SET due_at = ?2 WHERE lane = ?1 AND leased = 0 AND due_at > ?2",
                    params![lane, now.ms()],
                )?;
            }
            Ok(())
        }
        Write::ReleaseLeases { now } => {
            run(conn, "UPDATE outbox SET leased = 0, due_at = ?1 WHERE leased = 1", [now.ms()])
        }
        other => unreachable_write(other),
    }
}

/// `apply` routes every row write itself; reaching here means a new variant was not mapped.
fn unreachable_write(write: Write) -> TxnResult<()> {
    Err(resolute_core::TxnError::new(
        resolute_core::TxnErrorKind::Corrupt,
        format!("write not mapped to SQL: {write:?}"),
    ))
}

fn insert_promise(conn: &Connection, promise: &Promise) -> TxnResult<()> {
    run(
        conn,
        "INSERT OR REPLACE INTO promises (id, state, param_headers, param_data, value_headers, \
         value_data, tags, branch, timeout_at, created_at, settled_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            promise.id,
            promise.state.as_str(),
            headers_json(&promise.param.headers),
            promise.param.data,
            headers_json(&promise.value.headers),
            promise.value.data,
            tags_json(&promise.tags),
            promise.branch(),
            promise.timeout_at.ms(),
            promise.created_at.ms(),
            promise.settled_at.map(|at| at.ms()),
        ],
    )
}

fn insert_task(conn: &Connection, task: &Task) -> TxnResult<()> {
    let timer = task.timer.as_ref();
    run(
        conn,
        "INSERT OR REPLACE INTO tasks (id, state, version, timer_kind, timer_at, timer_pid, \
         timer_ttl, lease_started_at, lease_progress_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            task.id,
            task.state.as_str(),
            task.version,
            timer.map(|timer| timer.kind.code()),
            timer.map(|timer| timer.at.ms()),
            timer.and_then(|timer| timer.pid.clone()),
            timer.map(|timer| timer.ttl_ms),
            timer.and_then(|timer| timer.started_at).map(|at| at.ms()),
            timer.and_then(|timer| timer.progress_at).map(|at| at.ms()),
        ],
    )
}

fn insert_schedule(conn: &Connection, schedule: &Schedule) -> TxnResult<()> {
    run(
        conn,
        "INSERT OR REPLACE INTO schedules (id, cron, promise_id, promise_timeout, \
         promise_param_headers, promise_param_data, promise_tags, created_at, next_run_at, last_run_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            schedule.id,
            schedule.cron,
            schedule.promise_id,
            schedule.promise_timeout_ms,
            headers_json(&schedule.promise_param.headers),
            schedule.promise_param.data,
            tags_json(&schedule.promise_tags),
            schedule.created_at.ms(),
            schedule.next_run_at.ms(),
            schedule.last_run_at.map(|at| at.ms()),
        ],
    )
}
