//! Replies: the outcome of each command as a value. The API layer maps each to a status code.

use crate::model::{Callback, Listener, Message, MessageKey, Promise, Schedule, Task};
use crate::time::Timestamp;

/// A task together with its promise and the promises preloaded for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acquired {
    pub task: Task,
    pub promise: Promise,
    pub preload: Vec<Promise>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromiseReply {
    Found(Promise),
    NotFound,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackReply {
    Registered(Promise),
    AwaitedNotFound,
    AwaiterNotFound,
    AwaiterNotTargeted,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenerReply {
    Registered(Promise),
    AwaitedNotFound,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskGetReply {
    Found(Task),
    NotFound,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskCreateReply {
    Acquired(Acquired),
    /// The promise timed out at birth or its task was already fulfilled: no lease, no preload.
    Fulfilled {
        task: Task,
        promise: Promise,
    },
    /// The promise exists but has no task (it was created without a target).
    NoTarget,
    /// The task is acquired, suspended or halted.
    AlreadyExists,
}

// Replies are built once and moved once; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcquireReply {
    Acquired(Acquired),
    NotFound,
    NotPending,
    VersionMismatch,
}

/// Replies of the lease-holder operations that answer `{}` on success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseReply {
    Done,
    NotFound,
    /// "Task version mismatch or invalid state".
    Conflict,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FulfillReply {
    Fulfilled(Promise),
    NotFound,
    Conflict,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuspendReply {
    Suspended,
    /// Some awaited promise is already settled: keep the lease and continue (status 300).
    Continue {
        preload: Vec<Promise>,
    },
    NotFound,
    Conflict,
    AwaitedNotFound,
}

/// The inner result of a fenced action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FenceOutcome {
    Created(Promise),
    Settled(Promise),
    SettleNotFound,
}

// Replies are built once and moved once; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FenceReply {
    Done { outcome: FenceOutcome, preload: Vec<Promise> },
    NotFound,
    VersionMismatch,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HaltReply {
    Halted,
    NotFound,
    Fulfilled,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContinueReply {
    Continued,
    NotFound,
    NotHalted,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleReply {
    Found(Schedule),
    NotFound,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteReply {
    Deleted,
    NotFound,
}

/// One page of search results; `cursor` is set only when more rows exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found<T> {
    pub items: Vec<T>,
    pub cursor: Option<String>,
}

/// Everything the store holds, for `debug.snap` and for invariant checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub promises: Vec<Promise>,
    pub tasks: Vec<Task>,
    pub callbacks: Vec<Callback>,
    pub listeners: Vec<Listener>,
    pub messages: Vec<Message>,
    pub schedules: Vec<Schedule>,
}

/// How much background work one tick did; a full batch means "call again".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub promises_timed_out: usize,
    pub retries_sent: usize,
    pub leases_expired: usize,
    pub schedules_fired: usize,
}

impl TickReport {
    /// True when some kind of work filled its batch, so more may be waiting.
    pub fn is_full(&self, limit: usize) -> bool {
        self.promises_timed_out >= limit
            || self.retries_sent >= limit
            || self.leases_expired >= limit
            || self.schedules_fired >= limit
    }
}

/// The undelivered messages of one lane: how many and how old the oldest is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneBacklog {
    pub lane: String,
    /// One address of the lane, to route capacity questions.
    pub address: String,
    pub pending: i64,
    pub oldest_queued_at: Timestamp,
}

/// What a claimed message carries to its worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimedBody {
    Execute {
        task_id: String,
        version: i64,
    },
    /// The promise as read at claim time.
    Unblock {
        promise: Promise,
    },
}

/// A message leased for one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedMessage {
    pub key: MessageKey,
    pub address: String,
    pub version: i64,
    /// Attempts including this one.
    pub attempts: i64,
    /// When the message was first queued (retries keep it), so the dispatcher can report how
    /// long a message waited before it was handed off.
    pub queued_at: Timestamp,
    pub body: ClaimedBody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    PromiseGet(PromiseReply),
    PromiseCreate(Promise),
    PromiseSettle(PromiseReply),
    PromiseRegisterCallback(CallbackReply),
    PromiseRegisterListener(ListenerReply),
    PromiseSearch(Found<Promise>),
    TaskGet(TaskGetReply),
    TaskCreate(TaskCreateReply),
    TaskAcquire(AcquireReply),
    TaskRelease(LeaseReply),
    TaskFulfill(FulfillReply),
    TaskSuspend(SuspendReply),
    TaskFence(FenceReply),
    TaskHeartbeat,
    TaskHalt(HaltReply),
    TaskContinue(ContinueReply),
    TaskSearch(Found<Task>),
    ScheduleGet(ScheduleReply),
    ScheduleCreate(crate::model::Schedule),
    ScheduleDelete(DeleteReply),
    ScheduleSearch(Found<Schedule>),
    DebugReset,
    DebugSnap(Box<Snapshot>),
    Tick(TickReport),
    DueMessages(Vec<Message>),
    ClaimMessages(Vec<ClaimedMessage>),
    OutboxBacklog(Vec<LaneBacklog>),
    OutboxMessage(Option<Message>),
    /// `RequeueHanded` queued this many messages again.
    Requeued(usize),
    /// An internal bookkeeping command finished.
    Done,
}
