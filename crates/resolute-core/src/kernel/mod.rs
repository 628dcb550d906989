//! The kernel: `execute(command, txn, now, config)` applies one protocol operation.

mod create;
mod dispatch;
mod promise;
mod schedule;
mod search;
mod settle;
mod suspend;
mod task;
mod tick;

use crate::command::Command;
use crate::reply::Reply;
use crate::time::Timestamp;
use crate::txn::{Txn, TxnResult};
use crate::write::Write;

/// Settings that change protocol behaviour.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    /// How long a pending task waits before its execute is sent again (`tasks.retry_timeout`).
    pub retry_timeout_ms: i64,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig { retry_timeout_ms: 30_000 }
    }
}

/// Runs one command inside an open transaction at time `now`. On `Err` the caller must roll the
/// transaction back: the kernel may have written part of its changes.
pub fn execute(
    command: &Command,
    txn: &mut dyn Txn,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<Reply> {
    Ok(match command {
        Command::PromiseGet { id } => Reply::PromiseGet(promise::get(txn, id, now, config)?),
        Command::PromiseCreate(request) => {
            Reply::PromiseCreate(promise::create(txn, request, now, config)?)
        }
        Command::PromiseSettle(request) => {
            Reply::PromiseSettle(promise::settle_by_request(txn, request, now, config)?)
        }
        Command::PromiseRegisterCallback { awaited, awaiter } => Reply::PromiseRegisterCallback(
            promise::register_callback(txn, awaited, awaiter, now, config)?,
        ),
        Command::PromiseRegisterListener { awaited, address } => Reply::PromiseRegisterListener(
            promise::register_listener(txn, awaited, address, now, config)?,
        ),
        Command::PromiseSearch(query) => Reply::PromiseSearch(search::promises(txn, query)?),
        Command::TaskSearch(query) => Reply::TaskSearch(search::tasks(txn, query)?),
        Command::ScheduleSearch(query) => Reply::ScheduleSearch(search::schedules(txn, query)?),
        Command::ScheduleGet { id } => Reply::ScheduleGet(schedule::get(txn, id)?),
        Command::ScheduleCreate(request) => {
            Reply::ScheduleCreate(schedule::create(txn, request, now)?)
        }
        Command::ScheduleDelete { id } => Reply::ScheduleDelete(schedule::delete(txn, id)?),
        Command::DebugReset => {
            txn.write(Write::DeleteAll)?;
            Reply::DebugReset
        }
        Command::DebugSnap => Reply::DebugSnap(Box::new(txn.snapshot()?)),
        Command::Tick { limit } => Reply::Tick(tick::tick(txn, *limit, now, config)?),
        Command::DueMessages { limit, lanes } => {
            Reply::DueMessages(txn.due_messages(now, *limit, lanes)?)
        }
        Command::OutboxBacklog { limit } => Reply::OutboxBacklog(txn.lane_backlogs(*limit)?),
        Command::OutboxMessage { key } => Reply::OutboxMessage(txn.message(key)?),
        Command::ClaimMessages { claims, parks, park_until, drops, lease_until } => {
            let request = dispatch::ClaimRequest {
                claims,
                parks,
                park_until: *park_until,
                drops,
                lease_until: *lease_until,
                now,
            };
            Reply::ClaimMessages(dispatch::claim(txn, request)?)
        }
        Command::SettleDelivery { key, version, attempts, outcome } => {
            dispatch::settle(txn, key, *version, *attempts, *outcome)?;
            Reply::Done
        }
        Command::WakeLanes { lanes } => {
            txn.write(Write::WakeLanes { lanes: lanes.clone(), now })?;
            Reply::Done
        }
        Command::ReleaseLeases => {
            txn.write(Write::ReleaseLeases { now })?;
            Reply::Done
        }
        Command::RequeueHanded { handed } => {
            Reply::Requeued(dispatch::requeue_handed(txn, handed, now)?)
        }
        task_command => execute_task(task_command, txn, now, config)?,
    })
}

fn execute_task(
    command: &Command,
    txn: &mut dyn Txn,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<Reply> {
    Ok(match command {
        Command::TaskGet { id } => Reply::TaskGet(task::get(txn, id, now, config)?),
        Command::TaskCreate { pid, ttl_ms, promise } => {
            Reply::TaskCreate(task::create(txn, pid, *ttl_ms, promise, now, config)?)
        }
        Command::TaskAcquire { id, version, pid, ttl_ms } => {
            Reply::TaskAcquire(task::acquire(txn, id, *version, pid, *ttl_ms, now, config)?)
        }
        Command::TaskRelease { id, version } => {
            Reply::TaskRelease(task::release(txn, id, *version, now, config)?)
        }
        Command::TaskFulfill { id, version, settle } => {
            Reply::TaskFulfill(task::fulfill(txn, id, *version, settle, now, config)?)
        }
        Command::TaskSuspend { id, version, awaited } => {
            Reply::TaskSuspend(suspend::suspend(txn, id, *version, awaited, now, config)?)
        }
        Command::TaskFence { id, version, action } => {
            Reply::TaskFence(suspend::fence(txn, id, *version, action, now, config)?)
        }
        Command::TaskHeartbeat { pid, tasks } => {
            task::heartbeat(txn, pid, tasks, now)?;
            Reply::TaskHeartbeat
        }
        Command::TaskHalt { id } => Reply::TaskHalt(task::halt(txn, id, now, config)?),
        Command::TaskContinue { id } => {
            Reply::TaskContinue(task::resume_halted(txn, id, now, config)?)
        }
        other => unreachable!("execute routes {other:?} elsewhere"),
    })
}
