//! The invariants, checked after every step: on the store snapshot alone (`check_snapshot`, pure),
//! on the change since the previous step (`check_transition`, which must be explained by the
//! commands that step committed), and on what the simulated workers believe (`check_beliefs`).

use std::collections::BTreeMap;
use std::fmt;

use resolute_core::address::lane_of;
use resolute_core::reply::Snapshot;
use resolute_core::{
    Command, MessageBody, Promise, Task, TaskState, TimerKind, Timestamp, TAG_DELAY,
};

use crate::peers::Peers;

/// A broken invariant: its name (stable, greppable) and what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

impl Violation {
    pub fn new(invariant: &'static str, detail: impl Into<String>) -> Violation {
        Violation { invariant, detail: detail.into() }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.invariant, self.detail)
    }
}

/// The horizons a snapshot is checked against, relative to now (all ms).
#[derive(Clone, Debug)]
pub struct Limits {
    /// The longest lease anybody asks for.
    pub lease_ms: i64,
    pub retry_timeout_ms: i64,
    /// How long the dispatcher leases a claimed row.
    pub claim_lease_ms: i64,
    /// The furthest an unleased row may be deferred (a park or a retry back-off).
    pub defer_ms: i64,
}

type Check = Result<(), Violation>;

fn ensure(condition: bool, invariant: &'static str, detail: impl FnOnce() -> String) -> Check {
    if condition {
        Ok(())
    } else {
        Err(Violation::new(invariant, detail()))
    }
}

/// Lookups by id in a snapshot, whose lists are ordered by key.
struct Index<'a> {
    snapshot: &'a Snapshot,
}

impl<'a> Index<'a> {
    fn new(snapshot: &'a Snapshot) -> Index<'a> {
        Index { snapshot }
    }

    fn promise(&self, id: &str) -> Option<&'a Promise> {
        let promises = &self.snapshot.promises;
        promises.binary_search_by(|promise| promise.id.as_str().cmp(id)).ok().map(|i| &promises[i])
    }

    fn task(&self, id: &str) -> Option<&'a Task> {
        let tasks = &self.snapshot.tasks;
        tasks.binary_search_by(|task| task.id.as_str().cmp(id)).ok().map(|i| &tasks[i])
    }
}

/// Invariants of one snapshot at time `now`. Pure: it could live beside the kernel.
pub fn check_snapshot(snapshot: &Snapshot, now: Timestamp, limits: &Limits) -> Check {
    let index = Index::new(snapshot);
    for promise in &snapshot.promises {
        check_promise(promise, &index, now)?;
    }
    for task in &snapshot.tasks {
        check_task(task, &index, now, limits)?;
    }
    check_waits(snapshot, &index)?;
    check_messages(snapshot, &index, now, limits)
}

fn check_promise(promise: &Promise, index: &Index<'_>, now: Timestamp) -> Check {
    let id = &promise.id;
    if promise.target().is_some() {
        ensure(index.task(id).is_some(), "a targeted promise has a task", || {
            format!("promise {id} has a target but no task")
        })?;
    }
    if let Some(task) = index.task(id) {
        let fulfilled = task.state == TaskState::Fulfilled;
        ensure(
            fulfilled != promise.state.is_pending(),
            "a promise is settled exactly when its task is fulfilled",
            || {
                format!(
                    "promise {id} is {} but its task is {:?}",
                    promise.state.as_str(),
                    task.state
                )
            },
        )?;
    }
    let Some(settled_at) = promise.settled_at else {
        return ensure(promise.state.is_pending(), "settledAt is set on settled promises", || {
            format!("promise {id} is {} without settledAt", promise.state.as_str())
        });
    };
    ensure(!promise.state.is_pending(), "settledAt is set on settled promises", || {
        format!("pending promise {id} has settledAt {settled_at}")
    })?;
    ensure(settled_at <= now, "a promise settles in the past", || {
        format!("promise {id} settled at {settled_at}, after now {now}")
    })?;
    // A request settles before the deadline; a timeout settles at it, into the timeout state.
    let timed_out = settled_at >= promise.timeout_at;
    ensure(
        !timed_out
            || (settled_at == promise.timeout_at && promise.state == promise.timeout_state()),
        "a promise times out at its deadline into its timeout state",
        || {
            format!(
                "promise {id} is {} at {settled_at} with deadline {}",
                promise.state.as_str(),
                promise.timeout_at
            )
        },
    )
}

