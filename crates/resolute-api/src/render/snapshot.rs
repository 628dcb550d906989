//! The `debug.snap` snapshot (protocol §3.22, with compat.md R2: every pending promise has a
//! timeout row).

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use resolute_core::reply::Snapshot;
use resolute_core::{MessageBody, Promise};

use super::records::{promise_json, task_json};
use crate::message::{execute_json, unblock_json};

/// The snapshot as the reference shapes it; every list is in a defined order.
pub(crate) fn snapshot_json(snapshot: &Snapshot) -> Json {
    let mut promises: Vec<&Promise> = snapshot.promises.iter().collect();
    promises.sort_by(|a, b| a.id.cmp(&b.id));
    let promise_timeouts: Vec<Json> = promises
        .iter()
        .filter(|promise| promise.state.is_pending())
        .map(|promise| json!({ "id": promise.id, "timeout": promise.timeout_at.ms() }))
        .collect();
    let mut callbacks: Vec<_> =
        snapshot.callbacks.iter().filter(|callback| !callback.ready).collect();
    callbacks.sort();
    let mut listeners: Vec<_> = snapshot.listeners.iter().collect();
    listeners.sort();
    let mut tasks: Vec<_> = snapshot.tasks.iter().collect();
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    let task_timeouts: Vec<Json> = tasks
        .iter()
        .filter_map(|task| {
            let timer = task.timer.as_ref()?;
            Some(json!({ "id": task.id, "type": timer.kind.code(), "timeout": timer.at.ms() }))
        })
        .collect();
    json!({
        "promises": promises.iter().map(|promise| promise_json(promise)).collect::<Vec<_>>(),
        "promiseTimeouts": promise_timeouts,
        "callbacks": callbacks
            .iter()
            .map(|callback| json!({ "awaiter": callback.awaiter, "awaited": callback.awaited }))
            .collect::<Vec<_>>(),
        "listeners": listeners
            .iter()
            .map(|listener| json!({ "id": listener.promise_id, "address": listener.address }))
            .collect::<Vec<_>>(),
        "tasks": tasks.iter().map(|task| task_json(task)).collect::<Vec<_>>(),
        "taskTimeouts": task_timeouts,
        "messages": messages_json(snapshot, &promises),
    })
}

/// Outbox executes first (by task id, with an empty head), then unblocks (by promise id and
/// address) carrying the promise as the snapshot holds it.
fn messages_json(snapshot: &Snapshot, promises: &[&Promise]) -> Vec<Json> {
    let by_id: BTreeMap<&str, &Promise> =
        promises.iter().map(|promise| (promise.id.as_str(), *promise)).collect();
    let mut executes = Vec::new();
    let mut unblocks = Vec::new();
    for message in &snapshot.messages {
        match &message.body {
            MessageBody::Execute { task_id, version } => {
                executes.push(((task_id, &message.address), *version));
            }
            MessageBody::Unblock { promise_id } => {
                unblocks.push((promise_id, &message.address));
            }
        }
    }
    executes.sort();
    unblocks.sort();
    let executes = executes.into_iter().map(|((task_id, address), version)| {
        json!({ "address": address, "message": execute_json(task_id, version) })
    });
    // An unblock whose promise is gone has nothing to carry; the store's foreign keys make this
    // impossible, and a snapshot must not fail over it.
    let unblocks = unblocks.into_iter().filter_map(|(promise_id, address)| {
        let promise = by_id.get(promise_id.as_str())?;
        Some(json!({ "address": address, "message": unblock_json(promise) }))
    });
    executes.chain(unblocks).collect()
}
