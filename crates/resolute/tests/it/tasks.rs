//! task.* operations over HTTP: leases, versions, suspension, fencing and the timers.

use serde_json::{json, Value};

use crate::harness::Server;
use crate::{assert_error, create, create_targeted, paused_server, snapshot, task, tick, T0};

async fn acquire(server: &Server, id: &str, version: i64, ttl: i64, time: i64) -> (u16, Value) {
    let data = json!({"id": id, "version": version, "pid": "w1", "ttl": ttl});
    server.rpc_at(time, "task.acquire", data).await
}

fn settle_action(id: &str) -> Value {
    json!({"kind": "promise.settle", "head": {}, "data": {"id": id, "state": "resolved", "value": {"data": "b2s="}}})
}

#[tokio::test]
async fn acquire_bumps_the_version_and_rejects_stale_or_missing_tasks() {
    let server = paused_server().await;
    create_targeted(&server, "j").await;
    let (status, body) = acquire(&server, "j", 0, 5000, T0 + 1).await;
    assert_eq!(status, 200, "{body}");
    let expected = json!({"id": "j", "state": "acquired", "version": 1, "resumes": 0, "ttl": 5000, "pid": "w1"});
    assert_eq!(body["data"]["task"], expected);
    assert_eq!(body["data"]["promise"]["id"], "j");
    assert_eq!(body["data"]["preload"], json!([]));
    assert_error(&acquire(&server, "j", 1, 5000, T0 + 2).await, 409, "Task is not pending");
    assert_error(&acquire(&server, "nope", 0, 5000, T0).await, 404, "Task not found");
    create_targeted(&server, "k").await;
    assert_error(&acquire(&server, "k", 7, 5000, T0).await, 409, "Version mismatch");
}

#[tokio::test]
async fn release_returns_the_task_to_pending_without_bumping_the_version() {
    let server = paused_server().await;
    create_targeted(&server, "j").await;
    acquire(&server, "j", 0, 5000, T0).await;
    let (status, body) =
        server.rpc_at(T0 + 1, "task.release", json!({"id": "j", "version": 1})).await;
    assert_eq!((status, body["data"].clone()), (200, json!({})));
    assert_eq!(task(&server, "j", T0 + 1).await["version"], 1);
    let snap = snapshot(&server).await;
    assert_eq!(snap["messages"][0]["message"]["data"]["task"], json!({"id": "j", "version": 1}));
    let stale = server.rpc_at(T0 + 2, "task.release", json!({"id": "j", "version": 1})).await;
    assert_error(&stale, 409, "Task version mismatch or invalid state");
}

#[tokio::test]
async fn fulfill_settles_the_promise_and_only_once() {
    let server = paused_server().await;
    create_targeted(&server, "j").await;
    acquire(&server, "j", 0, 5000, T0).await;
    let data = json!({"id": "j", "version": 1, "action": settle_action("j")});
    let (status, body) = server.rpc_at(T0 + 5, "task.fulfill", data.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["promise"]["state"], "resolved");
    assert_eq!(body["data"]["promise"]["settledAt"], T0 + 5);
    assert_eq!(task(&server, "j", T0 + 5).await["state"], "fulfilled");
    assert_error(
        &server.rpc_at(T0 + 6, "task.fulfill", data).await,
        409,
        "Task version mismatch or invalid state",
    );
    let mismatch = json!({"id": "j", "version": 1, "action": settle_action("other")});
    assert_error(
        &server.rpc_at(T0, "task.fulfill", mismatch).await,
        400,
        "Action ID must match the task ID",
    );
}

#[tokio::test]
async fn task_create_acquires_at_version_one_and_a_retry_conflicts() {
    let server = paused_server().await;
    let action = json!({"kind": "promise.create", "head": {}, "data": {"id": "tc", "timeoutAt": T0 + 60_000, "tags": {"resonate:target": "poll://any@w"}}});
    let data = json!({"pid": "w9", "ttl": 2000, "action": action});
    let (status, body) = server.rpc_at(T0, "task.create", data.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["task"],
        json!({"id": "tc", "state": "acquired", "version": 1, "resumes": 0, "ttl": 2000, "pid": "w9"})
    );
    assert_error(&server.rpc_at(T0 + 1, "task.create", data).await, 409, "Already exists");
    create(&server, "plain", T0 + 60_000, json!({})).await;
    let action = json!({"kind": "promise.create", "head": {}, "data": {"id": "plain", "timeoutAt": T0 + 60_000, "tags": {"resonate:target": "poll://any@w"}}});
    let reply =
        server.rpc_at(T0, "task.create", json!({"pid": "w", "ttl": 1, "action": action})).await;
    assert_error(&reply, 422, "The promise does not have a resonate:target tag");
}

