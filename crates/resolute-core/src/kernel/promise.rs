//! The promise operations: get, create, settle, register_callback, register_listener.

use crate::command::{CreatePromise, SettlePromise};
use crate::kernel::create::{insert_promise, TaskStart};
use crate::kernel::settle::{fresh_promise, make_pending, refresh_all, settle};
use crate::kernel::KernelConfig;
use crate::model::{Promise, TaskState};
use crate::reply::{CallbackReply, ListenerReply, PromiseReply};
use crate::time::Timestamp;
use crate::txn::{Txn, TxnResult};
use crate::write::Write;

pub(crate) fn get(
    txn: &mut dyn Txn,
    id: &str,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<PromiseReply> {
    Ok(match fresh_promise(txn, id, now, config)? {
        Some(promise) => PromiseReply::Found(promise),
        None => PromiseReply::NotFound,
    })
}

/// Idempotent by id: an existing promise is returned as stored, whatever the request says.
pub(crate) fn create(
    txn: &mut dyn Txn,
    request: &CreatePromise,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<Promise> {
    if let Some(existing) = fresh_promise(txn, &request.id, now, config)? {
        return Ok(existing);
    }
    let (promise, _) = insert_promise(txn, request, now, TaskStart::Dispatch, now, config)?;
    Ok(promise)
}

/// Settling an already settled promise changes nothing and returns it as stored.
pub(crate) fn settle_by_request(
    txn: &mut dyn Txn,
    request: &SettlePromise,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<PromiseReply> {
    let Some(promise) = fresh_promise(txn, &request.id, now, config)? else {
        return Ok(PromiseReply::NotFound);
    };
    if !promise.state.is_pending() {
        return Ok(PromiseReply::Found(promise));
    }
    let settled = settle(txn, &promise, request.state.into(), request.value.clone(), now, config)?;
    Ok(PromiseReply::Found(settled))
}

pub(crate) fn register_callback(
    txn: &mut dyn Txn,
    awaited_id: &str,
    awaiter_id: &str,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<CallbackReply> {
    refresh_all(txn, &[awaited_id, awaiter_id], now, config)?;
    let Some(awaited) = txn.promise(awaited_id)? else {
        return Ok(CallbackReply::AwaitedNotFound);
    };
    let Some(awaiter) = txn.promise(awaiter_id)? else {
        return Ok(CallbackReply::AwaiterNotFound);
    };
    if awaiter.target().is_none() {
        return Ok(CallbackReply::AwaiterNotTargeted);
    }
    if awaited.state.is_pending() {
        if awaiter.state.is_pending() {
            txn.write(Write::InsertCallback {
                awaited: awaited.id.clone(),
                awaiter: awaiter.id.clone(),
                ready: false,
            })?;
        }
        return Ok(CallbackReply::Registered(awaited));
    }
    record_settled_wait(txn, &awaited, &awaiter, now, config)?;
    Ok(CallbackReply::Registered(awaited))
}

/// The awaited promise is already settled: a suspended awaiter resumes at once, a pending or
/// acquired one just counts one more ready callback.
fn record_settled_wait(
    txn: &mut dyn Txn,
    awaited: &Promise,
    awaiter: &Promise,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<()> {
    let Some(task) = txn.task(&awaiter.id)? else {
        return Ok(());
    };
    let ready = Write::InsertCallback {
        awaited: awaited.id.clone(),
        awaiter: awaiter.id.clone(),
        ready: true,
    };
    match task.state {
        TaskState::Suspended => {
            make_pending(txn, &task.id, task.version, now, config)?;
            txn.write(ready)
        }
        TaskState::Pending | TaskState::Acquired => txn.write(ready),
        TaskState::Halted | TaskState::Fulfilled => Ok(()),
    }
}

/// Listeners are stored only on pending promises; on a settled one nothing is sent.
pub(crate) fn register_listener(
    txn: &mut dyn Txn,
    awaited_id: &str,
    address: &str,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<ListenerReply> {
    let Some(awaited) = fresh_promise(txn, awaited_id, now, config)? else {
        return Ok(ListenerReply::AwaitedNotFound);
    };
    if awaited.state.is_pending() {
        txn.write(Write::InsertListener {
            promise_id: awaited.id.clone(),
            address: address.to_owned(),
        })?;
    }
    Ok(ListenerReply::Registered(awaited))
}
