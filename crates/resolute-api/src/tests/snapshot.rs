//! The `debug.snap` shape: ordering, filtered callbacks, timers and outbox messages.

use serde_json::json;

use resolute_core::reply::Snapshot;
use resolute_core::{
    Callback, Listener, Message, MessageBody, Reply, Task, TaskState, TaskTimer, Timestamp,
};

use super::parsed;
use super::render::{acquired_task, pending, pending_json, resolved, resolved_json};
use crate::render;

fn message(address: &str, body: MessageBody) -> Message {
    Message {
        address: address.into(),
        lane: resolute_core::address::lane_of(address),
        body,
        due_at: Timestamp(0),
        attempts: 0,
        leased: false,
        queued_at: Timestamp(0),
    }
}

fn snapshot() -> Snapshot {
    let retry = TaskTimer::retry(Timestamp(31_000), 30_000);
    let pending_task = Task {
        id: "a".into(),
        state: TaskState::Pending,
        version: 0,
        timer: Some(retry),
        resumes: 0,
    };
    let execute = |task: &str, version| MessageBody::Execute { task_id: task.into(), version };
    let unblock = |promise: &str| MessageBody::Unblock { promise_id: promise.into() };
    Snapshot {
        promises: vec![resolved("z"), pending("b"), pending("a")],
        tasks: vec![pending_task, acquired_task("b")],
        callbacks: vec![
            Callback { awaited: "b".into(), awaiter: "a".into(), ready: false },
            Callback { awaited: "z".into(), awaiter: "a".into(), ready: true },
        ],
        listeners: vec![Listener { promise_id: "b".into(), address: "poll://uni@ui/s1".into() }],
        messages: vec![
            message("poll://uni@ui/2", unblock("z")),
            message("poll://uni@ui/1", unblock("z")),
            message("poll://any@w", execute("b", 2)),
            message("poll://any@w", execute("a", 0)),
            message("poll://uni@ui/1", unblock("gone")),
        ],
        schedules: Vec::new(),
    }
}

#[test]
fn snapshot_shape_and_order() {
    let rendered = render("debug.snap", "c", &Reply::DebugSnap(Box::new(snapshot())));
    assert_eq!(rendered.status, 200);
    let execute = |id: &str, version: i64| {
        json!({"address": "poll://any@w",
               "message": {"kind": "execute", "head": {}, "data": {"task": {"id": id, "version": version}}}})
    };
    let unblock = |address: &str| json!({"address": address, "message": {"kind": "unblock", "head": {}, "data": {"promise": resolved_json("z")}}});
    let expected = json!({
        "promises": [pending_json("a"), pending_json("b"), resolved_json("z")],
        "promiseTimeouts": [{"id": "a", "timeout": 2000}, {"id": "b", "timeout": 2000}],
        "callbacks": [{"awaiter": "a", "awaited": "b"}],
        "listeners": [{"id": "b", "address": "poll://uni@ui/s1"}],
        "tasks": [
            {"id": "a", "state": "pending", "version": 0, "resumes": 0},
            {"id": "b", "state": "acquired", "version": 2, "resumes": 1, "ttl": 5000, "pid": "w-1"},
        ],
        "taskTimeouts": [{"id": "a", "type": 0, "timeout": 31_000}, {"id": "b", "type": 1, "timeout": 9000}],
        "messages": [execute("a", 0), execute("b", 2), unblock("poll://uni@ui/1"), unblock("poll://uni@ui/2")],
    });
    assert_eq!(parsed(&rendered)["data"], expected);
}

#[test]
fn empty_snapshot_has_every_list() {
    let rendered = render("debug.snap", "c", &Reply::DebugSnap(Box::default()));
    let expected = json!({"promises": [], "promiseTimeouts": [], "callbacks": [], "listeners": [],
                          "tasks": [], "taskTimeouts": [], "messages": []});
    assert_eq!(parsed(&rendered)["data"], expected);
}
