//! The records of the protocol: promises, tasks, callbacks, listeners, schedules and messages.

use std::collections::BTreeMap;

use crate::time::Timestamp;

/// Tag naming the address that executes a promise.
pub const TAG_TARGET: &str = "resonate:target";
/// Tag that makes a timeout resolve the promise instead of rejecting it.
pub const TAG_TIMER: &str = "resonate:timer";
/// Tag whose value groups promises for preload.
pub const TAG_BRANCH: &str = "resonate:branch";
pub const TAG_ORIGIN: &str = "resonate:origin";
pub const TAG_PARENT: &str = "resonate:parent";
pub const TAG_PREFIX: &str = "resonate:prefix";
pub const TAG_DELAY: &str = "resonate:delay";
pub const TAG_SCHEDULE: &str = "resonate:schedule";

pub type Tags = BTreeMap<String, String>;

/// A param or value: optional headers and optional (by convention base64) data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Value {
    pub headers: Option<BTreeMap<String, String>>,
    pub data: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PromiseState {
    Pending,
    Resolved,
    Rejected,
    RejectedCanceled,
    RejectedTimedout,
}

impl PromiseState {
    pub fn is_pending(self) -> bool {
        self == PromiseState::Pending
    }

    /// The wire and storage name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            PromiseState::Pending => "pending",
            PromiseState::Resolved => "resolved",
            PromiseState::Rejected => "rejected",
            PromiseState::RejectedCanceled => "rejected_canceled",
            PromiseState::RejectedTimedout => "rejected_timedout",
        }
    }

    pub fn parse(text: &str) -> Option<PromiseState> {
        Some(match text {
            "pending" => PromiseState::Pending,
            "resolved" => PromiseState::Resolved,
            "rejected" => PromiseState::Rejected,
            "rejected_canceled" => PromiseState::RejectedCanceled,
            "rejected_timedout" => PromiseState::RejectedTimedout,
            _ => return None,
        })
    }
}

/// The states a client may settle a promise into (timeouts are the server's business).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettleState {
    Resolved,
    Rejected,
    RejectedCanceled,
}

impl From<SettleState> for PromiseState {
    fn from(state: SettleState) -> Self {
        match state {
            SettleState::Resolved => PromiseState::Resolved,
            SettleState::Rejected => PromiseState::Rejected,
            SettleState::RejectedCanceled => PromiseState::RejectedCanceled,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promise {
    pub id: String,
    pub state: PromiseState,
    pub param: Value,
    pub value: Value,
    pub tags: Tags,
    pub timeout_at: Timestamp,
    pub created_at: Timestamp,
    pub settled_at: Option<Timestamp>,
}

impl Promise {
    pub fn target(&self) -> Option<&str> {
        self.tags.get(TAG_TARGET).map(String::as_str)
    }

    pub fn branch(&self) -> Option<&str> {
        self.tags.get(TAG_BRANCH).map(String::as_str)
    }

    /// A timer promise resolves (instead of rejecting) when it times out.
    pub fn is_timer(&self) -> bool {
        self.tags.get(TAG_TIMER).map(String::as_str) == Some("true")
    }

    /// The state this promise takes when its deadline passes.
    pub fn timeout_state(&self) -> PromiseState {
        if self.is_timer() {
            PromiseState::Resolved
        } else {
            PromiseState::RejectedTimedout
        }
    }

    /// Pending and past its deadline at `now`: the next touch must time it out.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.state.is_pending() && now >= self.timeout_at
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskState {
    Pending,
    Acquired,
    Suspended,
    Halted,
    Fulfilled,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Acquired => "acquired",
            TaskState::Suspended => "suspended",
            TaskState::Halted => "halted",
            TaskState::Fulfilled => "fulfilled",
        }
    }

    pub fn parse(text: &str) -> Option<TaskState> {
        Some(match text {
            "pending" => TaskState::Pending,
            "acquired" => TaskState::Acquired,
            "suspended" => TaskState::Suspended,
            "halted" => TaskState::Halted,
            "fulfilled" => TaskState::Fulfilled,
            _ => return None,
        })
    }
}

/// What happens when a task's timer fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerKind {
    /// A pending task whose execute is re-sent when the timer fires.
    Retry,
    /// An acquired task whose lease returns it to pending when the timer fires.
    Lease,
}

impl TimerKind {
    /// The number the protocol's snapshot uses (0 retry, 1 lease).
    pub fn code(self) -> i64 {
        match self {
            TimerKind::Retry => 0,
            TimerKind::Lease => 1,
        }
    }

