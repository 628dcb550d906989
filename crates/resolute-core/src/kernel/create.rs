//! Creating promises (and the task a target implies), shared by every creation path.

use crate::command::CreatePromise;
use crate::kernel::settle::{queue_execute, retry_timer, retry_timer_at};
use crate::kernel::KernelConfig;
use crate::model::{Promise, PromiseState, Task, TaskState, TaskTimer, Value, TAG_DELAY};
use crate::time::Timestamp;
use crate::txn::{Txn, TxnResult};
use crate::write::Write;

/// How the task of a new targeted promise starts.
pub(crate) enum TaskStart<'a> {
    /// Pending, with its first execute queued (or deferred by `resonate:delay`).
    Dispatch,
    /// Already acquired by the creating worker (`task.create`).
    AcquiredBy { pid: &'a str, ttl_ms: i64 },
}

/// Inserts a promise that does not exist yet. `created_at` is `now` for requests and the cron
/// instant for schedules. A promise whose deadline has already passed is born settled.
pub(crate) fn insert_promise(
    txn: &mut dyn Txn,
    request: &CreatePromise,
    created_at: Timestamp,
    start: TaskStart<'_>,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<(Promise, Option<Task>)> {
    let mut promise = Promise {
        id: request.id.clone(),
        state: PromiseState::Pending,
        param: request.param.clone(),
        value: Value::default(),
        tags: request.tags.clone(),
        timeout_at: request.timeout_at,
        created_at,
        settled_at: None,
    };
    if now >= request.timeout_at {
        promise.state = promise.timeout_state();
        promise.settled_at = Some(request.timeout_at);
        if created_at == now {
            promise.created_at = request.timeout_at;
        }
    }
    txn.write(Write::InsertPromise(promise.clone()))?;
    if promise.target().is_none() {
        return Ok((promise, None));
    }
    let task = new_task(&promise, start, now, config);
    txn.write(Write::InsertTask(task.clone()))?;
    if task.state == TaskState::Pending && !is_deferred(&promise, now) {
        queue_execute(txn, &task.id, task.version, now)?;
    }
    Ok((promise, Some(task)))
}

fn new_task(
    promise: &Promise,
    start: TaskStart<'_>,
    now: Timestamp,
    config: &KernelConfig,
) -> Task {
    let (state, version, timer) = if !promise.state.is_pending() {
        (TaskState::Fulfilled, 0, None)
    } else {
        match start {
            TaskStart::Dispatch => {
                let timer = match delay_until(promise) {
                    Some(delay) if now < delay => retry_timer_at(delay, config),
                    _ => retry_timer(now, config),
                };
                (TaskState::Pending, 0, Some(timer))
            }
            TaskStart::AcquiredBy { pid, ttl_ms } => {
                (TaskState::Acquired, 1, Some(TaskTimer::lease(pid, ttl_ms, now)))
            }
        }
    };
    Task { id: promise.id.clone(), state, version, timer, resumes: 0 }
}

/// `resonate:delay` holds an absolute instant before which the first execute is not sent.
/// The reference server validates it but dispatches at once; resolute honours it, as its
/// protocol change intended: the first execute goes out when the retry timer fires at the delay.
fn delay_until(promise: &Promise) -> Option<Timestamp> {
    promise.tags.get(TAG_DELAY).and_then(|text| text.parse::<i64>().ok()).map(Timestamp)
}

fn is_deferred(promise: &Promise, now: Timestamp) -> bool {
    delay_until(promise).is_some_and(|delay| now < delay)
}
