//! schedule.* operations over HTTP and firing through the timeout pass.

use serde_json::{json, Value};

use crate::{assert_error, paused_server, tick, T0};

fn schedule(id: &str, cron: &str, tags: Value) -> Value {
    json!({"id": id, "cron": cron, "promiseId": "{{.id}}.{{.timestamp}}", "promiseTimeout": 60_000, "promiseTags": tags})
}

#[tokio::test]
async fn create_get_search_delete() {
    let server = paused_server().await;
    let target = json!({"resonate:target": "poll://any@batch"});
    let (status, body) = server
        .rpc_at(T0, "schedule.create", schedule("nightly", "0 2 * * *", target.clone()))
        .await;
    assert_eq!(status, 200, "{body}");
    let created = body["data"]["schedule"].clone();
    assert_eq!(created["createdAt"], T0);
    assert!(created.get("lastRunAt").is_none());
    assert!(created["nextRunAt"].as_i64().unwrap() > T0);
    let again =
        server.rpc_at(T0 + 5, "schedule.create", schedule("nightly", "* * * * *", target)).await;
    assert_eq!(again.1["data"]["schedule"], created);
    let (status, body) = server.rpc("schedule.get", json!({"id": "nightly"})).await;
    assert_eq!((status, body["data"]["schedule"].clone()), (200, created));
    let (status, body) = server.rpc("schedule.search", json!({})).await;
    assert_eq!((status, body["data"]["schedules"].as_array().unwrap().len()), (200, 1));
    assert_eq!(server.rpc("schedule.delete", json!({"id": "nightly"})).await.0, 200);
    assert_error(
        &server.rpc("schedule.delete", json!({"id": "nightly"})).await,
        404,
        "Schedule not found",
    );
    assert_error(
        &server.rpc("schedule.get", json!({"id": "nightly"})).await,
        404,
        "Schedule not found",
    );
}

#[tokio::test]
async fn create_validates_id_cron_and_target() {
    let server = paused_server().await;
    let target = json!({"resonate:target": "poll://any@batch"});
    let reply =
        server.rpc_at(T0, "schedule.create", schedule("a.b", "* * * * *", target.clone())).await;
    assert_error(&reply, 400, "Schedule ID must not contain '.'");
    let reply = server.rpc_at(T0, "schedule.create", schedule("s", "* * * * 0", target)).await;
    assert_error(&reply, 400, "Invalid cron expression");
    let reply = server.rpc_at(T0, "schedule.create", schedule("s", "* * * * *", json!({}))).await;
    assert_error(&reply, 400, "promiseTags must include a resonate:target tag");
}

#[tokio::test]
async fn a_due_schedule_fires_one_promise_with_its_tags() {
    let server = paused_server().await;
    let target = json!({"resonate:target": "poll://any@batch"});
    let (_, body) =
        server.rpc_at(T0, "schedule.create", schedule("every", "* * * * *", target)).await;
    let next = body["data"]["schedule"]["nextRunAt"].as_i64().unwrap();
    tick(&server, next).await;
    let id = format!("every.{next}");
    let (status, body) = server.rpc_at(next, "promise.get", json!({"id": id})).await;
    assert_eq!(status, 200, "{body}");
    let tags = &body["data"]["promise"]["tags"];
    assert_eq!(tags["resonate:schedule"], "every");
    assert_eq!(tags["resonate:origin"], json!(id));
    assert_eq!(body["data"]["promise"]["timeoutAt"], next + 60_000);
    let (_, body) = server.rpc("schedule.get", json!({"id": "every"})).await;
    assert_eq!(body["data"]["schedule"]["lastRunAt"], next);
    assert_eq!(body["data"]["schedule"]["nextRunAt"], next + 60_000);
}
