//! Outbox bookkeeping for the dispatcher: reading due rows, leasing them for an attempt, parking,
//! and recording outcomes. Moot executes (their task moved on) are withdrawn instead of delivered.

use crate::command::{Claim, DeliveryOutcome};
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
