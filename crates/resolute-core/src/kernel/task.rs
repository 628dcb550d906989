//! Task operations of the lease holder and the operator: get, create, acquire, release, fulfill,
//! heartbeat, halt and continue.

use crate::command::{CreatePromise, HeldTask, SettlePromise};
use crate::kernel::create::{insert_promise, TaskStart};
use crate::kernel::settle::{fresh_promise, fulfil_own_task, make_pending, settle};
use crate::kernel::KernelConfig;
use crate::model::{Promise, Task, TaskState, TaskTimer};
use crate::reply::{
    AcquireReply, Acquired, ContinueReply, FulfillReply, HaltReply, LeaseReply, TaskCreateReply,
    TaskGetReply,
};
use crate::time::Timestamp;
use crate::txn::{Txn, TxnResult};
use crate::write::Write;

pub(crate) fn get(
    txn: &mut dyn Txn,
    id: &str,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<TaskGetReply> {
    fresh_promise(txn, id, now, config)?;
    Ok(match txn.task(id)? {
        Some(task) => TaskGetReply::Found(task),
        None => TaskGetReply::NotFound,
    })
}

/// Creates a promise with a task already acquired by the caller, or acquires the existing one.
pub(crate) fn create(
    txn: &mut dyn Txn,
    pid: &str,
    ttl_ms: i64,
    request: &CreatePromise,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<TaskCreateReply> {
    let Some(promise) = fresh_promise(txn, &request.id, now, config)? else {
        let start = TaskStart::AcquiredBy { pid, ttl_ms };
        let (promise, task) = insert_promise(txn, request, now, start, now, config)?;
        let Some(task) = task else {
            return Ok(TaskCreateReply::NoTarget);
        };
        if task.state == TaskState::Fulfilled {
            return Ok(TaskCreateReply::Fulfilled { task, promise });
        }
        let preload = preload(txn, &promise)?;
        return Ok(TaskCreateReply::Acquired(Acquired { task, promise, preload }));
    };
    let Some(task) = txn.task(&promise.id)? else {
        return Ok(TaskCreateReply::NoTarget);
    };
    Ok(match task.state {
        TaskState::Fulfilled => {
            TaskCreateReply::Fulfilled { task: Task { resumes: 0, ..task }, promise }
        }
        TaskState::Pending => {
            TaskCreateReply::Acquired(acquire_pending(txn, task, promise, pid, ttl_ms, now)?)
        }
        TaskState::Acquired | TaskState::Suspended | TaskState::Halted => {
            TaskCreateReply::AlreadyExists
        }
    })
}

pub(crate) fn acquire(
    txn: &mut dyn Txn,
    id: &str,
    version: i64,
    pid: &str,
    ttl_ms: i64,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<AcquireReply> {
    let promise = fresh_promise(txn, id, now, config)?;
    let (Some(promise), Some(task)) = (promise, txn.task(id)?) else {
        return Ok(AcquireReply::NotFound);
    };
    if task.state != TaskState::Pending {
        return Ok(AcquireReply::NotPending);
    }
    if task.version != version {
        return Ok(AcquireReply::VersionMismatch);
    }
    Ok(AcquireReply::Acquired(acquire_pending(txn, task, promise, pid, ttl_ms, now)?))
}

/// Takes the lease on a pending task: the version grows, ready callbacks are consumed.
fn acquire_pending(
    txn: &mut dyn Txn,
    task: Task,
    promise: Promise,
    pid: &str,
    ttl_ms: i64,
    now: Timestamp,
) -> TxnResult<Acquired> {
    let lease = TaskTimer::lease(pid, ttl_ms, now);
    let version = task.version.saturating_add(1);
    txn.write(Write::UpdateTask {
        id: task.id.clone(),
        state: TaskState::Acquired,
        version,
        timer: Some(lease.clone()),
    })?;
    txn.write(Write::DeleteReadyCallbacks { awaiter: task.id.clone() })?;
    let task = Task { state: TaskState::Acquired, version, timer: Some(lease), resumes: 0, ..task };
    let preload = preload(txn, &promise)?;
    Ok(Acquired { task, promise, preload })
}

/// Every promise of the task's branch except the task's own, ordered by id.
pub(crate) fn preload(txn: &mut dyn Txn, promise: &Promise) -> TxnResult<Vec<Promise>> {
    let Some(branch) = promise.branch() else {
        return Ok(Vec::new());
    };
    let mut promises = txn.branch_promises(branch)?;
    promises.retain(|other| other.id != promise.id);
    Ok(promises)
}

/// Reads a task for a lease-holder operation: present, acquired and at exactly `version`.
pub(crate) fn held_task(
    txn: &mut dyn Txn,
    id: &str,
    version: i64,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<Result<Task, LeaseReply>> {
    fresh_promise(txn, id, now, config)?;
    let Some(task) = txn.task(id)? else {
        return Ok(Err(LeaseReply::NotFound));
    };
    if task.state != TaskState::Acquired || task.version != version {
        return Ok(Err(LeaseReply::Conflict));
    }
    Ok(Ok(task))
}

pub(crate) fn release(
    txn: &mut dyn Txn,
    id: &str,
    version: i64,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<LeaseReply> {
    match held_task(txn, id, version, now, config)? {
        Ok(task) => {
            make_pending(txn, &task.id, task.version, now, config)?;
            Ok(LeaseReply::Done)
        }
        Err(reply) => Ok(reply),
    }
}

pub(crate) fn fulfill(
    txn: &mut dyn Txn,
    id: &str,
    version: i64,
    request: &SettlePromise,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<FulfillReply> {
    let task = match held_task(txn, id, version, now, config)? {
        Ok(task) => task,
        Err(LeaseReply::NotFound) => return Ok(FulfillReply::NotFound),
        Err(_) => return Ok(FulfillReply::Conflict),
    };
    let Some(promise) = txn.promise(&task.id)? else {
        return Ok(FulfillReply::NotFound);
    };
    if !promise.state.is_pending() {
        // Unreachable while the cascade keeps tasks and promises in step; fulfil the task anyway
        // so that a lease can never outlive its promise.
        fulfil_own_task(txn, &task.id)?;
        return Ok(FulfillReply::Fulfilled(promise));
    }
    let settled = settle(txn, &promise, request.state.into(), request.value.clone(), now, config)?;
    Ok(FulfillReply::Fulfilled(settled))
}

/// Extends the leases the caller still holds; anything else is silently ignored.
pub(crate) fn heartbeat(
    txn: &mut dyn Txn,
    pid: &str,
    tasks: &[HeldTask],
    now: Timestamp,
) -> TxnResult<()> {
    for held in tasks.iter().filter(|held| !held.id.is_empty()) {
        let Some(task) = txn.task(&held.id)? else {
            continue;
        };
        let Some(lease) = task.lease().filter(|lease| lease.pid.as_deref() == Some(pid)) else {
            continue;
        };
        if task.state != TaskState::Acquired || task.version != held.version {
            continue;
        }
        // A heartbeat is the holder's sign of progress: the lease is extended and says so.
        let renewed = lease.renewed(now);
        txn.write(Write::UpdateTask {
            id: task.id.clone(),
            state: task.state,
            version: task.version,
            timer: Some(renewed),
        })?;
    }
    Ok(())
}

pub(crate) fn halt(
    txn: &mut dyn Txn,
    id: &str,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<HaltReply> {
    fresh_promise(txn, id, now, config)?;
    let Some(task) = txn.task(id)? else {
        return Ok(HaltReply::NotFound);
    };
    match task.state {
        TaskState::Fulfilled => Ok(HaltReply::Fulfilled),
        TaskState::Halted => Ok(HaltReply::Halted),
        TaskState::Pending | TaskState::Acquired | TaskState::Suspended => {
            txn.write(Write::UpdateTask {
                id: task.id,
                state: TaskState::Halted,
                version: task.version,
                timer: None,
            })?;
            Ok(HaltReply::Halted)
        }
    }
}

pub(crate) fn resume_halted(
    txn: &mut dyn Txn,
    id: &str,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<ContinueReply> {
    fresh_promise(txn, id, now, config)?;
    let Some(task) = txn.task(id)? else {
        return Ok(ContinueReply::NotFound);
    };
    if task.state != TaskState::Halted {
        return Ok(ContinueReply::NotHalted);
    }
    make_pending(txn, &task.id, task.version, now, config)?;
    Ok(ContinueReply::Continued)
}
