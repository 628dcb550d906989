//! Settling promises and the settlement cascade (protocol.md §4.4–4.5), including lazy timeouts.

use crate::kernel::KernelConfig;
use crate::model::{Promise, PromiseState, TaskState, TaskTimer, Value};
use crate::time::Timestamp;
use crate::txn::{Txn, TxnResult};
use crate::write::Write;

/// Reads a promise, first timing it out if its deadline has passed ("lazy timeout").
pub(crate) fn fresh_promise(
    txn: &mut dyn Txn,
    id: &str,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<Option<Promise>> {
    let Some(promise) = txn.promise(id)? else {
        return Ok(None);
    };
    if !promise.is_expired(now) {
        return Ok(Some(promise));
    }
    let settled = time_out(txn, &promise)?;
    cascade(txn, std::slice::from_ref(&settled), now, config)?;
    Ok(Some(settled))
}

/// Applies lazy timeouts to several ids, in order.
pub(crate) fn refresh_all(
    txn: &mut dyn Txn,
    ids: &[&str],
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<()> {
    for id in ids {
        fresh_promise(txn, id, now, config)?;
    }
    Ok(())
}

/// Settles a pending promise by request and runs the cascade; returns the settled promise.
pub(crate) fn settle(
    txn: &mut dyn Txn,
    promise: &Promise,
    state: PromiseState,
    value: Value,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<Promise> {
    debug_assert!(promise.state.is_pending());
    let settled = Promise { state, value, settled_at: Some(now), ..promise.clone() };
    write_settlement(txn, &settled)?;
    cascade(txn, std::slice::from_ref(&settled), now, config)?;
    Ok(settled)
}

/// Moves an expired promise to its timeout state without the cascade (callers run it, possibly
/// for a whole batch at once). The value is kept and `settledAt` is the deadline itself.
pub(crate) fn time_out(txn: &mut dyn Txn, promise: &Promise) -> TxnResult<Promise> {
    let settled = Promise {
        state: promise.timeout_state(),
        settled_at: Some(promise.timeout_at),
        ..promise.clone()
    };
    write_settlement(txn, &settled)?;
    Ok(settled)
}

fn write_settlement(txn: &mut dyn Txn, settled: &Promise) -> TxnResult<()> {
    txn.write(Write::SettlePromise {
        id: settled.id.clone(),
        state: settled.state,
        value: settled.value.clone(),
        settled_at: settled.settled_at.unwrap_or_default(),
    })
}

/// The cascade for promises that just settled, in three phases over the whole batch so that a
/// task fulfilled by its own promise's settlement is never resumed by another promise of the batch.
pub(crate) fn cascade(
    txn: &mut dyn Txn,
    settled: &[Promise],
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<()> {
    for promise in settled {
        fulfil_own_task(txn, &promise.id)?;
    }
    for promise in settled {
        resume_awaiters(txn, &promise.id, now, config)?;
        unblock_listeners(txn, &promise.id, now)?;
    }
    Ok(())
}

/// A settled promise's task is finished: fulfilled, timer gone, its waits forgotten.
pub(crate) fn fulfil_own_task(txn: &mut dyn Txn, id: &str) -> TxnResult<()> {
    let Some(task) = txn.task(id)? else {
        return Ok(());
    };
    if task.state == TaskState::Fulfilled {
        return Ok(());
    }
    txn.write(Write::UpdateTask {
        id: task.id.clone(),
        state: TaskState::Fulfilled,
        version: task.version,
        timer: None,
    })?;
    txn.write(Write::DeleteCallbacksOfAwaiter { awaiter: task.id })
}

fn resume_awaiters(
    txn: &mut dyn Txn,
    awaited: &str,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<()> {
    let callbacks = txn.callbacks_on(awaited)?;
    if callbacks.is_empty() {
        return Ok(());
    }
    txn.write(Write::MarkCallbacksReady { awaited: awaited.to_owned() })?;
    for callback in callbacks {
        let Some(task) = txn.task(&callback.awaiter)? else {
            continue;
        };
        if task.state == TaskState::Suspended {
            make_pending(txn, &task.id, task.version, now, config)?;
        }
    }
    Ok(())
}

fn unblock_listeners(txn: &mut dyn Txn, promise_id: &str, now: Timestamp) -> TxnResult<()> {
    let addresses = txn.listeners(promise_id)?;
    if addresses.is_empty() {
        return Ok(());
    }
    for address in addresses {
        let lane = crate::address::lane_of(&address);
        txn.write(Write::PutUnblock {
            promise_id: promise_id.to_owned(),
            address,
            lane,
            due_at: now,
        })?;
    }
    txn.write(Write::DeleteListeners { promise_id: promise_id.to_owned() })
}

/// Returns a task to pending with a fresh retry timer and queues its execute message.
pub(crate) fn make_pending(
    txn: &mut dyn Txn,
    task_id: &str,
    version: i64,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<()> {
    txn.write(Write::UpdateTask {
        id: task_id.to_owned(),
        state: TaskState::Pending,
        version,
        timer: Some(retry_timer(now, config)),
    })?;
    queue_execute(txn, task_id, version, now)
}

/// Queues `execute {task, version}` to the task's target, if its promise has one.
pub(crate) fn queue_execute(
    txn: &mut dyn Txn,
    task_id: &str,
    version: i64,
    now: Timestamp,
) -> TxnResult<()> {
    let Some(promise) = txn.promise(task_id)? else {
        return Ok(());
    };
    let Some(address) = promise.target() else {
        return Ok(());
    };
    txn.write(Write::PutExecute {
        task_id: task_id.to_owned(),
        version,
        address: address.to_owned(),
        lane: crate::address::lane_of(address),
        due_at: now,
    })
}

pub(crate) fn retry_timer(now: Timestamp, config: &KernelConfig) -> TaskTimer {
    retry_timer_at(now.plus_ms(config.retry_timeout_ms), config)
}

pub(crate) fn retry_timer_at(at: Timestamp, config: &KernelConfig) -> TaskTimer {
    TaskTimer::retry(at, config.retry_timeout_ms)
}
