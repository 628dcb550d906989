//! Outgoing `execute` and `unblock` messages: exact shape, compact single-line JSON.

use serde_json::{json, Value as Json};

use super::render::{resolved, resolved_json};
use crate::{execute_message, unblock_message, LEGACY_GONE_BODY};

#[test]
fn execute_carries_the_server_url() {
    let text = execute_message("job.9", 1, "http://localhost:8001");
    assert!(!text.contains('\n') && !text.contains(": "));
    let expected = json!({"kind": "execute", "head": {"serverUrl": "http://localhost:8001"},
                          "data": {"task": {"id": "job.9", "version": 1}}});
    assert_eq!(serde_json::from_str::<Json>(&text).expect("json"), expected);
    // Byte for byte what the reference-shaped JSON tree printed (keys sorted), and an id that
    // needs escaping stays valid JSON.
    let exact = r#"{"data":{"task":{"id":"job.9","version":1}},"head":{"serverUrl":"http://localhost:8001"},"kind":"execute"}"#;
    assert_eq!(text, exact);
    let quoted = execute_message("a\"b\u{1}", -3, "u");
    let parsed: Json = serde_json::from_str(&quoted).expect("json");
    assert_eq!(parsed["data"]["task"], json!({"id": "a\"b\u{1}", "version": -3}));
}

#[test]
fn unblock_has_an_empty_head() {
    let text = unblock_message(&resolved("approval.3"));
    assert!(!text.contains('\n'));
    let expected =
        json!({"kind": "unblock", "head": {}, "data": {"promise": resolved_json("approval.3")}});
    assert_eq!(serde_json::from_str::<Json>(&text).expect("json"), expected);
}

#[test]
fn legacy_body_is_the_reference_json() {
    let body: Json = serde_json::from_str(LEGACY_GONE_BODY).expect("json");
    let expected =
        json!({"error": "This endpoint is no longer supported. Please update to the latest SDK."});
    assert_eq!(body, expected);
}
