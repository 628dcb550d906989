//! Writes: the changes a decision makes, as data. Each variant is one statement in a SQL backend,
//! whose only extra condition may be a guard against a concurrent writer.

use crate::model::{
    Message, MessageBody, MessageKey, Promise, PromiseState, Schedule, Task, TaskState, TaskTimer,
    Value,
};
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    InsertPromise(Promise),
    /// Moves a pending promise to a terminal state (timeouts pass the value unchanged).
    SettlePromise {
        id: String,
        state: PromiseState,
        value: Value,
        settled_at: Timestamp,
    },
    InsertTask(Task),
    /// Replaces a task's state, version and timer (`resumes` is derived, never written).
    UpdateTask {
        id: String,
        state: TaskState,
        version: i64,
        timer: Option<TaskTimer>,
    },
    /// Records "awaiter waits for awaited"; an existing pair is left as it is.
    InsertCallback {
        awaited: String,
        awaiter: String,
        ready: bool,
    },
    /// Marks every callback on `awaited` ready.
    MarkCallbacksReady {
        awaited: String,
    },
    /// Deletes the ready callbacks of `awaiter` (its `resumes` drop to 0).
    DeleteReadyCallbacks {
        awaiter: String,
    },
    /// Deletes every callback in which `awaiter` waits.
    DeleteCallbacksOfAwaiter {
        awaiter: String,
    },
    /// Records a one-shot listener; an existing pair is left as it is.
    InsertListener {
        promise_id: String,
        address: String,
    },
    DeleteListeners {
        promise_id: String,
    },
    /// Upserts the one execute message of a task: the row is replaced (new version, due now, no
    /// attempts, not leased).
    PutExecute {
        task_id: String,
        version: i64,
        address: String,
        lane: String,
        due_at: Timestamp,
    },
    /// Inserts an unblock message for (promise, address) unless one is already queued.
    PutUnblock {
        promise_id: String,
        address: String,
        lane: String,
        due_at: Timestamp,
    },
    /// A delivery attempt takes the row until `due_at` (its lease) and counts one more attempt.
    LeaseMessage {
        key: MessageKey,
        due_at: Timestamp,
        attempts: i64,
    },
    /// The row waits, unleased, until `due_at` (a retry back-off or a park).
    DelayMessage {
        key: MessageKey,
        due_at: Timestamp,
    },
    /// The message was handed off, or can never be: the row goes.
    DeleteMessage {
        key: MessageKey,
    },
    /// Parked rows of these lanes (unleased, due later) become due at `now`.
    WakeLanes {
        lanes: Vec<String>,
        now: Timestamp,
    },
    /// Every leased row becomes unleased and due at `now` (single-node restart recovery).
    ReleaseLeases {
        now: Timestamp,
    },
    InsertSchedule(Schedule),
    /// Records a firing: `last_run_at` is the cron instant fired, `next_run_at` the next one.
    UpdateScheduleRun {
        id: String,
        last_run_at: Timestamp,
        next_run_at: Timestamp,
    },
    DeleteSchedule {
        id: String,
    },
    /// Deletes every row of every table (`debug.reset`).
    DeleteAll,
}

impl Write {
    /// True for writes that put a message in the outbox, so the dispatcher must be woken.
    pub fn queues_message(&self) -> bool {
        matches!(self, Write::PutExecute { .. } | Write::PutUnblock { .. })
    }

    /// The outbox row a queueing write puts, as it stands right after the write: no attempts, not
    /// leased. (`PutUnblock` keeps an unblock already queued; its row may then differ, which a
    /// claim notices by its attempt count.)
    pub fn queued_message(&self) -> Option<Message> {
        let (address, lane, body, due_at) = match self {
            Write::PutExecute { task_id, version, address, lane, due_at } => {
                let body = MessageBody::Execute { task_id: task_id.clone(), version: *version };
                (address, lane, body, *due_at)
            }
            Write::PutUnblock { promise_id, address, lane, due_at } => {
                (address, lane, MessageBody::Unblock { promise_id: promise_id.clone() }, *due_at)
            }
            _ => return None,
        };
        let (address, lane) = (address.clone(), lane.clone());
        Some(Message { address, lane, body, due_at, attempts: 0, leased: false, queued_at: due_at })
    }
}
