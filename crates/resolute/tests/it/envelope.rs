//! The envelope pipeline and HTTP-level behaviour: which error a client sees, and in what shape.

use serde_json::json;

use crate::assert_error;
use crate::harness::Server;

#[tokio::test]
async fn malformed_envelopes_get_a_400_with_salvaged_kind_and_corr_id() {
    let server = Server::start();
    let (status, body) = server.post_raw(b"{not json".to_vec()).await;
    assert_eq!(status, 400);
    assert_eq!(
        (body["kind"].clone(), body["head"]["corrId"].clone()),
        (json!("unknown"), json!("0"))
    );
    assert!(body["data"].as_str().unwrap().starts_with("Invalid request envelope: "));
    let missing_version =
        json!({"kind": "promise.get", "head": {"corrId": "c7"}, "data": {"id": "x"}});
    let (status, body) = server.send(missing_version).await;
    assert_eq!(
        (status, body["kind"].clone(), body["head"]["corrId"].clone()),
        (400, json!("promise.get"), json!("c7"))
    );
}

#[tokio::test]
async fn the_pipeline_checks_kind_data_and_version_in_order() {
    let server = Server::start();
    let head = json!({"corrId": "c", "version": "2026-04-01"});
    let reply = server.send(json!({"kind": "", "head": head, "data": {}})).await;
    assert_error(&reply, 400, "Missing or invalid 'kind' field — must be a non-empty string");
    let reply = server.send(json!({"kind": "promise.get", "head": head, "data": []})).await;
    assert_error(&reply, 400, "Invalid 'data' field — must be an object");
    let old = json!({"corrId": "c", "version": "2025-01-01"});
    let reply = server.send(json!({"kind": "promise.get", "head": old, "data": {}})).await;
    assert_error(
        &reply,
        400,
        "Unsupported protocol version '2025-01-01', supported versions: [\"2026-04-01\"]",
    );
    let reply = server.send(json!({"kind": "promise.bogus", "head": head, "data": {}})).await;
    assert_error(&reply, 400, "Unknown operation: promise.bogus");
    let reply = server.send(json!({"kind": "promise.get", "head": head, "data": {}})).await;
    assert_eq!(reply.0, 400);
    assert!(reply.1["data"].as_str().unwrap().starts_with("Invalid request: missing field `id`"));
}

#[tokio::test]
async fn debug_operations_need_debug_mode() {
    let server = Server::start_with(&[]);
    let reply = server.rpc("debug.snap", json!({})).await;
    assert_error(&reply, 403, "Debug operations are disabled");
}

#[tokio::test]
async fn http_level_paths_methods_and_limits() {
    let server = Server::start();
    let (status, body) = server.get("/promises/abc").await;
    assert_eq!(status, 410);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["error"],
        "This endpoint is no longer supported. Please update to the latest SDK."
    );
    assert_eq!(server.get("/").await.0, 405);
    assert_eq!(server.get("/nowhere").await.0, 404);
    // A poll path needs both its group and its id (protocol §1.7).
    assert_eq!(server.get("/poll//w1").await, (404, String::new()));
    assert_eq!(server.get("/poll/g/").await.0, 404);
    assert_eq!(server.get("/health").await.0, 200);
    assert_eq!(server.get("/ready").await.0, 200);
    let huge = vec![b' '; 2 * 1024 * 1024 + 10];
    assert_eq!(server.post_raw(huge).await.0, 413);
}

#[tokio::test]
async fn responses_echo_kind_and_corr_id_with_the_status_in_head() {
    let server = Server::start();
    let envelope = json!({"kind": "promise.get", "head": {"corrId": "abc-1", "version": "2026-04-01"}, "data": {"id": "none"}});
    let (status, body) = server.send(envelope).await;
    assert_eq!(status, 404);
    assert_eq!(body["kind"], "promise.get");
    assert_eq!(body["head"], json!({"corrId": "abc-1", "status": 404, "version": "2026-04-01"}));
}