fn check_task(task: &Task, index: &Index<'_>, now: Timestamp, limits: &Limits) -> Check {
    let id = &task.id;
    let promise = index.promise(id);
    ensure(
        promise.is_some_and(|promise| promise.target().is_some()),
        "every task has a promise with a resonate:target",
        || format!("task {id} has no targeted promise"),
    )?;
    let timer = task.timer.as_ref();
    let kind = timer.map(|timer| timer.kind);
    let consistent = match task.state {
        TaskState::Pending => kind == Some(TimerKind::Retry),
        TaskState::Acquired => kind == Some(TimerKind::Lease),
        TaskState::Suspended | TaskState::Halted | TaskState::Fulfilled => kind.is_none(),
    };
    ensure(consistent, "a task's timer matches its state", || {
        format!("task {id} is {:?} with timer {timer:?}", task.state)
    })?;
    let Some(timer) = timer else {
        return Ok(());
    };
    let horizon = match timer.kind {
        TimerKind::Retry => {
            let delay = promise.and_then(|promise| promise.tags.get(TAG_DELAY));
            let delay = delay.and_then(|text| text.parse().ok()).map(Timestamp);
            now.plus_ms(limits.retry_timeout_ms).max(delay.unwrap_or_default())
        }
        TimerKind::Lease => now.plus_ms(limits.lease_ms),
    };
    ensure(timer.at <= horizon, "a task's timer is within its horizon", || {
        format!("task {id} timer {timer:?} beyond {horizon}")
    })?;
    ensure(
        (timer.kind == TimerKind::Lease) == timer.pid.is_some(),
        "a lease names its holder",
        || format!("task {id} timer {timer:?}"),
    )
}

fn check_waits(snapshot: &Snapshot, index: &Index<'_>) -> Check {
    for callback in &snapshot.callbacks {
        let awaited = index.promise(&callback.awaited);
        let awaiter = index.task(&callback.awaiter);
        ensure(awaited.is_some() && awaiter.is_some(), "callbacks join existing rows", || {
            format!("{callback:?}")
        })?;
        let settled = awaited.is_some_and(|promise| !promise.state.is_pending());
        ensure(
            callback.ready == settled,
            "a callback is ready exactly when its promise settled",
            || format!("{callback:?} but {} is settled: {settled}", callback.awaited),
        )?;
        ensure(
            awaiter.is_some_and(|task| task.state != TaskState::Fulfilled),
            "a fulfilled task waits for nothing",
            || format!("{callback:?} has a fulfilled awaiter"),
        )?;
    }
    for task in snapshot.tasks.iter().filter(|task| task.state == TaskState::Suspended) {
        let waits: Vec<bool> = snapshot
            .callbacks
            .iter()
            .filter(|callback| callback.awaiter == task.id)
            .map(|callback| callback.ready)
            .collect();
        ensure(
            !waits.is_empty() && !waits.contains(&true),
            "a suspended task waits only on pending promises",
            || format!("task {} is suspended with callbacks ready: {waits:?}", task.id),
        )?;
    }
    for listener in &snapshot.listeners {
        let pending =
            index.promise(&listener.promise_id).is_some_and(|promise| promise.state.is_pending());
        ensure(pending, "listeners only exist on pending promises", || format!("{listener:?}"))?;
    }
    Ok(())
}

fn check_messages(
    snapshot: &Snapshot,
    index: &Index<'_>,
    now: Timestamp,
    limits: &Limits,
) -> Check {
    for message in &snapshot.messages {
        ensure(
            message.lane == lane_of(&message.address),
            "a message's lane is its address's",
            || format!("{message:?}"),
        )?;
        match &message.body {
            MessageBody::Execute { task_id, version } => {
                let task = index.task(task_id);
                let target = index.promise(task_id).and_then(|p| p.target());
                ensure(
                    task.is_some_and(|task| task.version >= *version)
                        && target == Some(message.address.as_str()),
                    "an execute goes to its task's target at a version it had",
                    || format!("{message:?} for task {task:?}"),
                )?;
            }
            MessageBody::Unblock { promise_id } => {
                let settled =
                    index.promise(promise_id).is_some_and(|promise| !promise.state.is_pending());
                ensure(settled, "an unblock is for a settled promise", || format!("{message:?}"))?;
            }
        }
        let (horizon, invariant) = if message.leased {
            (limits.claim_lease_ms, "a claimed message's lease ends within the claim horizon")
        } else {
            (limits.defer_ms, "an unclaimed message is deferred at most a park or a back-off")
        };
        ensure(message.due_at <= now.plus_ms(horizon), invariant, || {
            format!("{message:?} at now {now}")
        })?;
        ensure(
            !message.leased || message.attempts >= 1,
            "a claimed message counts its attempt",
            || format!("{message:?}"),
        )?;
    }
    Ok(())
}

/// True when `command` may change the store. Steps whose commands cannot leave the store as it
/// was; since every snapshot invariant only gets easier as time passes (horizons are relative to
/// now, settlements must lie in the past), such a step needs no new snapshot.
pub fn may_write(command: &Command) -> bool {
    match command {
        Command::ClaimMessages { claims, parks, drops, .. } => {
            !(claims.is_empty() && parks.is_empty() && drops.is_empty())
        }
        Command::WakeLanes { lanes } => !lanes.is_empty(),
        other => !other.is_read_only(),
    }
}

