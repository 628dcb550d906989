//! Golden requests and every validation message of the `promise.*` kinds.

use std::collections::BTreeMap;

use serde_json::json;

use resolute_core::command::{CreatePromise, Page, PromiseQuery, SettlePromise};
use resolute_core::{Command, PromiseState, SettleState, Tags, Timestamp, Value};

use super::{assert_bad, command, rejected};

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

#[test]
fn get_reads_the_id() {
    assert_eq!(
        command("promise.get", json!({"id": "a.1"})),
        Command::PromiseGet { id: "a.1".into() }
    );
    assert_bad("promise.get", json!({"id": ""}), "Promise ID is required");
    assert_bad("promise.get", json!({}), "Invalid request: missing field `id`");
    assert_bad(
        "promise.get",
        json!({"id": 5}),
        "Invalid request: invalid type: integer `5`, expected a string",
    );
}

#[test]
fn create_reads_every_field() {
    let data = json!({
        "id": "invoice.7", "timeoutAt": 1_700_000_600_000_i64,
        "param": {"headers": {"content-type": "json"}, "data": "eyJ9"},
        "tags": {"resonate:target": "poll://any@billing", "resonate:origin": "invoice.7",
                 "resonate:branch": "invoice.7"},
        "ignored": true
    });
    let expected = CreatePromise {
        id: "invoice.7".into(),
        timeout_at: Timestamp(1_700_000_600_000),
        param: Value {
            headers: Some(BTreeMap::from([("content-type".into(), "json".into())])),
            data: Some("eyJ9".into()),
        },
        tags: tags(&[
            ("resonate:target", "poll://any@billing"),
            ("resonate:origin", "invoice.7"),
            ("resonate:branch", "invoice.7"),
        ]),
    };
    assert_eq!(command("promise.create", data), Command::PromiseCreate(expected));
}

#[test]
fn create_defaults_param_and_tags_and_accepts_null_members() {
    let minimal = CreatePromise {
        id: "a".into(),
        timeout_at: Timestamp(0),
        param: Value::default(),
        tags: Tags::new(),
    };
    let data = json!({"id": "a", "timeoutAt": 0});
    assert_eq!(command("promise.create", data), Command::PromiseCreate(minimal.clone()));
    let data = json!({"id": "a", "timeoutAt": 0, "param": {"headers": null, "data": null}});
    assert_eq!(command("promise.create", data), Command::PromiseCreate(minimal));
    // Huge deadlines are accepted; the kernel saturates the arithmetic.
    let data = json!({"id": "a", "timeoutAt": i64::MAX});
    assert!(matches!(command("promise.create", data), Command::PromiseCreate(_)));
}

#[test]
fn create_typed_parse_rejects_nulls_floats_and_non_string_tags() {
    let cases = [
        (json!({"id": "a"}), "Invalid request: missing field `timeoutAt`"),
        (
            json!({"id": "a", "timeoutAt": 1.5}),
            "Invalid request: invalid type: floating point `1.5`, expected i64",
        ),
        (
            json!({"id": "a", "timeoutAt": 1, "param": null}),
            "Invalid request: invalid type: null, expected struct Value",
        ),
        (
            json!({"id": "a", "timeoutAt": 1, "tags": null}),
            "Invalid request: invalid type: null, expected a map",
        ),
        (
            json!({"id": "a", "timeoutAt": 1, "tags": {"k": 1}}),
            "Invalid request: invalid type: integer `1`, expected a string",
        ),
        (
            json!({"id": "a", "timeoutAt": 1, "param": {"data": 7}}),
            "Invalid request: invalid type: integer `7`, expected a string",
        ),
    ];
    for (data, message) in cases {
        assert_bad("promise.create", data, message);
    }
    let huge = r#"{"kind":"promise.create","head":{"corrId":"c","version":"2026-04-01"},
        "data":{"id":"a","timeoutAt":18446744073709551616}}"#;
    let error = crate::parse_envelope(huge.as_bytes(), false).and_then(|e| e.into_operation());
    assert!(error
        .expect_err("overflow")
        .message
        .starts_with("Invalid request: invalid type: floating point"));
}

#[test]
fn duplicate_keys_in_data_are_rejected() {
    let text = r#"{"kind":"promise.create","head":{"corrId":"c","version":"2026-04-01"},
        "data":{"id":"a","id":"b","timeoutAt":1}}"#;
    let error = crate::parse_envelope(text.as_bytes(), false).and_then(|e| e.into_operation());
    assert_eq!(error.expect_err("duplicate").message, "Invalid request: duplicate field `id`");
}

