//! The messages the server sends to workers and listeners (protocol §4.8), as compact JSON.

use serde_json::{json, Value as Json};

use resolute_core::Promise;

use crate::render::promise_json;

/// `{"kind":"execute","head":{"serverUrl":…},"data":{"task":{"id","version"}}}`: tells a worker
/// to acquire `task_id` at `version`, and which server to call back.
pub fn execute_message(task_id: &str, version: i64, server_url: &str) -> String {
    execute_json(task_id, version, json!({ "serverUrl": server_url })).to_string()
}

/// `{"kind":"unblock","head":{},"data":{"promise":…}}`: the settled promise for a listener. Unlike
/// execute's, the head is empty: the reference sends no `serverUrl` here and SDKs expect none.
pub fn unblock_message(promise: &Promise) -> String {
    unblock_json(promise).to_string()
}

pub(crate) fn execute_json(task_id: &str, version: i64, head: Json) -> Json {
    json!({
        "kind": "execute",
        "head": head,
        "data": { "task": { "id": task_id, "version": version } },
    })
}

pub(crate) fn unblock_json(promise: &Promise) -> Json {
    json!({ "kind": "unblock", "head": {}, "data": { "promise": promise_json(promise) } })
}
