//! The writes of `Txn` on PostgreSQL: one statement per `Write`, no conditions beyond the key.
//!
//! Inserts of new records are plain `INSERT`s: when two nodes create the same id at once, the
//! second gets a unique violation, which is a conflict, so its command runs again and the kernel
//! then sees the first node's row (deduplication stays a kernel rule, not an upsert's accident).

use resolute_core::txn::TxnResult;
use resolute_core::{Promise, Schedule, Task, Write};

use super::PgTxn;
use crate::sqlite::rows::{headers_json, key_columns, tags_json};

impl PgTxn<'_, '_> {
    pub(crate) fn apply(&self, write: Write) -> TxnResult<()> {
        match write {
            Write::InsertPromise(promise) => self.insert_promise(&promise),
            Write::SettlePromise { id, state, value, settled_at } => self.run(
                "UPDATE promises SET state = $2, value_headers = $3, value_data = $4, \
                 settled_at = $5 WHERE id = $1",
                &[&id, &state.as_str(), &headers_json(&value.headers), &value.data, &settled_at.ms()],
            ),
            Write::InsertTask(task) => self.put_task(&task, "INSERT"),
            Write::UpdateTask { id, state, version, timer } => {
                self.put_task(&Task { id, state, version, timer, resumes: 0 }, "UPSERT")
            }
            Write::InsertCallback { awaited, awaiter, ready } => self.run(
                "INSERT INTO callbacks (awaited, awaiter, ready) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&awaited, &awaiter, &ready],
            ),
            Write::MarkCallbacksReady { awaited } => {
                self.run("UPDATE callbacks SET ready = TRUE WHERE awaited = $1", &[&awaited])
            }
            Write::DeleteReadyCallbacks { awaiter } => {
                self.run("DELETE FROM callbacks WHERE awaiter = $1 AND ready", &[&awaiter])
            }
            Write::DeleteCallbacksOfAwaiter { awaiter } => {
                self.run("DELETE FROM callbacks WHERE awaiter = $1", &[&awaiter])
            }
            Write::InsertListener { promise_id, address } => self.run(
                "INSERT INTO listeners (promise_id, address) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&promise_id, &address],
            ),
            Write::DeleteListeners { promise_id } => {
                self.run("DELETE FROM listeners WHERE promise_id = $1", &[&promise_id])
            }
            Write::InsertSchedule(schedule) => self.insert_schedule(&schedule),
            Write::UpdateScheduleRun { id, last_run_at, next_run_at } => self.run(
                "UPDATE schedules SET last_run_at = $2, next_run_at = $3 WHERE id = $1",
                &[&id, &last_run_at.ms(), &next_run_at.ms()],
            ),
            Write::DeleteSchedule { id } => {
                self.run("DELETE FROM schedules WHERE id = $1", &[&id])
            }
            Write::DeleteAll => {
                for table in ["promises", "tasks", "callbacks", "listeners", "outbox", "schedules"] {
                    self.run(&format!("DELETE FROM {table}"), &[])?;
                }
                Ok(())
            }
            message_write => self.apply_message(message_write),
        }
    }

