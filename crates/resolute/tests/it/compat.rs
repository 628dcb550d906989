//! The SDK compatibility rules of compat.md: both id generations and background timeouts.

use serde_json::json;

use crate::{create, paused_server, snapshot, tick, T0};

#[tokio::test]
async fn both_child_id_generations_pass_the_origin_rule() {
    let server = paused_server().await;
    let tags = |origin: &str| json!({"resonate:origin": origin, "resonate:branch": origin, "resonate:parent": origin});
    create(&server, "root", T0 + 1000, tags("root")).await;
    create(&server, "root:1", T0 + 1000, tags("root")).await;
    create(&server, "root.2", T0 + 1000, tags("root")).await;
    create(&server, "order.42:1", T0 + 1000, tags("order.42")).await;
    let bad = json!({"id": "other", "timeoutAt": T0 + 1, "tags": {"resonate:origin": "root"}});
    let (status, body) = server.rpc_at(T0, "promise.create", bad).await;
    assert_eq!(
        (status, body["data"].clone()),
        (400, json!("Promise ID must be prefixed by resonate:origin"))
    );
}

#[tokio::test]
async fn the_background_pass_times_out_untargeted_promises_and_fires_listeners() {
    let server = paused_server().await;
    create(&server, "u", T0 + 100, json!({})).await;
    let listener = json!({"awaited": "u", "address": "poll://uni@client/1"});
    server.rpc_at(T0, "promise.register_listener", listener).await;
    tick(&server, T0 + 100).await;
    let snap = snapshot(&server).await;
    assert_eq!(snap["promises"][0]["state"], "rejected_timedout");
    assert_eq!(snap["messages"][0]["address"], "poll://uni@client/1");
}
