//! The kernel's window on the store: synchronous reads and writes inside one open transaction.
//!
//! Backends implement [`Txn`] without any protocol knowledge: reads may filter and sort, writes
//! apply one [`Write`] each. A backend must make its own earlier writes visible to later reads of
//! the same transaction, because one command (a tick, a settlement cascade) reads what it wrote.

use crate::command::{DueFilter, PromiseQuery, ScheduleQuery, TaskQuery};
use crate::model::{Callback, Message, MessageKey, Promise, Schedule, Task, TimerKind};
use crate::reply::{LaneBacklog, Snapshot};
use crate::time::Timestamp;
use crate::write::Write;

/// Why the store could not serve the kernel; the whole command is then rolled back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnErrorKind {
    /// A concurrent writer got there first; re-running the command is safe.
    Conflict,
    /// The store is unreachable or failing.
    Unavailable,
    /// A row could not be decoded.
    Corrupt,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnError {
    pub kind: TxnErrorKind,
    pub message: String,
}

impl TxnError {
    pub fn new(kind: TxnErrorKind, message: impl Into<String>) -> TxnError {
        TxnError { kind, message: message.into() }
    }
}

impl std::fmt::Display for TxnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TxnError {}

pub type TxnResult<T> = Result<T, TxnError>;

/// Reads and writes of one transaction. Every list read is ordered as documented so that the
/// kernel stays deterministic across backends.
pub trait Txn {
    fn promise(&self, id: &str) -> TxnResult<Option<Promise>>;
    /// The task with `resumes` filled in (ready callbacks whose awaiter is the task).
    fn task(&self, id: &str) -> TxnResult<Option<Task>>;
    fn callback(&self, awaited: &str, awaiter: &str) -> TxnResult<Option<Callback>>;
    /// Every callback whose awaited promise is `awaited`, ordered by awaiter.
    fn callbacks_on(&self, awaited: &str) -> TxnResult<Vec<Callback>>;
    /// Every listener address on `promise_id`, ordered.
    fn listeners(&self, promise_id: &str) -> TxnResult<Vec<String>>;
    /// Every promise whose `resonate:branch` tag equals `branch`, ordered by id.
    fn branch_promises(&self, branch: &str) -> TxnResult<Vec<Promise>>;
    /// Pending promises with `timeout_at <= now`, ordered by (timeout_at, id), at most `limit`.
    fn expired_promises(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Promise>>;
    /// Tasks whose timer of `kind` is due at `now`, ordered by (timer at, id), at most `limit`.
    fn due_tasks(&self, kind: TimerKind, now: Timestamp, limit: usize) -> TxnResult<Vec<Task>>;
    fn schedule(&self, id: &str) -> TxnResult<Option<Schedule>>;
    /// Schedules with `next_run_at <= now`, ordered by (next_run_at, id), at most `limit`.
    fn due_schedules(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Schedule>>;
    /// Promises matching the query, ordered by id, ids after the cursor, at most `page.limit`.
    fn search_promises(&self, query: &PromiseQuery) -> TxnResult<Vec<Promise>>;
    fn search_tasks(&self, query: &TaskQuery) -> TxnResult<Vec<Task>>;
    fn search_schedules(&self, query: &ScheduleQuery) -> TxnResult<Vec<Schedule>>;
    /// Outbox rows with `due_at <= now` on lanes `lanes` admits, ordered by (due_at, key), at
    /// most `limit`.
    fn due_messages(
        &self,
        now: Timestamp,
        limit: usize,
        lanes: &DueFilter,
    ) -> TxnResult<Vec<Message>>;
    fn message(&self, key: &MessageKey) -> TxnResult<Option<Message>>;
    /// Undelivered messages grouped by lane, oldest `queued_at` first, at most `limit` lanes.
    fn lane_backlogs(&self, limit: usize) -> TxnResult<Vec<LaneBacklog>>;
    /// Every row, each list ordered by its key.
    fn snapshot(&self) -> TxnResult<Snapshot>;
    fn write(&mut self, write: Write) -> TxnResult<()>;
}
