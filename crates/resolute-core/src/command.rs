//! Commands: one variant per protocol operation, already validated by the API layer.

use crate::model::{MessageKey, PromiseState, SettleState, Tags, TaskState, Value};
use crate::time::Timestamp;

/// Create a promise (idempotent by id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatePromise {
    pub id: String,
    pub timeout_at: Timestamp,
    pub param: Value,
    pub tags: Tags,
}

/// Settle a pending promise (no-op if already settled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlePromise {
    pub id: String,
    pub state: SettleState,
    pub value: Value,
}

/// The promise operation a `task.fence` runs under the task's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FenceAction {
    Create(CreatePromise),
    Settle(SettlePromise),
}

/// A page request shared by the searches: rows with ids strictly after `cursor`, at most `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub cursor: Option<String>,
}

/// Which lanes' messages a node takes. A single node takes all; with several nodes sharing one
/// store, a node takes poll messages only for lanes where it holds a worker connection, so the
/// node that can deliver a message is the one that claims it, and messages no node here can
/// deliver never crowd the head of its scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DueFilter {
    #[default]
    All,
    /// Every non-poll lane, and these poll lanes.
    PollLanesOnly(Vec<String>),
}

impl DueFilter {
    pub fn admits(&self, lane: &str) -> bool {
        match self {
            DueFilter::All => true,
            DueFilter::PollLanesOnly(lanes) => {
                !lane.starts_with("poll:") || lanes.iter().any(|served| served == lane)
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromiseQuery {
    pub state: Option<PromiseState>,
    pub tags: Tags,
    pub page: Page,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskQuery {
    pub state: Option<TaskState>,
    pub page: Page,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleQuery {
    pub tags: Tags,
    pub page: Page,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateSchedule {
    pub id: String,
    pub cron: String,
    pub promise_id: String,
    pub promise_timeout_ms: i64,
    pub promise_param: Value,
    pub promise_tags: Tags,
}

/// A heartbeat entry: a task the caller believes it holds at this version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldTask {
    pub id: String,
    pub version: i64,
}

/// A due message the dispatcher has a slot for, as it read it (the claim fails if it changed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub key: MessageKey,
    pub version: i64,
    pub attempts: i64,
}

/// A message handed to a worker's connection, as much of it as is needed to queue it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handed {
    Execute { task_id: String, version: i64 },
    Unblock { promise_id: String, address: String },
}

/// How a delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Handed off: the row goes.
    Delivered,
    /// Failed: try again at this instant.
    RetryAt(Timestamp),
    /// Failed too often to keep trying: the row goes.
    Abandoned,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    PromiseGet {
        id: String,
    },
    PromiseCreate(CreatePromise),
    PromiseSettle(SettlePromise),
    PromiseRegisterCallback {
        awaited: String,
        awaiter: String,
    },
    PromiseRegisterListener {
        awaited: String,
        address: String,
    },
    PromiseSearch(PromiseQuery),
    TaskGet {
        id: String,
    },
    TaskCreate {
        pid: String,
        ttl_ms: i64,
        promise: CreatePromise,
    },
    TaskAcquire {
        id: String,
        version: i64,
        pid: String,
        ttl_ms: i64,
    },
    TaskRelease {
        id: String,
        version: i64,
    },
    TaskFulfill {
        id: String,
        version: i64,
        settle: SettlePromise,
    },
    /// `awaited` is de-duplicated in first-occurrence order by the API layer.
    TaskSuspend {
        id: String,
        version: i64,
        awaited: Vec<String>,
    },
    TaskFence {
        id: String,
        version: i64,
        action: FenceAction,
    },
    TaskHeartbeat {
        pid: String,
        tasks: Vec<HeldTask>,
    },
    TaskHalt {
        id: String,
    },
    TaskContinue {
        id: String,
    },
    TaskSearch(TaskQuery),
    ScheduleGet {
        id: String,
    },
    ScheduleCreate(CreateSchedule),
    ScheduleDelete {
        id: String,
    },
    ScheduleSearch(ScheduleQuery),
    /// Delete every row (debug mode only).
    DebugReset,
    /// Read everything (debug mode only).
    DebugSnap,
    /// One bounded batch of background work due at `now`: promise timeouts, task retries, lease
    /// expiries and schedule firings, at most `limit` of each.
    Tick {
        limit: usize,
    },
    /// Outbox rows due at `now` on lanes `lanes` admits, at most `limit` (read only).
    DueMessages {
        limit: usize,
        lanes: DueFilter,
    },
    /// Leases the claimed rows until `lease_until` (skipping any that changed or became moot),
    /// parks `parks` until `park_until` and deletes `drops`.
    ClaimMessages {
        claims: Vec<Claim>,
        parks: Vec<MessageKey>,
        park_until: Timestamp,
        drops: Vec<MessageKey>,
        lease_until: Timestamp,
    },
    /// Records a delivery outcome, unless the row was replaced or re-claimed meanwhile.
    SettleDelivery {
        key: MessageKey,
        version: i64,
        attempts: i64,
        outcome: DeliveryOutcome,
    },
    /// The lanes with undelivered messages, oldest backlog first, at most `limit` (read only).
    OutboxBacklog {
        limit: usize,
    },
    /// One outbox row, if it exists (read only).
    OutboxMessage {
        key: MessageKey,
    },
    /// Makes the parked messages of these lanes due now.
    WakeLanes {
        lanes: Vec<String>,
    },
    /// Unleases every row (startup of a single node: no attempt from before can still be alive).
    ReleaseLeases,
    /// Queues again messages a worker connection took shortly before it died, which may have
    /// died with it: an execute whose task is still pending at that version, an unblock whose
    /// promise is settled; either only when no row of its key is queued already.
    RequeueHanded {
        handed: Vec<Handed>,
    },
}

impl Command {
    /// True when the command can never write, so it may run on a read-only connection.
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Command::PromiseSearch(_)
                | Command::TaskSearch(_)
                | Command::ScheduleGet { .. }
                | Command::ScheduleSearch(_)
                | Command::DebugSnap
                | Command::DueMessages { .. }
                | Command::OutboxBacklog { .. }
                | Command::OutboxMessage { .. }
        )
    }
}