#[test]
fn create_field_rules_are_joined() {
    assert_bad("promise.create", json!({"id": "", "timeoutAt": 1}), "Promise ID is required");
    assert_bad(
        "promise.create",
        json!({"id": "a\u{0}b", "timeoutAt": 1}),
        "Promise ID must not contain null bytes",
    );
    assert_bad(
        "promise.create",
        json!({"id": "a", "timeoutAt": -1}),
        "TimeoutAt must be a non-negative integer",
    );
    assert_bad(
        "promise.create",
        json!({"id": "", "timeoutAt": -1, "tags": {"resonate:origin": "x:y"}}),
        "Promise ID is required; TimeoutAt must be a non-negative integer",
    );
}

#[track_caller]
fn assert_tags_bad(id: &str, pairs: &[(&str, &str)], message: &str) {
    let data = json!({"id": id, "timeoutAt": 100, "tags": tags(pairs)});
    assert_bad("promise.create", data, message);
}

#[track_caller]
fn assert_tags_ok(id: &str, pairs: &[(&str, &str)]) {
    let data = json!({"id": id, "timeoutAt": 100, "tags": tags(pairs)});
    assert!(matches!(command("promise.create", data), Command::PromiseCreate(_)), "{id} {pairs:?}");
}

#[test]
fn create_tag_rules_follow_r1_in_order() {
    let origin = "Promise ID must be prefixed by resonate:origin";
    assert_tags_bad("other", &[("resonate:origin", "root")], origin);
    assert_tags_bad("rooted", &[("resonate:origin", "root")], origin);
    assert_tags_bad("r:1", &[("resonate:origin", "r:1")], "resonate:origin must not contain ':'");
    assert_tags_bad(
        "r.1",
        &[("resonate:branch", "r.2")],
        "Promise ID must be prefixed by resonate:branch",
    );
    assert_tags_bad(
        "r.1",
        &[("resonate:parent", "q")],
        "Promise ID must be prefixed by resonate:parent",
    );
    assert_tags_bad("r", &[("resonate:prefix", "a:b")], "resonate:prefix must not contain ':'");
    // Origin comes first when several rules fail.
    assert_tags_bad("x", &[("resonate:origin", "r"), ("resonate:branch", "q")], origin);
    for id in ["root", "root.1", "root:1", "root:1.2"] {
        let pairs =
            [("resonate:origin", "root"), ("resonate:branch", "root"), ("resonate:parent", "root")];
        assert_tags_ok(id, &pairs);
    }
    assert_tags_ok(
        "order.42:1",
        &[("resonate:origin", "order.42"), ("resonate:prefix", "order.42")],
    );
    assert_tags_ok("root:1.2", &[("resonate:branch", "root:1"), ("resonate:parent", "root:1")]);
}

#[test]
fn create_delay_rules() {
    let target = ("resonate:target", "poll://any@w");
    let bad = "resonate:delay must be a non-negative integer";
    assert_tags_bad("a", &[("resonate:delay", "soon"), target], bad);
    assert_tags_bad("a", &[("resonate:delay", "-1"), target], bad);
    assert_tags_bad("a", &[("resonate:delay", "1.5"), target], bad);
    assert_tags_bad(
        "a",
        &[("resonate:delay", "100"), target],
        "resonate:delay must be less than timeoutAt",
    );
    assert_tags_bad(
        "a",
        &[("resonate:delay", "5")],
        "resonate:delay requires a resonate:target tag",
    );
    assert_tags_ok("a", &[("resonate:delay", "99"), target]);
}

#[test]
fn create_target_must_be_routable_after_the_tag_rules() {
    let invalid = "Invalid resonate:target address";
    assert_tags_bad("a", &[("resonate:target", "ftp://x")], invalid);
    assert_tags_bad("a", &[("resonate:target", "poll://bogus@g")], invalid);
    assert_tags_bad(
        "a",
        &[("resonate:target", "x"), ("resonate:origin", "b")],
        "Promise ID must be prefixed by resonate:origin",
    );
    for target in
        ["poll://any@g", "poll://uni@g/p", "http://h:1/x", "https://h", "gcps://p/t", "bash://"]
    {
        assert_tags_ok("a", &[("resonate:target", target)]);
    }
}

