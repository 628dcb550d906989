//! The messages the server sends to workers and listeners (protocol §4.8), as compact JSON.

use serde::Serialize;
use serde_json::{json, Value as Json};

use resolute_core::Promise;

use crate::render::promise_json;

/// `{"kind":"execute","head":{"serverUrl":…},"data":{"task":{"id","version"}}}`: tells a worker
/// to acquire `task_id` at `version`, and which server to call back. Serialized from borrowed
/// fields, keys in the sorted order a JSON tree prints them: one is written per dispatched task,
/// and building the tree first cost about 10k instructions of the server's ~475k per task.
pub fn execute_message(task_id: &str, version: i64, server_url: &str) -> String {
    // Borrowed strings and an integer: serializing them cannot fail.
    serde_json::to_string(&execute(task_id, version, Some(server_url))).unwrap_or_default()
}

/// The execute message; `debug.snap` shows it without a `serverUrl` (an empty head).
fn execute<'a>(task_id: &'a str, version: i64, server_url: Option<&'a str>) -> Execute<'a> {
    Execute {
        data: ExecuteData { task: TaskRef { id: task_id, version } },
        head: ExecuteHead { server_url },
        kind: "execute",
    }
}

#[derive(Serialize)]
struct Execute<'a> {
    data: ExecuteData<'a>,
    head: ExecuteHead<'a>,
    kind: &'static str,
}

#[derive(Serialize)]
struct ExecuteData<'a> {
    task: TaskRef<'a>,
}

#[derive(Serialize)]
struct TaskRef<'a> {
    id: &'a str,
    version: i64,
}

#[derive(Serialize)]
struct ExecuteHead<'a> {
    #[serde(rename = "serverUrl", skip_serializing_if = "Option::is_none")]
    server_url: Option<&'a str>,
}

/// `{"kind":"unblock","head":{},"data":{"promise":…}}`: the settled promise for a listener. Unlike
/// execute's, the head is empty: the reference sends no `serverUrl` here and SDKs expect none.
pub fn unblock_message(promise: &Promise) -> String {
    unblock_json(promise).to_string()
}

/// The execute message as a value, with an empty head (for `debug.snap`).
pub(crate) fn execute_json(task_id: &str, version: i64) -> Json {
    serde_json::to_value(execute(task_id, version, None)).unwrap_or(Json::Null)
}

pub(crate) fn unblock_json(promise: &Promise) -> Json {
    json!({ "kind": "unblock", "head": {}, "data": { "promise": promise_json(promise) } })
}
