//! promise.* operations over HTTP: statuses, messages and the cascade's visible effects.

use serde_json::json;

use crate::{assert_error, create, create_targeted, paused_server, snapshot, task, T0};

#[tokio::test]
async fn create_is_idempotent_by_id_and_ignores_a_differing_retry() {
    let server = paused_server().await;
    let first = create(&server, "p1", T0 + 1000, json!({"a": "1"})).await;
    assert_eq!(first["state"], "pending");
    assert_eq!(first["createdAt"], T0);
    assert_eq!(first["value"], json!({}));
    assert!(first.get("settledAt").is_none());
    let again = create(&server, "p1", T0 + 9999, json!({"b": "2"})).await;
    assert_eq!(again, first);
}

#[tokio::test]
async fn a_promise_born_expired_is_settled_at_its_deadline() {
    let server = paused_server().await;
    let expired = create(&server, "late", T0 - 5, json!({})).await;
    assert_eq!(expired["state"], "rejected_timedout");
    assert_eq!(
        (expired["createdAt"].clone(), expired["settledAt"].clone()),
        (json!(T0 - 5), json!(T0 - 5))
    );
    let timer = create(&server, "sleep", T0, json!({"resonate:timer": "true"})).await;
    assert_eq!(timer["state"], "resolved");
}

#[tokio::test]
async fn get_applies_the_lazy_timeout_and_reports_missing_promises() {
    let server = paused_server().await;
    create(&server, "p", T0 + 100, json!({})).await;
    let reply = server.rpc_at(T0 + 50, "promise.get", json!({"id": "p"})).await;
    assert_eq!(reply.1["data"]["promise"]["state"], "pending");
    let reply = server.rpc_at(T0 + 100, "promise.get", json!({"id": "p"})).await;
    assert_eq!(reply.1["data"]["promise"]["state"], "rejected_timedout");
    assert_eq!(reply.1["data"]["promise"]["settledAt"], T0 + 100);
    let missing = server.rpc_at(T0, "promise.get", json!({"id": "nope"})).await;
    assert_error(&missing, 404, "Promise not found");
    let empty = server.rpc_at(T0, "promise.get", json!({"id": ""})).await;
    assert_error(&empty, 400, "Promise ID is required");
}

#[tokio::test]
async fn settle_is_first_wins_and_returns_the_stored_promise() {
    let server = paused_server().await;
    create(&server, "p", T0 + 1000, json!({})).await;
    let data = json!({"id": "p", "state": "resolved", "value": {"data": "eQ=="}});
    let (status, body) = server.rpc_at(T0 + 1, "promise.settle", data).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["promise"]["state"], "resolved");
    assert_eq!(body["data"]["promise"]["settledAt"], T0 + 1);
    assert_eq!(body["data"]["promise"]["value"], json!({"data": "eQ=="}));
    let data = json!({"id": "p", "state": "rejected"});
    let (status, body) = server.rpc_at(T0 + 2, "promise.settle", data).await;
    assert_eq!((status, body["data"]["promise"]["state"].clone()), (200, json!("resolved")));
    let missing =
        server.rpc_at(T0, "promise.settle", json!({"id": "x", "state": "resolved"})).await;
    assert_error(&missing, 404, "Promise not found");
    let bad =
        server.rpc_at(T0, "promise.settle", json!({"id": "p", "state": "rejected_timedout"})).await;
    assert_eq!(bad.0, 400);
    assert!(bad.1["data"].as_str().unwrap().starts_with("Invalid request: unknown variant"));
}

#[tokio::test]
async fn a_targeted_promise_gets_a_pending_task_and_an_execute_message() {
    let server = paused_server().await;
    create_targeted(&server, "job").await;
    let task = task(&server, "job", T0).await;
    assert_eq!(task, json!({"id": "job", "state": "pending", "version": 0, "resumes": 0}));
    let snap = snapshot(&server).await;
    let message = &snap["messages"][0];
    assert_eq!(message["address"], "poll://any@workers");
    assert_eq!(message["message"]["data"]["task"], json!({"id": "job", "version": 0}));
    assert_eq!(snap["taskTimeouts"][0], json!({"id": "job", "type": 0, "timeout": T0 + 30_000}));
    let invalid = server
        .rpc_at(
            T0,
            "promise.create",
            json!({"id": "q", "timeoutAt": T0 + 1, "tags": {"resonate:target": "ftp://x"}}),
        )
        .await;
    assert_error(&invalid, 400, "Invalid resonate:target address");
}

