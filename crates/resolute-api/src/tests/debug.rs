//! Kind dispatch and the debug kinds.

use serde_json::json;

use resolute_core::Command;

use super::{assert_bad, body, operation};
use crate::{parse_envelope, Operation};

#[test]
fn unknown_kinds_are_400_even_under_debug() {
    assert_bad("promise.bogus", json!({}), "Unknown operation: promise.bogus");
    assert_bad("debug.foo", json!({}), "Unknown operation: debug.foo");
}

#[test]
fn debug_kinds_map_to_operations() {
    assert_eq!(operation("debug.start", json!({})), Ok(Operation::DebugStart));
    assert_eq!(operation("debug.stop", json!({"x": 1})), Ok(Operation::DebugStop));
    assert_eq!(operation("debug.reset", json!({})), Ok(Operation::Kernel(Command::DebugReset)));
    assert_eq!(operation("debug.snap", json!({})), Ok(Operation::Kernel(Command::DebugSnap)));
    assert_eq!(operation("debug.tick", json!({"time": 42})), Ok(Operation::DebugTick { time: 42 }));
}

#[test]
fn debug_kinds_are_forbidden_outside_debug_mode() {
    for kind in ["debug.start", "debug.stop", "debug.reset", "debug.snap", "debug.tick"] {
        let envelope = parse_envelope(&body(kind, json!({})), false).expect("valid envelope");
        let error = envelope.into_operation().expect_err("forbidden");
        assert_eq!((error.status, error.message.as_str()), (403, "Debug operations are disabled"));
        assert_eq!((error.kind.as_str(), error.corr_id.as_str()), (kind, "c1"));
    }
}

#[test]
fn tick_time_must_be_an_integer() {
    for data in [json!({}), json!({"time": "1"}), json!({"time": 1.5}), json!({"time": null})] {
        assert_bad("debug.tick", data, "Missing or invalid 'time' field");
    }
}

#[test]
fn tick_time_must_equal_the_debug_time() {
    let envelope = |debug_time: i64, time: i64| {
        let text = json!({"kind": "debug.tick",
            "head": {"corrId": "c", "version": "2026-04-01", "resonate:debug_time": debug_time},
            "data": {"time": time}});
        parse_envelope(text.to_string().as_bytes(), true).expect("valid envelope")
    };
    assert_eq!(envelope(7, 7).into_operation(), Ok(Operation::DebugTick { time: 7 }));
    let error = envelope(7, 8).into_operation().expect_err("mismatch");
    assert_eq!(
        (error.status, error.message.as_str()),
        (400, "resonate:debug_time must equal data.time")
    );
}
