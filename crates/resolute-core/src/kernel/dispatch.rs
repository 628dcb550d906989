//! Outbox bookkeeping for the dispatcher: reading due rows, leasing them for an attempt, parking,
//! and recording outcomes. Moot executes (their task moved on) are withdrawn instead of delivered.

use crate::command::{Claim, DeliveryOutcome, Handed};
use crate::kernel::settle::queue_execute;
use crate::model::{Message, MessageBody, MessageKey, TaskState};
use crate::reply::{ClaimedBody, ClaimedMessage};
use crate::time::Timestamp;
use crate::txn::{Txn, TxnResult};
use crate::write::Write;

/// The lists of a claim request.
pub(crate) struct ClaimRequest<'a> {
    pub claims: &'a [Claim],
    pub parks: &'a [MessageKey],
    pub park_until: Timestamp,
    pub drops: &'a [MessageKey],
    pub lease_until: Timestamp,
    pub now: Timestamp,
}

pub(crate) fn claim(
    txn: &mut dyn Txn,
    request: ClaimRequest<'_>,
) -> TxnResult<Vec<ClaimedMessage>> {
    let mut claimed = Vec::with_capacity(request.claims.len());
    for wanted in request.claims {
        let Some(message) = txn.message(&wanted.key)? else {
            continue;
        };
        if message.version() != wanted.version || message.attempts != wanted.attempts {
            continue;
        }
        let Some(body) = claimed_body(txn, &message)? else {
            txn.write(Write::DeleteMessage { key: wanted.key.clone() })?;
            continue;
        };
        let attempts = message.attempts.saturating_add(1);
        let key = wanted.key.clone();
        txn.write(Write::LeaseMessage { key: key.clone(), due_at: request.lease_until, attempts })?;
        let version = message.version();
        let queued_at = message.queued_at;
        let address = message.address;
        claimed.push(ClaimedMessage { key, address, version, attempts, queued_at, body });
    }
    for key in request.parks {
        // Only a row that is still due is parked: one another node leased meanwhile (its due time
        // moved to the lease's end) keeps its lease, or the park would clobber a live attempt.
        if txn.message(key)?.is_some_and(|message| message.due_at <= request.now) {
            txn.write(Write::DelayMessage { key: key.clone(), due_at: request.park_until })?;
        }
    }
    for key in request.drops {
        txn.write(Write::DeleteMessage { key: key.clone() })?;
    }
    Ok(claimed)
}

/// What the worker will receive, or `None` when the message became moot: its task is no longer
/// pending at that version, or its promise is gone.
fn claimed_body(txn: &mut dyn Txn, message: &Message) -> TxnResult<Option<ClaimedBody>> {
    Ok(match &message.body {
        MessageBody::Execute { task_id, version } => txn
            .task(task_id)?
            .filter(|task| task.state == TaskState::Pending && task.version == *version)
            .map(|_| ClaimedBody::Execute { task_id: task_id.clone(), version: *version }),
        MessageBody::Unblock { promise_id } => {
            txn.promise(promise_id)?.map(|promise| ClaimedBody::Unblock { promise })
        }
    })
}

/// Applies an outcome only to the row the attempt claimed: same version, same attempt count.
pub(crate) fn settle(
    txn: &mut dyn Txn,
    key: &MessageKey,
    version: i64,
    attempts: i64,
    outcome: DeliveryOutcome,
) -> TxnResult<()> {
    let Some(message) = txn.message(key)? else {
        return Ok(());
    };
    if message.version() != version || message.attempts != attempts {
        return Ok(());
    }
    match outcome {
        DeliveryOutcome::Delivered | DeliveryOutcome::Abandoned => {
            txn.write(Write::DeleteMessage { key: key.clone() })
        }
        DeliveryOutcome::RetryAt(due_at) => {
            txn.write(Write::DelayMessage { key: key.clone(), due_at })
        }
    }
}

/// Queues again what a dead connection may have lost (`Command::RequeueHanded`). An execute the
/// worker acquired has a newer task version, and a row still queued will be delivered anyway,
/// so only what would otherwise wait for a retry timer, or for ever, is put back. Returns how
/// many it queued.
pub(crate) fn requeue_handed(
    txn: &mut dyn Txn,
    handed: &[Handed],
    now: Timestamp,
) -> TxnResult<usize> {
    let mut requeued = 0;
    for message in handed {
        match message {
            Handed::Execute { task_id, version } => {
                let key = MessageKey::Execute(task_id.clone());
                let pending = txn.task(task_id)?.is_some_and(|task| {
                    task.state == TaskState::Pending && task.version == *version
                });
                if pending && txn.message(&key)?.is_none() {
                    queue_execute(txn, task_id, *version, now)?;
                    requeued += 1;
                }
            }
            Handed::Unblock { promise_id, address } => {
                let key = MessageKey::Unblock(promise_id.clone(), address.clone());
                let settled =
                    txn.promise(promise_id)?.is_some_and(|promise| !promise.state.is_pending());
                if settled && txn.message(&key)?.is_none() {
                    txn.write(Write::PutUnblock {
                        promise_id: promise_id.clone(),
                        address: address.clone(),
                        lane: crate::address::lane_of(address),
                        due_at: now,
                    })?;
                    requeued += 1;
                }
            }
        }
    }
    Ok(requeued)
}
