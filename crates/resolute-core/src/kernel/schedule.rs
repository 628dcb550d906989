//! Schedules: create, get, delete, and firing one cron occurrence into a promise.

use crate::command::{CreatePromise, CreateSchedule};
use crate::cron::Cron;
use crate::kernel::create::{insert_promise, TaskStart};
use crate::kernel::KernelConfig;
use crate::model::{Schedule, TAG_BRANCH, TAG_ORIGIN, TAG_PARENT, TAG_PREFIX, TAG_SCHEDULE};
use crate::reply::{DeleteReply, ScheduleReply};
use crate::time::Timestamp;
use crate::txn::{Txn, TxnResult};
use crate::write::Write;

/// If an expression that passed validation cannot produce an instant, try again in a minute.
const UNPARSABLE_CRON_DELAY_MS: i64 = 60_000;

pub(crate) fn get(txn: &mut dyn Txn, id: &str) -> TxnResult<ScheduleReply> {
    Ok(match txn.schedule(id)? {
        Some(schedule) => ScheduleReply::Found(schedule),
        None => ScheduleReply::NotFound,
    })
}

/// Idempotent by id: an existing schedule is returned as stored.
pub(crate) fn create(
    txn: &mut dyn Txn,
    request: &CreateSchedule,
    now: Timestamp,
) -> TxnResult<Schedule> {
    if let Some(existing) = txn.schedule(&request.id)? {
        return Ok(existing);
    }
    let schedule = Schedule {
        id: request.id.clone(),
        cron: request.cron.clone(),
        promise_id: request.promise_id.clone(),
        promise_timeout_ms: request.promise_timeout_ms,
        promise_param: request.promise_param.clone(),
        promise_tags: request.promise_tags.clone(),
        created_at: now,
        next_run_at: next_run(&request.cron, now),
        last_run_at: None,
    };
    txn.write(Write::InsertSchedule(schedule.clone()))?;
    Ok(schedule)
}

pub(crate) fn delete(txn: &mut dyn Txn, id: &str) -> TxnResult<DeleteReply> {
    if txn.schedule(id)?.is_none() {
        return Ok(DeleteReply::NotFound);
    }
    txn.write(Write::DeleteSchedule { id: id.to_owned() })?;
    Ok(DeleteReply::Deleted)
}

/// Fires the schedule's due occurrence (its `next_run_at`) and moves it to the next one.
pub(crate) fn fire(
    txn: &mut dyn Txn,
    schedule: &Schedule,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<()> {
    let fired_at = schedule.next_run_at;
    let id = schedule
        .promise_id
        .replace("{{.id}}", &schedule.id)
        .replace("{{.timestamp}}", &fired_at.ms().to_string());
    if txn.promise(&id)?.is_none() {
        let mut tags = schedule.promise_tags.clone();
        tags.insert(TAG_SCHEDULE.to_owned(), schedule.id.clone());
        for tag in [TAG_ORIGIN, TAG_BRANCH, TAG_PARENT, TAG_PREFIX] {
            tags.insert(tag.to_owned(), id.clone());
        }
        let request = CreatePromise {
            id,
            timeout_at: fired_at.plus_ms(schedule.promise_timeout_ms),
            param: schedule.promise_param.clone(),
            tags,
        };
        insert_promise(txn, &request, fired_at, TaskStart::Dispatch, now, config)?;
    }
    txn.write(Write::UpdateScheduleRun {
        id: schedule.id.clone(),
        last_run_at: fired_at,
        next_run_at: next_run(&schedule.cron, fired_at),
    })
}

fn next_run(cron: &str, after: Timestamp) -> Timestamp {
    match Cron::parse(cron) {
        Some(cron) => cron.next_after(after),
        None => after.plus_ms(UNPARSABLE_CRON_DELAY_MS),
    }
}
