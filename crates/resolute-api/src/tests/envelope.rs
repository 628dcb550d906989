//! Steps 1–5 of the pipeline, the error envelope, and the authorization resource.

use serde_json::json;

use super::{body, parsed};
use crate::{parse_envelope, ApiError, AuthResource, Envelope};

fn parse(text: &str, debug_mode: bool) -> Result<Envelope, ApiError> {
    parse_envelope(text.as_bytes(), debug_mode)
}

#[track_caller]
fn envelope_error(text: &str) -> ApiError {
    parse(text, false).expect_err("envelope error")
}

#[test]
fn unparsable_bodies_salvage_nothing() {
    let error = envelope_error("{not json");
    assert_eq!((error.kind.as_str(), error.corr_id.as_str(), error.status), ("unknown", "0", 400));
    assert!(error.message.starts_with("Invalid request envelope: key must be a string at line 1"));
}

#[test]
fn envelope_errors_salvage_string_kind_and_corr_id() {
    let error =
        envelope_error(r#"{"kind":"promise.get","head":{"corrId":"c7"},"data":{"id":"x"}}"#);
    assert_eq!((error.kind.as_str(), error.corr_id.as_str()), ("promise.get", "c7"));
    assert_eq!(
        error.message,
        "Invalid request envelope: missing field `version` at line 1 column 44"
    );
    let error =
        envelope_error(r#"{"kind":5,"head":{"corrId":7,"version":"2026-04-01"},"data":{}}"#);
    assert_eq!((error.kind.as_str(), error.corr_id.as_str()), ("unknown", "0"));
    assert!(error.message.starts_with("Invalid request envelope: invalid type: integer `5`"));
}

#[test]
fn every_envelope_member_is_required_and_typed() {
    for text in [
        r#"{"head":{"corrId":"c","version":"2026-04-01"},"data":{}}"#,
        r#"{"kind":"k","data":{}}"#,
        r#"{"kind":"k","head":{"corrId":"c","version":"2026-04-01"}}"#,
        r#"{"kind":"k","head":{"version":"2026-04-01"},"data":{}}"#,
        r#"{"kind":"k","head":{"corrId":1,"version":"2026-04-01"},"data":{}}"#,
        r#"{"kind":"k","head":{"corrId":"c","version":"2026-04-01","auth":5},"data":{}}"#,
        r#"{"kind":"k","kind":"k","head":{"corrId":"c","version":"2026-04-01"},"data":{}}"#,
        r#"[]"#,
        r#""#,
    ] {
        let error = envelope_error(text);
        assert_eq!(error.status, 400, "{text}");
        assert!(error.message.starts_with("Invalid request envelope: "), "{text}");
    }
}

#[test]
fn kind_data_and_version_are_checked_in_order() {
    let error = envelope_error(r#"{"kind":"","head":{"corrId":"c","version":"0"},"data":[]}"#);
    assert_eq!(error.message, "Missing or invalid 'kind' field — must be a non-empty string");
    let error = envelope_error(r#"{"kind":"k","head":{"corrId":"c","version":"0"},"data":[]}"#);
    assert_eq!(error.message, "Invalid 'data' field — must be an object");
    let error = envelope_error(r#"{"kind":"k","head":{"corrId":"c","version":"0"},"data":null}"#);
    assert_eq!(error.message, "Invalid 'data' field — must be an object");
    let error =
        envelope_error(r#"{"kind":"k","head":{"corrId":"c","version":"2025-01-01"},"data":{}}"#);
    assert_eq!(
        error.message,
        "Unsupported protocol version '2025-01-01', supported versions: [\"2026-04-01\"]"
    );
    assert_eq!((error.kind.as_str(), error.corr_id.as_str(), error.status), ("k", "c", 400));
}

#[test]
fn unknown_members_are_ignored_and_auth_may_be_null() {
    let text = r#"{"kind":"k","extra":1,"head":{"corrId":"c","version":"2026-04-01","auth":null,
        "resonate:origin":"x"},"data":{"any":[1,2]}}"#;
    let envelope = parse(text, false).expect("valid envelope");
    assert_eq!((envelope.kind(), envelope.corr_id()), ("k", "c"));
    assert_eq!(envelope.auth(), None);
    assert_eq!(envelope.data_json(), r#"{"any":[1,2]}"#);
    let text =
        r#"{"kind":"k","head":{"corrId":"c","version":"2026-04-01","auth":"jwt"},"data":{}}"#;
    assert_eq!(parse(text, false).expect("valid envelope").auth(), Some("jwt"));
}

#[test]
fn debug_time_is_kept_only_in_debug_mode_but_always_typed() {
    let text = r#"{"kind":"k","head":{"corrId":"c","version":"2026-04-01",
        "resonate:debug_time":1700000000000},"data":{}}"#;
    assert_eq!(parse(text, true).expect("valid").debug_time(), Some(1_700_000_000_000));
    assert_eq!(parse(text, false).expect("valid").debug_time(), None);
    let null = r#"{"kind":"k","head":{"corrId":"c","version":"2026-04-01",
        "resonate:debug_time":null},"data":{}}"#;
    assert_eq!(parse(null, true).expect("valid").debug_time(), None);
    for bad in ["1.5", "\"1\"", "18446744073709551615"] {
        let text = format!(
            r#"{{"kind":"k","head":{{"corrId":"c","version":"2026-04-01","resonate:debug_time":{bad}}},"data":{{}}}}"#
        );
        let error = parse(&text, false).expect_err("non-integer debug time");
        assert!(error.message.starts_with("Invalid request envelope: "), "{bad}");
    }
}

#[test]
fn errors_render_as_envelopes_with_a_string_message() {
    let error = envelope_error(r#"{"kind":"k","head":{"corrId":"c","version":"0"},"data":{}}"#);
    let rendered = error.render();
    assert_eq!(rendered.status, 400);
    assert_eq!(
        parsed(&rendered),
        json!({"kind": "k", "head": {"corrId": "c", "status": 400, "version": "2026-04-01"},
               "data": "Unsupported protocol version '0', supported versions: [\"2026-04-01\"]"})
    );
    let envelope = parse_envelope(&body("promise.get", json!({"id": "a"})), false).expect("valid");
    let forbidden = envelope.reject(403, "Forbidden");
    assert_eq!(parsed(&forbidden.render())["data"], json!("Forbidden"));
    let internal = ApiError::internal("promise.get", "c1", &"disk full");
    assert_eq!((internal.status, internal.message.as_str()), (500, "Internal error: disk full"));
}

fn resource(kind: &str, data: serde_json::Value) -> AuthResource {
    parse_envelope(&body(kind, data), false).expect("valid envelope").auth_resource()
}

fn ids(ids: &[&str]) -> AuthResource {
    AuthResource::Ids(ids.iter().map(|id| id.to_string()).collect())
}

#[test]
fn auth_resources_follow_the_protocol_table() {
    for kind in ["promise.get", "promise.settle", "task.fence", "task.halt", "schedule.delete"] {
        assert_eq!(resource(kind, json!({"id": "a.1"})), ids(&["a.1"]), "{kind}");
    }
    assert_eq!(resource("promise.register_callback", json!({"awaited": "w"})), ids(&["w"]));
    assert_eq!(resource("promise.register_listener", json!({"awaited": "w"})), ids(&["w"]));
    assert_eq!(resource("schedule.create", json!({"promiseId": "p.{{.id}}"})), ids(&["p.{{.id}}"]));
    let create = json!({"action": {"data": {"id": "t.1"}}});
    assert_eq!(resource("task.create", create), ids(&["t.1"]));
    let beat = json!({"tasks": [{"id": "a"}, {"id": 5}, {"id": "b"}]});
    assert_eq!(resource("task.heartbeat", beat), ids(&["a", "b"]));
    assert_eq!(resource("promise.get", json!({"id": 5})), ids(&[]));
    for kind in ["promise.search", "task.search", "schedule.search", "debug.snap", "nope"] {
        assert_eq!(resource(kind, json!({"id": "a"})), AuthResource::None, "{kind}");
    }
}

#[test]
fn auth_resources_permit_by_plain_string_prefix() {
    assert!(ids(&["foobar"]).permits("foo"));
    assert!(!ids(&["foo", "bar"]).permits("foo"));
    assert!(ids(&[]).permits("foo"));
    assert!(!AuthResource::None.permits("foo"));
    assert!(AuthResource::None.permits(""));
}