    pub fn from_code(code: i64) -> Option<TimerKind> {
        match code {
            0 => Some(TimerKind::Retry),
            1 => Some(TimerKind::Lease),
            _ => None,
        }
    }
}

/// A task's single timer. Leases carry the holder and the ttl that heartbeats renew, and — so an
/// operator can tell a slow holder from a dead one — when the lease was taken and when its holder
/// last showed progress (the acquire itself, then every heartbeat).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskTimer {
    pub kind: TimerKind,
    pub at: Timestamp,
    pub pid: Option<String>,
    pub ttl_ms: i64,
    /// Lease only: when it was acquired; heartbeats keep it. `None` for retry timers, and for
    /// leases taken before the store recorded it.
    pub started_at: Option<Timestamp>,
    /// Lease only: the holder's last progress (acquire or heartbeat).
    pub progress_at: Option<Timestamp>,
}

impl TaskTimer {
    /// A retry timer firing at `at`.
    pub fn retry(at: Timestamp, ttl_ms: i64) -> TaskTimer {
        TaskTimer {
            kind: TimerKind::Retry,
            at,
            pid: None,
            ttl_ms,
            started_at: None,
            progress_at: None,
        }
    }

    /// A lease taken by `pid` at `now`: started and last progressed now.
    pub fn lease(pid: &str, ttl_ms: i64, now: Timestamp) -> TaskTimer {
        TaskTimer {
            kind: TimerKind::Lease,
            at: now.plus_ms(ttl_ms),
            pid: Some(pid.to_owned()),
            ttl_ms,
            started_at: Some(now),
            progress_at: Some(now),
        }
    }

    /// This lease after a heartbeat at `now`: extended by its ttl, progress recorded, start kept.
    pub fn renewed(&self, now: Timestamp) -> TaskTimer {
        TaskTimer { at: now.plus_ms(self.ttl_ms), progress_at: Some(now), ..self.clone() }
    }
}

/// A task: the executable side of a targeted promise (same id). `resumes` is derived: the count of
/// ready callbacks whose awaiter is this task, read along with the row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub state: TaskState,
    pub version: i64,
    pub timer: Option<TaskTimer>,
    pub resumes: i64,
}

impl Task {
    /// The lease, if the task is acquired.
    pub fn lease(&self) -> Option<&TaskTimer> {
        self.timer.as_ref().filter(|timer| timer.kind == TimerKind::Lease)
    }
}

/// "awaiter waits for awaited"; ready once awaited has settled.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Callback {
    pub awaited: String,
    pub awaiter: String,
    pub ready: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listener {
    pub promise_id: String,
    pub address: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub id: String,
    pub cron: String,
    pub promise_id: String,
    pub promise_timeout_ms: i64,
    pub promise_param: Value,
    pub promise_tags: Tags,
    pub created_at: Timestamp,
    pub next_run_at: Timestamp,
    pub last_run_at: Option<Timestamp>,
}

/// What an outbox message carries. Unblocks read the promise at delivery time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageBody {
    Execute { task_id: String, version: i64 },
    Unblock { promise_id: String },
}

/// A durable outbox row: it stays until its hand-off succeeded or it became moot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub address: String,
    /// The delivery lane of the address (see `Address::lane`), stored so a lane's parked messages
    /// can be woken together when it gains room.
    pub lane: String,
    pub body: MessageBody,
    /// When the next delivery attempt is due (for a leased row: when its lease runs out).
    pub due_at: Timestamp,
    /// Delivery attempts made so far.
    pub attempts: i64,
    /// True while a delivery attempt holds the row.
    pub leased: bool,
    /// When the message was first queued (kept across re-queues): the age stuck detection reads.
    pub queued_at: Timestamp,
}

impl Message {
    /// The execute's task version; 0 for unblocks. Guards outcomes against replaced rows.
    pub fn version(&self) -> i64 {
        match self.body {
            MessageBody::Execute { version, .. } => version,
            MessageBody::Unblock { .. } => 0,
        }
    }

    /// The row key: one execute per task, one unblock per (promise, address).
    pub fn key(&self) -> MessageKey {
        match &self.body {
            MessageBody::Execute { task_id, .. } => MessageKey::Execute(task_id.clone()),
            MessageBody::Unblock { promise_id } => {
                MessageKey::Unblock(promise_id.clone(), self.address.clone())
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageKey {
    Execute(String),
    Unblock(String, String),
}
