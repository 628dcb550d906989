//! The reads of `Txn` on PostgreSQL: filters and orders as SQLite's, plus row locks.
//!
//! Locking is what makes several nodes safe without protocol rules in SQL: in a command that may
//! write, every row read by key is locked (`FOR UPDATE`), so two commands on one promise or task
//! run one after the other, and the second sees what the first wrote; the timer scans skip rows
//! another node holds (`SKIP LOCKED`), so concurrent ticks share the work instead of redoing it.

use postgres::types::ToSql;
use resolute_core::command::{DueFilter, Page, PromiseQuery, ScheduleQuery, TaskQuery};
use resolute_core::reply::{LaneBacklog, Snapshot};
use resolute_core::txn::TxnResult;
use resolute_core::{
    Callback, Message, MessageKey, Promise, Schedule, Tags, Task, TimerKind, Timestamp,
};

use super::rows::{self, TASK_COLUMNS};
use super::PgTxn;
use crate::sqlite::rows::SCHEDULE_COLUMNS;
use crate::sqlite::rows::{key_columns, tags_json, MESSAGE_COLUMNS, PROMISE_COLUMNS};

type Param<'a> = &'a (dyn ToSql + Sync);

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl PgTxn<'_, '_> {
    /// ` FOR UPDATE` (or the given lock clause) in a command that may write; nothing otherwise.
    fn lock<'s>(&self, clause: &'s str) -> &'s str {
        if self.locking {
            clause
        } else {
            ""
        }
    }

    pub(crate) fn read_promise(&self, id: &str) -> TxnResult<Option<Promise>> {
        let sql = format!(
            "SELECT {PROMISE_COLUMNS} FROM promises WHERE id = $1{}",
            self.lock(" FOR UPDATE")
        );
        self.optional(&sql, &[&id], rows::promise)
    }

    pub(crate) fn read_task(&self, id: &str) -> TxnResult<Option<Task>> {
        let lock = self.lock(" FOR UPDATE OF tasks");
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1{lock}");
        self.optional(&sql, &[&id], rows::task)
    }

    pub(crate) fn read_callback(
        &self,
        awaited: &str,
        awaiter: &str,
    ) -> TxnResult<Option<Callback>> {
        let sql = format!(
            "SELECT awaited, awaiter, ready FROM callbacks WHERE awaited = $1 AND awaiter = $2{}",
            self.lock(" FOR UPDATE")
        );
        self.optional(&sql, &[&awaited, &awaiter], rows::callback)
    }

    /// Complete by contract; guarded by the lock on the awaited promise, which every writer of
    /// its callbacks takes first.
    pub(crate) fn read_callbacks_on(&self, awaited: &str) -> TxnResult<Vec<Callback>> {
        let sql =
            "SELECT awaited, awaiter, ready FROM callbacks WHERE awaited = $1 ORDER BY awaiter";
        self.all(sql, &[&awaited], rows::callback)
    }

    pub(crate) fn read_listeners(&self, promise_id: &str) -> TxnResult<Vec<String>> {
        let sql = "SELECT address FROM listeners WHERE promise_id = $1 ORDER BY address";
        self.all(sql, &[&promise_id], rows::string)
    }

    pub(crate) fn read_branch(&self, branch: &str) -> TxnResult<Vec<Promise>> {
        let sql = format!("SELECT {PROMISE_COLUMNS} FROM promises WHERE branch = $1 ORDER BY id");
        self.all(&sql, &[&branch], rows::promise)
    }

    pub(crate) fn read_expired(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Promise>> {
        let sql = format!(
            "SELECT {PROMISE_COLUMNS} FROM promises WHERE state = 'pending' AND timeout_at <= $1 \
             ORDER BY timeout_at, id LIMIT $2{}",
            self.lock(" FOR UPDATE SKIP LOCKED")
        );
        self.all(&sql, &[&now.ms(), &limit_of(limit)], rows::promise)
    }

    pub(crate) fn read_due_tasks(
        &self,
        kind: TimerKind,
        now: Timestamp,
        limit: usize,
    ) -> TxnResult<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE timer_kind = $1 AND timer_at <= $2 \
             ORDER BY timer_at, id LIMIT $3{}",
            self.lock(" FOR UPDATE OF tasks SKIP LOCKED")
        );
        self.all(&sql, &[&kind.code(), &now.ms(), &limit_of(limit)], rows::task)
    }

    pub(crate) fn read_schedule(&self, id: &str) -> TxnResult<Option<Schedule>> {
        let sql = format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = $1{}",
            self.lock(" FOR UPDATE")
        );
        self.optional(&sql, &[&id], rows::schedule)
    }

    pub(crate) fn read_due_schedules(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> TxnResult<Vec<Schedule>> {
        let sql = format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE next_run_at <= $1 \
             ORDER BY next_run_at, id LIMIT $2{}",
            self.lock(" FOR UPDATE SKIP LOCKED")
        );
        self.all(&sql, &[&now.ms(), &limit_of(limit)], rows::schedule)
    }

    pub(crate) fn read_due_messages(
        &self,
        now: Timestamp,
        limit: usize,
        lanes: &DueFilter,
    ) -> TxnResult<Vec<Message>> {
        let lock = self.lock(" FOR UPDATE SKIP LOCKED");
        let order = "ORDER BY due_at, kind, ref_id, addr_key LIMIT $2";
        let (now, limit) = (now.ms(), limit_of(limit));
        match lanes {
            DueFilter::All => {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE due_at <= $1 {order}{lock}"
                );
                self.all(&sql, &[&now, &limit], rows::message)
            }
            DueFilter::PollLanesOnly(served) => {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE due_at <= $1 \
                     AND (lane NOT LIKE 'poll:%' OR lane = ANY($3)) {order}{lock}"
                );
                self.all(&sql, &[&now, &limit, served], rows::message)
            }
        }
    }

    pub(crate) fn read_message(&self, key: &MessageKey) -> TxnResult<Option<Message>> {
        let (kind, ref_id, addr_key) = key_columns(key);
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE kind = $1 AND ref_id = $2 \
             AND addr_key = $3{}",
            self.lock(" FOR UPDATE")
        );
        self.optional(&sql, &[&kind, &ref_id, &addr_key], rows::message)
    }

    pub(crate) fn read_lane_backlogs(&self, limit: usize) -> TxnResult<Vec<LaneBacklog>> {
        let sql = "SELECT lane, MIN(address), COUNT(*), MIN(queued_at) FROM outbox GROUP BY lane \
                   ORDER BY MIN(queued_at), lane LIMIT $1";
        self.all(sql, &[&limit_of(limit)], rows::lane_backlog)
    }
}

