//! `task.suspend` and `task.fence`: the lease holder waiting on promises or acting under its lease.

use crate::command::FenceAction;
use crate::kernel::settle::{fresh_promise, refresh_all};
use crate::kernel::task::{held_task, preload};
use crate::kernel::{promise, KernelConfig};
use crate::model::TaskState;
use crate::reply::{FenceOutcome, FenceReply, LeaseReply, PromiseReply, SuspendReply};
use crate::time::Timestamp;
use crate::txn::{Txn, TxnResult};
use crate::write::Write;

/// Suspends the task on `awaited` unless one of them is already settled (then: continue now).
pub(crate) fn suspend(
    txn: &mut dyn Txn,
    id: &str,
    version: i64,
    awaited: &[String],
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<SuspendReply> {
    let awaited_ids: Vec<&str> = awaited.iter().map(String::as_str).collect();
    refresh_all(txn, &awaited_ids, now, config)?;
    let task = match held_task(txn, id, version, now, config)? {
        Ok(task) => task,
        Err(LeaseReply::NotFound) => return Ok(SuspendReply::NotFound),
        Err(_) => return Ok(SuspendReply::Conflict),
    };
    let mut any_settled = false;
    for awaited_id in &awaited_ids {
        match txn.promise(awaited_id)? {
            None => return Ok(SuspendReply::AwaitedNotFound),
            Some(promise) => any_settled |= !promise.state.is_pending(),
        }
    }
    txn.write(Write::DeleteReadyCallbacks { awaiter: task.id.clone() })?;
    if any_settled {
        let Some(own) = txn.promise(&task.id)? else {
            return Ok(SuspendReply::NotFound);
        };
        return Ok(SuspendReply::Continue { preload: preload(txn, &own)? });
    }
    for awaited_id in awaited_ids {
        txn.write(Write::InsertCallback {
            awaited: awaited_id.to_owned(),
            awaiter: task.id.clone(),
            ready: false,
        })?;
    }
    txn.write(Write::UpdateTask {
        id: task.id,
        state: TaskState::Suspended,
        version: task.version,
        timer: None,
    })?;
    Ok(SuspendReply::Suspended)
}

/// Runs a promise create or settle only while the caller holds the task at `version`.
pub(crate) fn fence(
    txn: &mut dyn Txn,
    id: &str,
    version: i64,
    action: &FenceAction,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<FenceReply> {
    let inner_id = match action {
        FenceAction::Create(request) => &request.id,
        FenceAction::Settle(request) => &request.id,
    };
    fresh_promise(txn, inner_id, now, config)?;
    match held_task(txn, id, version, now, config)? {
        Ok(_) => {}
        Err(LeaseReply::NotFound) => return Ok(FenceReply::NotFound),
        Err(_) => return Ok(FenceReply::VersionMismatch),
    }
    let outcome = match action {
        FenceAction::Create(request) => {
            FenceOutcome::Created(promise::create(txn, request, now, config)?)
        }
        FenceAction::Settle(request) => {
            match promise::settle_by_request(txn, request, now, config)? {
                PromiseReply::Found(settled) => FenceOutcome::Settled(settled),
                PromiseReply::NotFound => FenceOutcome::SettleNotFound,
            }
        }
    };
    let preload = match txn.promise(id)? {
        Some(own) => preload(txn, &own)?,
        None => Vec::new(),
    };
    Ok(FenceReply::Done { outcome, preload })
}