#[test]
fn settle_reads_state_and_value() {
    let data = json!({"id": "a", "state": "rejected_canceled", "value": {"data": "eA=="}});
    let expected = SettlePromise {
        id: "a".into(),
        state: SettleState::RejectedCanceled,
        value: Value { headers: None, data: Some("eA==".into()) },
    };
    assert_eq!(command("promise.settle", data), Command::PromiseSettle(expected));
    let data = json!({"id": "a", "state": "resolved"});
    let Command::PromiseSettle(settle) = command("promise.settle", data) else { panic!() };
    assert_eq!((settle.state, settle.value), (SettleState::Resolved, Value::default()));
}

#[test]
fn settle_errors() {
    assert_bad("promise.settle", json!({"id": "", "state": "resolved"}), "Promise ID is required");
    assert_bad(
        "promise.settle",
        json!({"id": "a", "state": "rejected_timedout"}),
        "Invalid request: unknown variant `rejected_timedout`, expected one of `resolved`, `rejected`, `rejected_canceled`",
    );
    assert_bad("promise.settle", json!({"id": "a"}), "Invalid request: missing field `state`");
    assert_bad(
        "promise.settle",
        json!({"id": "a", "state": "resolved", "value": null}),
        "Invalid request: invalid type: null, expected struct Value",
    );
}

#[test]
fn register_callback_rules() {
    let data = json!({"awaited": "root:1", "awaiter": "root"});
    let expected =
        Command::PromiseRegisterCallback { awaited: "root:1".into(), awaiter: "root".into() };
    assert_eq!(command("promise.register_callback", data), expected);
    let kind = "promise.register_callback";
    assert_bad(kind, json!({"awaited": "", "awaiter": "a"}), "Awaited promise ID is required");
    assert_bad(
        kind,
        json!({"awaited": "", "awaiter": ""}),
        "Awaited promise ID is required; Awaiter promise ID is required",
    );
    assert_bad(
        kind,
        json!({"awaited": "a", "awaiter": "a"}),
        "Awaited and awaiter must be different promises",
    );
    assert_bad(
        kind,
        json!({"awaited": "a.1", "awaiter": "b"}),
        "Awaiter and awaited must belong to the same origin",
    );
    assert_bad(kind, json!({"awaited": "a"}), "Invalid request: missing field `awaiter`");
}

#[test]
fn register_listener_rules() {
    let data = json!({"awaited": "a", "address": "poll://uni@ui/s1"});
    let expected = Command::PromiseRegisterListener {
        awaited: "a".into(),
        address: "poll://uni@ui/s1".into(),
    };
    assert_eq!(command("promise.register_listener", data), expected);
    let kind = "promise.register_listener";
    assert_bad(kind, json!({"awaited": "a", "address": "nowhere"}), "Invalid listener address");
    assert_bad(kind, json!({"awaited": "", "address": "x"}), "Awaited promise ID is required");
    assert_bad(kind, json!({"awaited": "a", "address": ""}), "Address is required");
}

#[test]
fn search_defaults_and_limits() {
    let expected =
        PromiseQuery { state: None, tags: Tags::new(), page: Page { limit: 100, cursor: None } };
    assert_eq!(command("promise.search", json!({})), Command::PromiseSearch(expected.clone()));
    // Every filter is optional, and `null` is how some clients write "absent".
    let nulls = json!({"state": null, "tags": null, "limit": null, "cursor": null});
    assert_eq!(command("promise.search", nulls), Command::PromiseSearch(expected));
    let (status, message) = rejected("promise.search", json!({"tags": {"k": 1}}));
    assert_eq!((status, message.starts_with("Invalid request: invalid type")), (400, true));
    let data =
        json!({"state": "rejected_timedout", "tags": {"k": "v"}, "limit": 1000, "cursor": "c"});
    let expected = PromiseQuery {
        state: Some(PromiseState::RejectedTimedout),
        tags: tags(&[("k", "v")]),
        page: Page { limit: 1000, cursor: Some("c".into()) },
    };
    assert_eq!(command("promise.search", data), Command::PromiseSearch(expected));
    assert_bad("promise.search", json!({"limit": 0}), "Limit must be a positive integer");
    assert_bad("promise.search", json!({"limit": -5}), "Limit must be a positive integer");
    assert_bad(
        "promise.search",
        json!({"limit": 1001}),
        "Invalid 'limit' — must be between 1 and 1000",
    );
    let (status, message) = rejected("promise.search", json!({"state": "bogus"}));
    assert_eq!(status, 400);
    assert!(
        message.starts_with("Invalid request: unknown variant `bogus`, expected one of `pending`")
    );
}