/// A search's WHERE clauses and parameters, built up filter by filter.
#[derive(Default)]
struct Filters {
    clauses: Vec<String>,
    values: Vec<Box<dyn ToSql + Sync>>,
}

impl Filters {
    fn push(&mut self, clause: impl FnOnce(usize) -> String, value: Box<dyn ToSql + Sync>) {
        self.values.push(value);
        self.clauses.push(clause(self.values.len()));
    }

    /// Every tag pair must be present: JSON containment of the query's tags in the row's.
    fn tags(&mut self, column: &str, tags: &Tags) {
        if !tags.is_empty() {
            self.push(
                |n| format!("({column})::jsonb @> ${n}::text::jsonb"),
                Box::new(tags_json(tags)),
            );
        }
    }

    fn page(&mut self, page: &Page) {
        if let Some(cursor) = &page.cursor {
            self.push(|n| format!("id > ${n}"), Box::new(cursor.clone()));
        }
        self.values.push(Box::new(limit_of(page.limit)));
    }

    fn sql(&self, select: &str) -> String {
        let filter = if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        };
        format!("{select} {filter} ORDER BY id LIMIT ${}", self.values.len())
    }

    fn params(&self) -> Vec<Param<'_>> {
        self.values.iter().map(|value| value.as_ref() as Param<'_>).collect()
    }
}

impl PgTxn<'_, '_> {
    pub(crate) fn read_search_promises(&self, query: &PromiseQuery) -> TxnResult<Vec<Promise>> {
        let mut filters = Filters::default();
        if let Some(state) = query.state {
            filters.push(|n| format!("state = ${n}"), Box::new(state.as_str()));
        }
        filters.tags("tags", &query.tags);
        filters.page(&query.page);
        let sql = filters.sql(&format!("SELECT {PROMISE_COLUMNS} FROM promises"));
        self.all(&sql, &filters.params(), rows::promise)
    }

    pub(crate) fn read_search_tasks(&self, query: &TaskQuery) -> TxnResult<Vec<Task>> {
        let mut filters = Filters::default();
        if let Some(state) = query.state {
            filters.push(|n| format!("state = ${n}"), Box::new(state.as_str()));
        }
        filters.page(&query.page);
        let sql = filters.sql(&format!("SELECT {TASK_COLUMNS} FROM tasks"));
        self.all(&sql, &filters.params(), rows::task)
    }

    pub(crate) fn read_search_schedules(&self, query: &ScheduleQuery) -> TxnResult<Vec<Schedule>> {
        let mut filters = Filters::default();
        filters.tags("promise_tags", &query.tags);
        filters.page(&query.page);
        let sql = filters.sql(&format!("SELECT {SCHEDULE_COLUMNS} FROM schedules"));
        self.all(&sql, &filters.params(), rows::schedule)
    }

    /// Everything, for `debug.snap` and invariant checks (debug mode and tests only).
    pub(crate) fn read_snapshot(&self) -> TxnResult<Snapshot> {
        Ok(Snapshot {
            promises: self.all(
                &format!("SELECT {PROMISE_COLUMNS} FROM promises ORDER BY id"),
                &[],
                rows::promise,
            )?,
            tasks: self.all(
                &format!("SELECT {TASK_COLUMNS} FROM tasks ORDER BY id"),
                &[],
                rows::task,
            )?,
            callbacks: self.all(
                "SELECT awaited, awaiter, ready FROM callbacks ORDER BY awaited, awaiter",
                &[],
                rows::callback,
            )?,
            listeners: self.all(
                "SELECT promise_id, address FROM listeners ORDER BY promise_id, address",
                &[],
                rows::listener,
            )?,
            messages: self.all(
                &format!("SELECT {MESSAGE_COLUMNS} FROM outbox ORDER BY kind, ref_id, addr_key"),
                &[],
                rows::message,
            )?,
            schedules: self.all(
                &format!("SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY id"),
                &[],
                rows::schedule,
            )?,
        })
    }
}
