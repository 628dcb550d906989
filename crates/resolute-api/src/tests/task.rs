//! Golden requests and every validation message of the `task.*` kinds.

use serde_json::{json, Value as Json};

use resolute_core::command::{
    CreatePromise, FenceAction, HeldTask, Page, SettlePromise, TaskQuery,
};
use resolute_core::{Command, SettleState, TaskState, Timestamp, Value};

use super::{assert_bad, command, rejected};

#[test]
fn id_only_kinds() {
    assert_eq!(command("task.get", json!({"id": "t"})), Command::TaskGet { id: "t".into() });
    assert_eq!(command("task.halt", json!({"id": "t"})), Command::TaskHalt { id: "t".into() });
    assert_eq!(
        command("task.continue", json!({"id": "t"})),
        Command::TaskContinue { id: "t".into() }
    );
    for kind in ["task.get", "task.halt", "task.continue"] {
        assert_bad(kind, json!({"id": ""}), "Task ID is required");
        assert_bad(kind, json!({}), "Invalid request: missing field `id`");
    }
}

fn create_action(tags: Json) -> Json {
    json!({"kind": "promise.create", "head": {},
           "data": {"id": "job.9", "timeoutAt": 1000, "tags": tags}})
}

#[test]
fn create_reads_pid_ttl_and_the_inner_promise() {
    let tags = json!({"resonate:target": "poll://any@w", "resonate:origin": "job.9"});
    let data = json!({"pid": "w-1", "ttl": 15000, "action": create_action(tags)});
    let expected = Command::TaskCreate {
        pid: "w-1".into(),
        ttl_ms: 15000,
        promise: CreatePromise {
            id: "job.9".into(),
            timeout_at: Timestamp(1000),
            param: Value::default(),
            tags: [("resonate:target", "poll://any@w"), ("resonate:origin", "job.9")]
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect(),
        },
    };
    assert_eq!(command("task.create", data), expected);
}

#[test]
fn create_errors() {
    let target = json!({"resonate:target": "poll://any@w"});
    let kind = "task.create";
    assert_bad(
        kind,
        json!({"pid": "", "ttl": 1, "action": create_action(target.clone())}),
        "Process ID is required",
    );
    assert_bad(
        kind,
        json!({"pid": "p", "ttl": 0, "action": create_action(target.clone())}),
        "TTL must be a positive integer",
    );
    let mut inner_bad = create_action(target.clone());
    inner_bad["data"]["timeoutAt"] = json!(-1);
    assert_bad(
        kind,
        json!({"pid": "", "ttl": 0, "action": inner_bad}),
        "Process ID is required; TTL must be a positive integer; TimeoutAt must be a non-negative integer",
    );
    assert_bad(
        kind,
        json!({"pid": "p", "ttl": 1, "action": create_action(json!({}))}),
        "Action must have a resonate:target tag",
    );
    let delayed = json!({"resonate:target": "poll://any@w", "resonate:delay": "5"});
    assert_bad(
        kind,
        json!({"pid": "p", "ttl": 1, "action": create_action(delayed)}),
        "Action must not have a resonate:delay tag",
    );
    let unroutable = json!({"resonate:target": "ftp://x"});
    assert_bad(
        kind,
        json!({"pid": "p", "ttl": 1, "action": create_action(unroutable)}),
        "Invalid resonate:target address",
    );
    let origin = json!({"resonate:target": "poll://any@w", "resonate:origin": "other"});
    assert_bad(
        kind,
        json!({"pid": "p", "ttl": 1, "action": create_action(origin)}),
        "Promise ID must be prefixed by resonate:origin",
    );
    let mut headless = create_action(target.clone());
    headless.as_object_mut().map(|action| action.remove("head"));
    assert_bad(
        kind,
        json!({"pid": "p", "ttl": 1, "action": headless}),
        "Invalid request: missing field `head`",
    );
    let mut null_head = create_action(target);
    null_head["head"] = Json::Null;
    assert!(matches!(
        command(kind, json!({"pid": "p", "ttl": 1, "action": null_head})),
        Command::TaskCreate { .. }
    ));
}