/// Every change from `prev` to `next` must be one the committed commands can cause.
pub fn check_transition(
    prev: &Snapshot,
    next: &Snapshot,
    committed: &[Command],
    now: Timestamp,
) -> Check {
    let index = Index::new(next);
    for before in &prev.promises {
        let Some(after) = index.promise(&before.id) else {
            return Err(Violation::new("promises are never deleted", before.id.clone()));
        };
        if before == after {
            continue;
        }
        let same_request = before.param == after.param
            && before.tags == after.tags
            && before.timeout_at == after.timeout_at
            && before.created_at == after.created_at;
        ensure(same_request, "a promise's request never changes", || {
            format!("{before:?} became {after:?}")
        })?;
        if !before.state.is_pending() {
            ensure(
                before.state == after.state
                    && before.value == after.value
                    && before.settled_at == after.settled_at,
                "a settled promise never changes",
                || format!("{before:?} became {after:?}"),
            )?;
        }
    }
    for before in &prev.tasks {
        let Some(after) = index.task(&before.id) else {
            return Err(Violation::new("tasks are never deleted", before.id.clone()));
        };
        check_task_change(before, after, committed, now)?;
    }
    Ok(())
}

fn check_task_change(before: &Task, after: &Task, committed: &[Command], now: Timestamp) -> Check {
    let id = before.id.as_str();
    ensure(after.version >= before.version, "task versions never decrease", || {
        format!("task {id} went from v{} to v{}", before.version, after.version)
    })?;
    let acquires = committed.iter().filter(|command| acquires(command, id)).count() as i64;
    ensure(after.version - before.version <= acquires, "only an acquire moves a version", || {
        format!("task {id} v{} -> v{} with {acquires} acquires", before.version, after.version)
    })?;
    if before.state == TaskState::Fulfilled {
        return ensure(
            after.state == TaskState::Fulfilled,
            "a fulfilled task stays fulfilled",
            || format!("task {id} became {:?}", after.state),
        );
    }
    let Some(lease) = before.lease() else {
        return Ok(());
    };
    if after.version != before.version {
        return Ok(());
    }
    let version = before.version;
    let explained = match after.state {
        TaskState::Acquired => {
            let renewed = after.lease().is_some_and(|after| {
                after.pid == lease.pid && after.at >= lease.at && after.ttl_ms == lease.ttl_ms
            });
            return ensure(renewed, "a lease only grows, for its holder", || {
                format!("task {id} lease {lease:?} became {:?}", after.timer)
            });
        }
        TaskState::Pending => committed.iter().any(|command| match command {
            Command::TaskRelease { id: other, version: held } => other == id && *held == version,
            Command::Tick { .. } => now >= lease.at,
            Command::TaskContinue { id: other } => other == id,
            _ => false,
        }),
        TaskState::Suspended => committed.iter().any(|command| {
            matches!(command, Command::TaskSuspend { id: other, version: held, .. }
                if other == id && *held == version)
        }),
        TaskState::Halted => committed
            .iter()
            .any(|command| matches!(command, Command::TaskHalt { id: other } if other == id)),
        // A settlement of the task's promise, checked against the promise itself.
        TaskState::Fulfilled => true,
    };
    ensure(explained, "a lease never ends early", || {
        format!(
            "task {id} v{version} leased until {} by {:?} became {:?} at {now} after {committed:?}",
            lease.at, lease.pid, after.state
        )
    })
}

fn acquires(command: &Command, id: &str) -> bool {
    match command {
        Command::TaskAcquire { id: other, .. } => other == id,
        Command::TaskCreate { promise, .. } => promise.id == id,
        _ => false,
    }
}

/// What workers believe must agree with the store: whoever believes it holds a task at the
/// store's current version is the lease's named holder, and its lease ends no later than the
/// store says. Versions are unique per acquire, so at most one worker can hold the current one.
pub fn check_beliefs(snapshot: &Snapshot, peers: &Peers) -> Check {
    let index = Index::new(snapshot);
    let mut holders: BTreeMap<&str, &str> = BTreeMap::new();
    for peer in &peers.peers {
        for (id, held) in &peer.held {
            let Some(task) = index.task(id) else {
                return Err(Violation::new("workers hold existing tasks", id.clone()));
            };
            let Some(lease) = task.lease().filter(|_| task.version == held.version) else {
                continue;
            };
            ensure(
                lease.pid.as_deref() == Some(peer.pid.as_str()) && held.until <= lease.at,
                "a worker holding the current version holds the store's lease",
                || {
                    format!(
                        "{} believes {id} v{} until {}; store {lease:?}",
                        peer.pid, held.version, held.until
                    )
                },
            )?;
            if let Some(other) = holders.insert(id.as_str(), peer.pid.as_str()) {
                return Err(Violation::new(
                    "at most one live lease per task",
                    format!("{other} and {} both hold {id} v{}", peer.pid, held.version),
                ));
            }
        }
    }
    Ok(())
}