    fn apply_message(&self, write: Write) -> TxnResult<()> {
        match write {
            Write::PutExecute { task_id, version, address, lane, due_at } => self.run(
                "INSERT INTO outbox (kind, ref_id, addr_key, address, lane, version, due_at, \
                 attempts, leased, queued_at) \
                 VALUES ('execute', $1, '', $2, $3, $4, $5, 0, FALSE, $5) \
                 ON CONFLICT (kind, ref_id, addr_key) DO UPDATE SET address = excluded.address, \
                 lane = excluded.lane, version = excluded.version, due_at = excluded.due_at, \
                 attempts = 0, leased = FALSE",
                &[&task_id, &address, &lane, &version, &due_at.ms()],
            ),
            Write::PutUnblock { promise_id, address, lane, due_at } => self.run(
                "INSERT INTO outbox (kind, ref_id, addr_key, address, lane, version, due_at, \
                 attempts, leased, queued_at) \
                 VALUES ('unblock', $1, $2, $2, $3, 0, $4, 0, FALSE, $4) ON CONFLICT DO NOTHING",
                &[&promise_id, &address, &lane, &due_at.ms()],
            ),
            Write::LeaseMessage { key, due_at, attempts } => {
                let (kind, ref_id, addr_key) = key_columns(&key);
                self.run(
                    "UPDATE outbox SET due_at = $4, attempts = $5, leased = TRUE \
                     WHERE kind = $1 AND ref_id = $2 AND addr_key = $3",
                    &[&kind, &ref_id, &addr_key, &due_at.ms(), &attempts],
                )
            }
            Write::DelayMessage { key, due_at } => {
                let (kind, ref_id, addr_key) = key_columns(&key);
                self.run(
                    "UPDATE outbox SET due_at = $4, leased = FALSE \
                     WHERE kind = $1 AND ref_id = $2 AND addr_key = $3",
                    &[&kind, &ref_id, &addr_key, &due_at.ms()],
                )
            }
            Write::DeleteMessage { key } => {
                let (kind, ref_id, addr_key) = key_columns(&key);
                self.run(
                    "DELETE FROM outbox WHERE kind = $1 AND ref_id = $2 AND addr_key = $3",
                    &[&kind, &ref_id, &addr_key],
                )
            }
            Write::WakeLanes { lanes, now } => self.run(
                "UPDATE outbox SET due_at = $2 WHERE lane = ANY($1) AND NOT leased AND due_at > $2",
                &[&lanes, &now.ms()],
            ),
            Write::ReleaseLeases { now } => {
                self.run("UPDATE outbox SET leased = FALSE, due_at = $1 WHERE leased", &[&now.ms()])
            }
            other => Err(resolute_core::TxnError::new(
                resolute_core::TxnErrorKind::Corrupt,
                format!("write not mapped to SQL: {other:?}"),
            )),
        }
    }

    fn insert_promise(&self, promise: &Promise) -> TxnResult<()> {
        self.run(
            "INSERT INTO promises (id, state, param_headers, param_data, value_headers, \
             value_data, tags, branch, timeout_at, created_at, settled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &promise.id,
                &promise.state.as_str(),
                &headers_json(&promise.param.headers),
                &promise.param.data,
                &headers_json(&promise.value.headers),
                &promise.value.data,
                &tags_json(&promise.tags),
                &promise.branch(),
                &promise.timeout_at.ms(),
                &promise.created_at.ms(),
                &promise.settled_at.map(|at| at.ms()),
            ],
        )
    }

    /// `INSERT` for a new task (a duplicate is a conflict), `UPSERT` for a state change.
    fn put_task(&self, task: &Task, mode: &str) -> TxnResult<()> {
        let timer = task.timer.as_ref();
        let on_conflict = if mode == "UPSERT" {
            " ON CONFLICT (id) DO UPDATE SET state = excluded.state, version = excluded.version, \
             timer_kind = excluded.timer_kind, timer_at = excluded.timer_at, \
             timer_pid = excluded.timer_pid, timer_ttl = excluded.timer_ttl, \
             lease_started_at = excluded.lease_started_at, \
             lease_progress_at = excluded.lease_progress_at"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO tasks (id, state, version, timer_kind, timer_at, timer_pid, timer_ttl, \
             lease_started_at, lease_progress_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9){on_conflict}"
        );
        self.run(
            &sql,
            &[
                &task.id,
                &task.state.as_str(),
                &task.version,
                &timer.map(|timer| timer.kind.code()),
                &timer.map(|timer| timer.at.ms()),
                &timer.and_then(|timer| timer.pid.clone()),
                &timer.map(|timer| timer.ttl_ms),
                &timer.and_then(|timer| timer.started_at).map(|at| at.ms()),
                &timer.and_then(|timer| timer.progress_at).map(|at| at.ms()),
            ],
        )
    }

    fn insert_schedule(&self, schedule: &Schedule) -> TxnResult<()> {
        self.run(
            "INSERT INTO schedules (id, cron, promise_id, promise_timeout, \
             promise_param_headers, promise_param_data, promise_tags, created_at, next_run_at, \
             last_run_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &schedule.id,
                &schedule.cron,
                &schedule.promise_id,
                &schedule.promise_timeout_ms,
                &headers_json(&schedule.promise_param.headers),
                &schedule.promise_param.data,
                &tags_json(&schedule.promise_tags),
                &schedule.created_at.ms(),
                &schedule.next_run_at.ms(),
                &schedule.last_run_at.map(|at| at.ms()),
            ],
        )
    }
}