#[test]
fn acquire_and_release() {
    let data = json!({"id": "t", "version": 0, "pid": "w", "ttl": 5000});
    let expected =
        Command::TaskAcquire { id: "t".into(), version: 0, pid: "w".into(), ttl_ms: 5000 };
    assert_eq!(command("task.acquire", data), expected);
    assert_bad(
        "task.acquire",
        json!({"id": "", "version": -1, "pid": "", "ttl": 0}),
        "Task ID is required; Version must be a non-negative integer; Process ID is required; TTL must be a positive integer",
    );
    assert_bad(
        "task.acquire",
        json!({"id": "t", "version": 0, "pid": "w"}),
        "Invalid request: missing field `ttl`",
    );
    let release = Command::TaskRelease { id: "t".into(), version: 3 };
    assert_eq!(command("task.release", json!({"id": "t", "version": 3})), release);
    assert_bad(
        "task.release",
        json!({"id": "t", "version": -1}),
        "Version must be a non-negative integer",
    );
}

fn settle_action(id: &str) -> Json {
    json!({"kind": "promise.settle", "head": null, "data": {"id": id, "state": "rejected", "value": {}}})
}

#[test]
fn fulfill() {
    let data = json!({"id": "t", "version": 2, "action": settle_action("t")});
    let settle =
        SettlePromise { id: "t".into(), state: SettleState::Rejected, value: Value::default() };
    assert_eq!(
        command("task.fulfill", data),
        Command::TaskFulfill { id: "t".into(), version: 2, settle }
    );
    let mismatch = json!({"id": "t", "version": 2, "action": settle_action("u")});
    assert_bad("task.fulfill", mismatch, "Action ID must match the task ID");
    let empty = json!({"id": "", "version": 2, "action": settle_action("")});
    assert_bad("task.fulfill", empty, "Task ID is required; Promise ID is required");
    let mut timedout = settle_action("t");
    timedout["data"]["state"] = json!("rejected_timedout");
    let (status, message) =
        rejected("task.fulfill", json!({"id": "t", "version": 2, "action": timedout}));
    assert_eq!(status, 400);
    assert!(message.starts_with("Invalid request: unknown variant `rejected_timedout`"));
}

fn wait_on(awaited: &str, awaiter: &str) -> Json {
    json!({"kind": "promise.register_callback", "head": {}, "data": {"awaited": awaited, "awaiter": awaiter}})
}

#[test]
fn suspend_deduplicates_awaited_in_first_occurrence_order() {
    let actions =
        [wait_on("r:2", "r"), wait_on("r:1", "r"), wait_on("r:2", "r"), wait_on("r:3.1", "r")];
    let data = json!({"id": "r", "version": 1, "actions": actions});
    let awaited = vec!["r:2".to_owned(), "r:1".to_owned(), "r:3.1".to_owned()];
    assert_eq!(
        command("task.suspend", data),
        Command::TaskSuspend { id: "r".into(), version: 1, awaited }
    );
}

#[test]
fn suspend_errors() {
    let suspend = |actions: Vec<Json>| json!({"id": "job", "version": 1, "actions": actions});
    assert_bad("task.suspend", suspend(vec![]), "Actions array cannot be empty");
    assert_bad("task.suspend", suspend(vec![wait_on("", "job")]), "Awaited promise ID is required");
    assert_bad(
        "task.suspend",
        suspend(vec![wait_on("job", "job")]),
        "Awaited and awaiter must be different promises",
    );
    assert_bad(
        "task.suspend",
        suspend(vec![wait_on("other.1", "job")]),
        "Awaiter and awaited must belong to the same origin",
    );
    assert_bad(
        "task.suspend",
        suspend(vec![wait_on("job.1", "job"), wait_on("job.2", "job.1")]),
        "All action awaiter IDs must match the task ID",
    );
    let foreign = json!({"id": "x.1", "version": 1, "actions": [wait_on("job.2", "job.1")]});
    assert_bad("task.suspend", foreign, "All action awaiter IDs must match the task ID");
    let missing_kind = json!({"id": "job", "version": 1, "actions": [{"head": {}, "data": {"awaited": "job.1", "awaiter": "job"}}]});
    assert_bad("task.suspend", missing_kind, "Invalid request: missing field `kind`");
}

