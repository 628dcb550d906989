//! The background pass: one bounded batch each of promise timeouts, task retries, lease expiries
//! and schedule firings that are due at `now` (protocol.md §4.11, compat.md R2).

use crate::kernel::settle::{cascade, make_pending, queue_execute, retry_timer, time_out};
use crate::kernel::{schedule, KernelConfig};
use crate::model::{Task, TaskState, TaskTimer, TimerKind};
use crate::reply::TickReport;
use crate::time::Timestamp;
use crate::txn::{Txn, TxnResult};
use crate::write::Write;

/// Runs at most `limit` items of each kind. A full batch in the report means "call again".
pub(crate) fn tick(
    txn: &mut dyn Txn,
    limit: usize,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<TickReport> {
    Ok(TickReport {
        promises_timed_out: time_out_promises(txn, limit, now, config)?,
        retries_sent: resend_executes(txn, limit, now, config)?,
        leases_expired: expire_leases(txn, limit, now, config)?,
        schedules_fired: fire_schedules(txn, limit, now, config)?,
    })
}

/// Every pending promise past its deadline times out, targeted or not (compat.md R2), so that
/// listeners and awaiters of untargeted promises are not left waiting for ever.
fn time_out_promises(
    txn: &mut dyn Txn,
    limit: usize,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<usize> {
    let expired = txn.expired_promises(now, limit)?;
    let mut settled = Vec::with_capacity(expired.len());
    for promise in &expired {
        settled.push(time_out(txn, promise)?);
    }
    cascade(txn, &settled, now, config)?;
    Ok(expired.len())
}

fn resend_executes(
    txn: &mut dyn Txn,
    limit: usize,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<usize> {
    let due = txn.due_tasks(TimerKind::Retry, now, limit)?;
    for task in &due {
        if task.state != TaskState::Pending {
            set_timer(txn, task, None)?;
            continue;
        }
        set_timer(txn, task, Some(retry_timer(now, config)))?;
        queue_execute(txn, &task.id, task.version, now)?;
    }
    Ok(due.len())
}

fn expire_leases(
    txn: &mut dyn Txn,
    limit: usize,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<usize> {
    let due = txn.due_tasks(TimerKind::Lease, now, limit)?;
    for task in &due {
        if task.state == TaskState::Acquired {
            make_pending(txn, &task.id, task.version, now, config)?;
        } else {
            set_timer(txn, task, None)?;
        }
    }
    Ok(due.len())
}

/// Replaces a task's timer and nothing else. A due timer on a task in the wrong state is a stale
/// row (timers follow states): it is dropped rather than fired again and again.
fn set_timer(txn: &mut dyn Txn, task: &Task, timer: Option<TaskTimer>) -> TxnResult<()> {
    txn.write(Write::UpdateTask {
        id: task.id.clone(),
        state: task.state,
        version: task.version,
        timer,
    })
}

/// One occurrence per schedule per pass, so catch-up after downtime is gradual.
fn fire_schedules(
    txn: &mut dyn Txn,
    limit: usize,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<usize> {
    let due = txn.due_schedules(now, limit)?;
    for due_schedule in &due {
        schedule::fire(txn, due_schedule, now, config)?;
    }
    Ok(due.len())
}