#[tokio::test]
async fn leases_expire_into_a_retry_unless_heartbeats_extend_them() {
    let server = paused_server().await;
    create_targeted(&server, "j").await;
    acquire(&server, "j", 0, 1000, T0).await;
    let beat = json!({"pid": "w1", "tasks": [{"id": "j", "version": 1}]});
    let (status, body) = server.rpc_at(T0 + 900, "task.heartbeat", beat).await;
    assert_eq!((status, body["data"].clone()), (200, json!({})));
    tick(&server, T0 + 1500).await;
    assert_eq!(task(&server, "j", T0 + 1500).await["state"], "acquired");
    tick(&server, T0 + 1900).await;
    let expired = task(&server, "j", T0 + 1900).await;
    assert_eq!(
        (expired["state"].clone(), expired["version"].clone()),
        (json!("pending"), json!(1))
    );
    let snap = snapshot(&server).await;
    assert_eq!(
        snap["taskTimeouts"][0],
        json!({"id": "j", "type": 0, "timeout": T0 + 1900 + 30_000})
    );
}

#[tokio::test]
async fn suspend_waits_resumes_on_settlement_and_continues_when_already_settled() {
    let server = paused_server().await;
    create_targeted(&server, "r").await;
    create(&server, "r.1", T0 + 60_000, json!({})).await;
    acquire(&server, "r", 0, 5000, T0).await;
    let wait_on = |awaited: &str, version: i64| json!({"id": "r", "version": version, "actions": [{"kind": "promise.register_callback", "head": {}, "data": {"awaited": awaited, "awaiter": "r"}}]});
    let (status, body) = server.rpc_at(T0 + 1, "task.suspend", wait_on("r.1", 1)).await;
    assert_eq!((status, body["data"].clone()), (200, json!({})));
    assert_eq!(task(&server, "r", T0 + 1).await["state"], "suspended");
    server.rpc_at(T0 + 2, "promise.settle", json!({"id": "r.1", "state": "resolved"})).await;
    let resumed = task(&server, "r", T0 + 2).await;
    assert_eq!(
        (resumed["state"].clone(), resumed["resumes"].clone()),
        (json!("pending"), json!(1))
    );
    acquire(&server, "r", 1, 5000, T0 + 3).await;
    let (status, body) = server.rpc_at(T0 + 4, "task.suspend", wait_on("r.1", 2)).await;
    assert_eq!(status, 300, "{body}");
    assert_eq!(body["head"]["status"], 300);
    assert!(body["data"]["preload"].is_array());
    assert_error(
        &server.rpc_at(T0 + 5, "task.suspend", wait_on("r.zz", 2)).await,
        422,
        "Awaited promise not found",
    );
    let stale = server.rpc_at(T0 + 5, "task.suspend", wait_on("r.1", 1)).await;
    assert_error(&stale, 409, "Task is not acquired or version mismatch");
    let empty = json!({"id": "r", "version": 2, "actions": []});
    assert_error(
        &server.rpc_at(T0, "task.suspend", empty).await,
        400,
        "Actions array cannot be empty",
    );
}