#[test]
fn fence_reads_create_and_settle_actions() {
    let create = json!({"kind": "promise.create", "data": {"id": "job.9.2", "timeoutAt": 5,
        "tags": {"resonate:delay": "1", "resonate:target": "poll://any@w"}}});
    let Command::TaskFence { id, version, action: FenceAction::Create(create) } =
        command("task.fence", json!({"id": "job.9", "version": 1, "action": create}))
    else {
        panic!("expected a fenced create")
    };
    assert_eq!((id.as_str(), version, create.id.as_str()), ("job.9", 1, "job.9.2"));
    let settle =
        json!({"kind": "promise.settle", "head": {}, "data": {"id": "x", "state": "resolved"}});
    let expected = Command::TaskFence {
        id: "job.9".into(),
        version: 1,
        action: FenceAction::Settle(SettlePromise {
            id: "x".into(),
            state: SettleState::Resolved,
            value: Value::default(),
        }),
    };
    assert_eq!(
        command("task.fence", json!({"id": "job.9", "version": 1, "action": settle})),
        expected
    );
}

#[test]
fn fence_errors_in_order() {
    let fence = |action: Json| json!({"id": "t", "version": 1, "action": action});
    let same = json!({"kind": "bogus", "data": {"id": "t"}});
    assert_bad("task.fence", fence(same), "Action ID must not equal the task ID");
    assert_bad(
        "task.fence",
        fence(json!({"kind": "task.get", "data": {}})),
        "Invalid fence action kind",
    );
    let missing = json!({"kind": "promise.settle", "data": {"id": "x"}});
    assert_bad("task.fence", fence(missing), "Invalid action data: missing field `state`");
    let unroutable = json!({"kind": "promise.create", "data": {"id": "x", "timeoutAt": 1, "tags": {"resonate:target": "zz"}}});
    assert_bad("task.fence", fence(unroutable), "Invalid resonate:target address");
    let negative = json!({"kind": "promise.create", "data": {"id": "x", "timeoutAt": -1}});
    assert_bad("task.fence", fence(negative), "TimeoutAt must be a non-negative integer");
    assert_bad(
        "task.fence",
        fence(json!({"kind": "promise.create", "data": []})),
        "Invalid request: invalid type: sequence, expected a map",
    );
    assert_bad(
        "task.fence",
        json!({"id": "", "version": 1, "action": {"kind": "promise.create", "data": {}}}),
        "Task ID is required",
    );
}

#[test]
fn heartbeat() {
    let data = json!({"pid": "w", "tasks": [{"id": "root", "version": 1}, {"id": "root:1", "version": 2}, {"id": "", "version": 0}]});
    let tasks = vec![
        HeldTask { id: "root".into(), version: 1 },
        HeldTask { id: "root:1".into(), version: 2 },
    ];
    assert_eq!(command("task.heartbeat", data), Command::TaskHeartbeat { pid: "w".into(), tasks });
    assert_bad(
        "task.heartbeat",
        json!({"pid": "", "tasks": []}),
        "Process ID is required; Tasks array must not be empty",
    );
    let mixed =
        json!({"pid": "w", "tasks": [{"id": "a.1", "version": 1}, {"id": "b.1", "version": 1}]});
    // A worker heartbeats every task it holds, whatever their workflows (see request/task.rs).
    assert!(matches!(command("task.heartbeat", mixed), Command::TaskHeartbeat { .. }));
    assert_bad(
        "task.heartbeat",
        json!({"pid": "w", "tasks": [{"id": "a"}]}),
        "Invalid request: missing field `version`",
    );
}

#[test]
fn search() {
    let expected = TaskQuery { state: None, page: Page { limit: 100, cursor: None } };
    assert_eq!(command("task.search", json!({})), Command::TaskSearch(expected));
    let data = json!({"state": "halted", "limit": 7, "cursor": "k"});
    let expected = TaskQuery {
        state: Some(TaskState::Halted),
        page: Page { limit: 7, cursor: Some("k".into()) },
    };
    assert_eq!(command("task.search", data), Command::TaskSearch(expected));
    assert_bad("task.search", json!({"limit": 0}), "Limit must be a positive integer");
    assert_bad(
        "task.search",
        json!({"limit": 5000}),
        "Invalid 'limit' — must be between 1 and 1000",
    );
}
