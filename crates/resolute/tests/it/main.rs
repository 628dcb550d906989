//! The one integration-test binary: the protocol suite over real HTTP against a real server.

mod auth;
mod backpressure;
mod cli;
mod compat;
mod crash;
mod dashboard;
mod diskfull;
mod dispatch;
mod envelope;
mod flags;
mod harness;
mod hostile;
mod listener;
mod lost;
mod metrics;
mod postgres;
mod promises;
mod schedules;
mod sdk;
mod soak;
mod tasks;
mod tls;

use serde_json::{json, Value};

use crate::harness::Server;

/// The virtual "now" of the debug-time tests (the reference's differential test uses it too).
pub const T0: i64 = 1_000_000_000;

/// A debug-mode server with the background loops paused, so only debug times matter.
pub async fn paused_server() -> Server {
    let server = Server::start();
    let (status, _) = server.rpc("debug.start", json!({})).await;
    assert_eq!(status, 200);
    server
}

/// Creates a promise at T0 and returns the response data.
pub async fn create(server: &Server, id: &str, timeout_at: i64, tags: Value) -> Value {
    let data = json!({"id": id, "timeoutAt": timeout_at, "tags": tags});
    let (status, body) = server.rpc_at(T0, "promise.create", data).await;
    assert_eq!(status, 200, "create {id}: {body}");
    body["data"]["promise"].clone()
}

/// Creates a promise targeted at a poll group, which gives it a pending task at version 0.
pub async fn create_targeted(server: &Server, id: &str) -> Value {
    create(server, id, T0 + 3_600_000, json!({"resonate:target": "poll://any@workers"})).await
}

pub async fn snapshot(server: &Server) -> Value {
    let (status, body) = server.rpc("debug.snap", json!({})).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

pub async fn task(server: &Server, id: &str, time: i64) -> Value {
    let (status, body) = server.rpc_at(time, "task.get", json!({"id": id})).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["task"].clone()
}

pub async fn tick(server: &Server, time: i64) {
    let (status, body) = server.rpc("debug.tick", json!({"time": time})).await;
    assert_eq!((status, &body["data"]), (200, &json!([])), "{body}");
}

/// Asserts an error reply: status and the exact message.
pub fn assert_error(reply: &(u16, Value), status: u16, message: &str) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(reply.1["head"]["status"], json!(status), "{}", reply.1);
    assert_eq!(reply.1["data"], json!(message), "{}", reply.1);
}