#[tokio::test]
async fn listeners_fire_once_on_settlement_and_not_on_settled_promises() {
    let server = paused_server().await;
    create(&server, "p", T0 + 1000, json!({})).await;
    let data = json!({"awaited": "p", "address": "poll://uni@ui/s1"});
    let (status, body) = server.rpc_at(T0, "promise.register_listener", data.clone()).await;
    assert_eq!((status, body["data"]["promise"]["id"].clone()), (200, json!("p")));
    server.rpc_at(T0, "promise.register_listener", data).await;
    assert_eq!(snapshot(&server).await["listeners"].as_array().unwrap().len(), 1);
    server.rpc_at(T0 + 1, "promise.settle", json!({"id": "p", "state": "resolved"})).await;
    let snap = snapshot(&server).await;
    assert_eq!(snap["listeners"], json!([]));
    assert_eq!(snap["messages"][0]["message"]["kind"], "unblock");
    assert_eq!(snap["messages"][0]["message"]["data"]["promise"]["state"], "resolved");
    let bad = json!({"awaited": "p", "address": "nonsense"});
    assert_error(
        &server.rpc_at(T0, "promise.register_listener", bad).await,
        400,
        "Invalid listener address",
    );
    let missing = json!({"awaited": "zz", "address": "poll://any@g"});
    assert_error(
        &server.rpc_at(T0, "promise.register_listener", missing).await,
        404,
        "Awaited promise not found",
    );
}

#[tokio::test]
async fn register_callback_checks_each_party_in_order() {
    let server = paused_server().await;
    create(&server, "o", T0 + 1000, json!({})).await;
    create_targeted(&server, "o.t").await;
    create(&server, "o.plain", T0 + 1000, json!({})).await;
    let call = |awaited: &str, awaiter: &str| json!({"awaited": awaited, "awaiter": awaiter});
    let reply = server.rpc_at(T0, "promise.register_callback", call("o.none", "o.t")).await;
    assert_error(&reply, 404, "Awaited promise not found");
    let reply = server.rpc_at(T0, "promise.register_callback", call("o", "o.none")).await;
    assert_error(&reply, 422, "Awaiter promise not found");
    let reply = server.rpc_at(T0, "promise.register_callback", call("o", "o.plain")).await;
    assert_error(&reply, 422, "Awaiter promise has no resonate:target tag");
    let reply = server.rpc_at(T0, "promise.register_callback", call("o", "o")).await;
    assert_error(&reply, 400, "Awaited and awaiter must be different promises");
    let reply = server.rpc_at(T0, "promise.register_callback", call("x", "o.t")).await;
    assert_error(&reply, 400, "Awaiter and awaited must belong to the same origin");
    let (status, body) = server.rpc_at(T0, "promise.register_callback", call("o", "o.t")).await;
    assert_eq!((status, body["data"]["promise"]["id"].clone()), (200, json!("o")));
    assert_eq!(snapshot(&server).await["callbacks"], json!([{"awaiter": "o.t", "awaited": "o"}]));
}

#[tokio::test]
async fn search_filters_pages_and_validates_limits() {
    let server = paused_server().await;
    for id in ["s.a", "s.b", "s.c"] {
        create(&server, id, T0 + 1000, json!({"team": "x"})).await;
    }
    create(&server, "s.d", T0 + 1000, json!({"team": "y"})).await;
    let query = json!({"tags": {"team": "x"}, "limit": 2});
    let (status, body) = server.rpc("promise.search", query).await;
    assert_eq!(status, 200);
    let ids: Vec<_> =
        body["data"]["promises"].as_array().unwrap().iter().map(|p| p["id"].clone()).collect();
    assert_eq!(ids, vec![json!("s.a"), json!("s.b")]);
    assert_eq!(body["data"]["cursor"], "s.b");
    let (_, body) =
        server.rpc("promise.search", json!({"tags": {"team": "x"}, "cursor": "s.b"})).await;
    assert_eq!(body["data"]["promises"].as_array().unwrap().len(), 1);
    assert!(body["data"].get("cursor").is_none());
    let (_, body) = server.rpc("promise.search", json!({"state": "pending"})).await;
    assert_eq!(body["data"]["promises"].as_array().unwrap().len(), 4);
    assert_error(
        &server.rpc("promise.search", json!({"limit": 0})).await,
        400,
        "Limit must be a positive integer",
    );
    assert_error(
        &server.rpc("promise.search", json!({"limit": 1001})).await,
        400,
        "Invalid 'limit' — must be between 1 and 1000",
    );
}