#[tokio::test]
async fn fence_runs_the_inner_action_only_under_the_lease() {
    let server = paused_server().await;
    create_targeted(&server, "f").await;
    acquire(&server, "f", 0, 5000, T0).await;
    let child = json!({"kind": "promise.create", "head": {}, "data": {"id": "f.1", "timeoutAt": T0 + 9000}});
    let (status, body) = server
        .rpc_at(T0 + 1, "task.fence", json!({"id": "f", "version": 1, "action": child}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["action"]["kind"], "promise.create");
    assert_eq!(body["data"]["action"]["head"]["status"], 200);
    assert_eq!(body["data"]["action"]["data"]["promise"]["id"], "f.1");
    let settle_missing = json!({"id": "f", "version": 1, "action": settle_action("f.404")});
    let (status, body) = server.rpc_at(T0 + 2, "task.fence", settle_missing).await;
    assert_eq!((status, body["data"]["action"]["head"]["status"].clone()), (200, json!(404)));
    assert_eq!(body["data"]["action"]["data"], "Promise not found");
    let stale = json!({"id": "f", "version": 0, "action": settle_action("f.1")});
    assert_error(&server.rpc_at(T0 + 3, "task.fence", stale).await, 409, "Version mismatch");
    let bad_kind = json!({"id": "f", "version": 1, "action": {"kind": "task.get", "head": {}, "data": {"id": "f.1"}}});
    assert_error(
        &server.rpc_at(T0 + 3, "task.fence", bad_kind).await,
        400,
        "Invalid fence action kind",
    );
}

#[tokio::test]
async fn halt_and_continue_follow_the_state_table() {
    let server = paused_server().await;
    create_targeted(&server, "h").await;
    let (status, _) = server.rpc_at(T0, "task.halt", json!({"id": "h"})).await;
    assert_eq!(status, 200);
    assert_eq!(server.rpc_at(T0, "task.halt", json!({"id": "h"})).await.0, 200);
    assert_eq!(task(&server, "h", T0).await["state"], "halted");
    assert_eq!(server.rpc_at(T0, "task.continue", json!({"id": "h"})).await.0, 200);
    assert_eq!(task(&server, "h", T0).await["state"], "pending");
    assert_error(
        &server.rpc_at(T0, "task.continue", json!({"id": "h"})).await,
        409,
        "Task is not halted",
    );
    server.rpc_at(T0, "promise.settle", json!({"id": "h", "state": "resolved"})).await;
    assert_error(
        &server.rpc_at(T0, "task.halt", json!({"id": "h"})).await,
        409,
        "Task is fulfilled",
    );
    assert_error(
        &server.rpc_at(T0, "task.halt", json!({"id": "nope"})).await,
        404,
        "Task not found",
    );
    let (status, body) = server.rpc("task.search", json!({"state": "fulfilled"})).await;
    assert_eq!((status, body["data"]["tasks"][0]["id"].clone()), (200, json!("h")));
}

#[tokio::test]
async fn retry_timers_resend_executes_for_pending_tasks() {
    let server = paused_server().await;
    create_targeted(&server, "j").await;
    server.rpc("debug.reset", json!({})).await;
    assert_eq!(snapshot(&server).await["promises"], json!([]));
    create_targeted(&server, "j").await;
    tick(&server, T0 + 30_000).await;
    let snap = snapshot(&server).await;
    assert_eq!(snap["taskTimeouts"][0]["timeout"], T0 + 60_000);
    assert_eq!(snap["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn explain_shows_when_a_lease_started_and_last_made_progress_but_task_get_does_not() {
    let server = Server::start();
    let tags = json!({"resonate:target": "poll://any@nobody-listens"});
    let data = json!({"id": "held", "timeoutAt": i64::MAX / 2, "tags": tags});
    assert_eq!(server.rpc("promise.create", data).await.0, 200);
    let acquire = json!({"id": "held", "version": 0, "pid": "w1", "ttl": 60_000});
    assert_eq!(server.rpc("task.acquire", acquire).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let beat = json!({"pid": "w1", "tasks": [{"id": "held", "version": 1}]});
    assert_eq!(server.rpc("task.heartbeat", beat).await.0, 200);
    let (status, body) = server.get("/explain/held").await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    let lease = &body["task"]["lease"];
    let started = lease["startedAt"].as_i64().expect("startedAt");
    let progress = lease["lastProgressAt"].as_i64().expect("lastProgressAt");
    assert!(progress - started >= 1_000, "the heartbeat is the last progress: {lease}");
    assert_eq!(lease["expiresAt"].as_i64(), Some(progress + 60_000), "{lease}");
    assert_eq!(lease["pid"], "w1");
    let text = body["explanation"].to_string();
    assert!(text.contains("acquired by worker `w1`"), "{text}");
    assert!(text.contains("last heartbeat") && text.contains("lease expires in"), "{text}");
    // The protocol's task record (§2.3) is unchanged: the times are for operators only.
    let (_, got) = server.rpc("task.get", json!({"id": "held"})).await;
    let mut keys: Vec<_> = got["data"]["task"].as_object().expect("task").keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["id", "pid", "resumes", "state", "ttl", "version"]);
}
