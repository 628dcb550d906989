//! Every reply variant rendered: status, and `data` compared as parsed JSON.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use resolute_core::reply::{
    AcquireReply, Acquired, CallbackReply, ContinueReply, DeleteReply, FenceOutcome, FenceReply,
    Found, FulfillReply, HaltReply, LeaseReply, ListenerReply, PromiseReply, ScheduleReply,
    SuspendReply, TaskCreateReply, TaskGetReply, TickReport,
};
use resolute_core::{
    Promise, PromiseState, Reply, Schedule, Task, TaskState, TaskTimer, Timestamp, Value,
};

use super::parsed;
use crate::{render, render_empty, render_tick};

pub(crate) fn pending(id: &str) -> Promise {
    Promise {
        id: id.into(),
        state: PromiseState::Pending,
        param: Value::default(),
        value: Value::default(),
        tags: BTreeMap::from([("resonate:target".into(), "poll://any@w".into())]),
        timeout_at: Timestamp(2000),
        created_at: Timestamp(1000),
        settled_at: None,
    }
}

pub(crate) fn pending_json(id: &str) -> Json {
    json!({"id": id, "state": "pending", "param": {}, "value": {},
           "tags": {"resonate:target": "poll://any@w"}, "timeoutAt": 2000, "createdAt": 1000})
}

pub(crate) fn resolved(id: &str) -> Promise {
    Promise {
        state: PromiseState::Resolved,
        param: Value { headers: Some(BTreeMap::from([("h".into(), "v".into())])), data: None },
        value: Value { headers: None, data: Some("NDI=".into()) },
        settled_at: Some(Timestamp(1500)),
        tags: BTreeMap::new(),
        ..pending(id)
    }
}

pub(crate) fn resolved_json(id: &str) -> Json {
    json!({"id": id, "state": "resolved", "param": {"headers": {"h": "v"}}, "value": {"data": "NDI="},
           "tags": {}, "timeoutAt": 2000, "createdAt": 1000, "settledAt": 1500})
}

pub(crate) fn acquired_task(id: &str) -> Task {
    // Taken at 3500 and last renewed at 4000: neither time may reach the wire (protocol §2.3).
    let lease = TaskTimer::lease("w-1", 5000, Timestamp(3500)).renewed(Timestamp(4000));
    Task { id: id.into(), state: TaskState::Acquired, version: 2, timer: Some(lease), resumes: 1 }
}

fn schedule(last_run_at: Option<i64>) -> Schedule {
    Schedule {
        id: "nightly".into(),
        cron: "0 2 * * *".into(),
        promise_id: "nightly.{{.timestamp}}".into(),
        promise_timeout_ms: 60_000,
        promise_param: Value { headers: None, data: Some("e30=".into()) },
        promise_tags: BTreeMap::from([("resonate:target".into(), "poll://any@b".into())]),
        created_at: Timestamp(10),
        next_run_at: Timestamp(20),
        last_run_at: last_run_at.map(Timestamp),
    }
}

/// Renders `reply` for `kind` and checks the envelope around it; returns status and data.
#[track_caller]
fn answer(kind: &str, reply: Reply) -> (u16, Json) {
    let rendered = render(kind, "c9", &reply);
    let body = parsed(&rendered);
    assert_eq!(body["kind"], json!(kind));
    assert_eq!(
        body["head"],
        json!({"corrId": "c9", "status": rendered.status, "version": "2026-04-01"})
    );
    (rendered.status, body["data"].clone())
}

fn err(status: u16, message: &str) -> (u16, Json) {
    (status, json!(message))
}

#[test]
fn promise_replies() {
    let found = Reply::PromiseGet(PromiseReply::Found(pending("p")));
    assert_eq!(answer("promise.get", found), (200, json!({"promise": pending_json("p")})));
    assert_eq!(
        answer("promise.get", Reply::PromiseGet(PromiseReply::NotFound)),
        err(404, "Promise not found")
    );
    let created = Reply::PromiseCreate(resolved("p"));
    assert_eq!(answer("promise.create", created), (200, json!({"promise": resolved_json("p")})));
    let settled = Reply::PromiseSettle(PromiseReply::Found(resolved("p")));
    assert_eq!(answer("promise.settle", settled), (200, json!({"promise": resolved_json("p")})));
    let missing = Reply::PromiseSettle(PromiseReply::NotFound);
    assert_eq!(answer("promise.settle", missing), err(404, "Promise not found"));
}

#[test]
fn callback_and_listener_replies() {
    let kind = "promise.register_callback";
    let registered = Reply::PromiseRegisterCallback(CallbackReply::Registered(pending("p")));
    assert_eq!(answer(kind, registered), (200, json!({"promise": pending_json("p")})));
    let cases = [
        (CallbackReply::AwaitedNotFound, 404, "Awaited promise not found"),
        (CallbackReply::AwaiterNotFound, 422, "Awaiter promise not found"),
        (CallbackReply::AwaiterNotTargeted, 422, "Awaiter promise has no resonate:target tag"),
    ];
    for (reply, status, message) in cases {
        assert_eq!(answer(kind, Reply::PromiseRegisterCallback(reply)), err(status, message));
    }
    let kind = "promise.register_listener";
    let registered = Reply::PromiseRegisterListener(ListenerReply::Registered(resolved("p")));
    assert_eq!(answer(kind, registered), (200, json!({"promise": resolved_json("p")})));
    let missing = Reply::PromiseRegisterListener(ListenerReply::AwaitedNotFound);
    assert_eq!(answer(kind, missing), err(404, "Awaited promise not found"));
}

#[test]
fn searches_carry_a_cursor_only_when_more_rows_exist() {
    let page = Found { items: vec![pending("a"), resolved("b")], cursor: Some("b".into()) };
    let expected = json!({"promises": [pending_json("a"), resolved_json("b")], "cursor": "b"});
    assert_eq!(answer("promise.search", Reply::PromiseSearch(page)), (200, expected));
    let page = Found { items: vec![acquired_task("t")], cursor: None };
    let task = json!({"id": "t", "state": "acquired", "version": 2, "resumes": 1, "ttl": 5000, "pid": "w-1"});
    assert_eq!(answer("task.search", Reply::TaskSearch(page)), (200, json!({"tasks": [task]})));
    let page = Found { items: Vec::new(), cursor: None };
    assert_eq!(
        answer("schedule.search", Reply::ScheduleSearch(page)),
        (200, json!({"schedules": []}))
    );
}

#[test]
fn tasks_show_the_lease_only_while_acquired() {
    let found = Reply::TaskGet(TaskGetReply::Found(acquired_task("t")));
    let expected = json!({"task": {"id": "t", "state": "acquired", "version": 2, "resumes": 1, "ttl": 5000, "pid": "w-1"}});
    assert_eq!(answer("task.get", found), (200, expected));
    let retry = TaskTimer::retry(Timestamp(1), 30_000);
    let pending_task = Task {
        id: "t".into(),
        state: TaskState::Pending,
        version: 0,
        timer: Some(retry),
        resumes: 0,
    };
    let expected = json!({"task": {"id": "t", "state": "pending", "version": 0, "resumes": 0}});
    assert_eq!(
        answer("task.get", Reply::TaskGet(TaskGetReply::Found(pending_task))),
        (200, expected)
    );
    // A stale lease on a task that is no longer acquired is not shown.
    let halted = Task { state: TaskState::Halted, ..acquired_task("t") };
    let expected = json!({"task": {"id": "t", "state": "halted", "version": 2, "resumes": 1}});
    assert_eq!(answer("task.get", Reply::TaskGet(TaskGetReply::Found(halted))), (200, expected));
    assert_eq!(
        answer("task.get", Reply::TaskGet(TaskGetReply::NotFound)),
        err(404, "Task not found")
    );
}

fn acquired(id: &str) -> Acquired {
    Acquired { task: acquired_task(id), promise: pending(id), preload: vec![resolved("job.1")] }
}

fn acquired_json(id: &str) -> Json {
    json!({"task": {"id": id, "state": "acquired", "version": 2, "resumes": 1, "ttl": 5000, "pid": "w-1"},
           "promise": pending_json(id), "preload": [resolved_json("job.1")]})
}

#[test]
fn task_create_replies() {
    let kind = "task.create";
    let reply = Reply::TaskCreate(TaskCreateReply::Acquired(acquired("job")));
    assert_eq!(answer(kind, reply), (200, acquired_json("job")));
    let task =
        Task { id: "job".into(), state: TaskState::Fulfilled, version: 0, timer: None, resumes: 0 };
    let reply = Reply::TaskCreate(TaskCreateReply::Fulfilled { task, promise: resolved("job") });
    let expected = json!({"task": {"id": "job", "state": "fulfilled", "version": 0, "resumes": 0},
                          "promise": resolved_json("job"), "preload": []});
    assert_eq!(answer(kind, reply), (200, expected));
    let no_target = Reply::TaskCreate(TaskCreateReply::NoTarget);
    assert_eq!(
        answer(kind, no_target),
        err(422, "The promise does not have a resonate:target tag")
    );
    assert_eq!(
        answer(kind, Reply::TaskCreate(TaskCreateReply::AlreadyExists)),
        err(409, "Already exists")
    );
}

/// Acquire replies are written straight from the records; the bytes must be those of the same
/// reply built as a JSON tree (sorted keys), for a leased task and for one without a lease.
#[test]
fn an_acquire_reply_is_byte_for_byte_the_json_tree() {
    let mut unleased = acquired("job.2");
    unleased.task.timer = None;
    unleased.preload.clear();
    for (acquired, data) in [
        (acquired("job"), acquired_json("job")),
        (
            unleased,
            json!({"task": {"id": "job.2", "state": "acquired", "version": 2, "resumes": 1},
                          "promise": pending_json("job.2"), "preload": []}),
        ),
    ] {
        let reply = Reply::TaskAcquire(AcquireReply::Acquired(acquired));
        let rendered = render("task.acquire", "c9", &reply);
        let tree = json!({"kind": "task.acquire", "data": data,
                          "head": {"corrId": "c9", "status": 200, "version": "2026-04-01"}});
        let expected = serde_json::to_vec(&tree).expect("bytes");
        assert_eq!(String::from_utf8_lossy(&rendered.body), String::from_utf8_lossy(&expected));
    }
}

#[test]
fn acquire_release_fulfill_replies() {
    let reply = Reply::TaskAcquire(AcquireReply::Acquired(acquired("job")));
    assert_eq!(answer("task.acquire", reply), (200, acquired_json("job")));
    let cases = [
        (AcquireReply::NotFound, 404, "Task not found"),
        (AcquireReply::NotPending, 409, "Task is not pending"),
        (AcquireReply::VersionMismatch, 409, "Version mismatch"),
    ];
    for (reply, status, message) in cases {
        assert_eq!(answer("task.acquire", Reply::TaskAcquire(reply)), err(status, message));
    }
    assert_eq!(answer("task.release", Reply::TaskRelease(LeaseReply::Done)), (200, json!({})));
    assert_eq!(
        answer("task.release", Reply::TaskRelease(LeaseReply::NotFound)),
        err(404, "Task not found")
    );
    let conflict = "Task version mismatch or invalid state";
    assert_eq!(
        answer("task.release", Reply::TaskRelease(LeaseReply::Conflict)),
        err(409, conflict)
    );
    let fulfilled = Reply::TaskFulfill(FulfillReply::Fulfilled(resolved("job")));
    assert_eq!(answer("task.fulfill", fulfilled), (200, json!({"promise": resolved_json("job")})));
    assert_eq!(
        answer("task.fulfill", Reply::TaskFulfill(FulfillReply::NotFound)),
        err(404, "Task not found")
    );
    assert_eq!(
        answer("task.fulfill", Reply::TaskFulfill(FulfillReply::Conflict)),
        err(409, conflict)
    );
}

#[test]
fn suspend_replies_include_the_300_continue() {
    let kind = "task.suspend";
    assert_eq!(answer(kind, Reply::TaskSuspend(SuspendReply::Suspended)), (200, json!({})));
    let reply = Reply::TaskSuspend(SuspendReply::Continue { preload: vec![resolved("job.1")] });
    assert_eq!(answer(kind, reply), (300, json!({"preload": [resolved_json("job.1")]})));
    let cases = [
        (SuspendReply::NotFound, 404, "Task not found"),
        (SuspendReply::Conflict, 409, "Task is not acquired or version mismatch"),
        (SuspendReply::AwaitedNotFound, 422, "Awaited promise not found"),
    ];
    for (reply, status, message) in cases {
        assert_eq!(answer(kind, Reply::TaskSuspend(reply)), err(status, message));
    }
}

#[test]
fn fence_wraps_the_inner_envelope() {
    let inner = |kind: &str, status: u16, data: Json| json!({"kind": kind, "head": {"corrId": "c9", "status": status, "version": "2026-04-01"}, "data": data});
    let done =
        |outcome| Reply::TaskFence(FenceReply::Done { outcome, preload: vec![resolved("job.1")] });
    let expected = json!({"action": inner("promise.create", 200, json!({"promise": pending_json("job.2")})),
                          "preload": [resolved_json("job.1")]});
    assert_eq!(
        answer("task.fence", done(FenceOutcome::Created(pending("job.2")))),
        (200, expected)
    );
    let expected = json!({"action": inner("promise.settle", 200, json!({"promise": resolved_json("x")})),
                          "preload": [resolved_json("job.1")]});
    assert_eq!(answer("task.fence", done(FenceOutcome::Settled(resolved("x")))), (200, expected));
    let expected = json!({"action": inner("promise.settle", 404, json!("Promise not found")),
                          "preload": [resolved_json("job.1")]});
    assert_eq!(answer("task.fence", done(FenceOutcome::SettleNotFound)), (200, expected));
    assert_eq!(
        answer("task.fence", Reply::TaskFence(FenceReply::NotFound)),
        err(404, "Task not found")
    );
    assert_eq!(
        answer("task.fence", Reply::TaskFence(FenceReply::VersionMismatch)),
        err(409, "Version mismatch")
    );
}

#[test]
fn heartbeat_halt_continue_replies() {
    assert_eq!(answer("task.heartbeat", Reply::TaskHeartbeat), (200, json!({})));
    assert_eq!(answer("task.halt", Reply::TaskHalt(HaltReply::Halted)), (200, json!({})));
    assert_eq!(
        answer("task.halt", Reply::TaskHalt(HaltReply::NotFound)),
        err(404, "Task not found")
    );
    assert_eq!(
        answer("task.halt", Reply::TaskHalt(HaltReply::Fulfilled)),
        err(409, "Task is fulfilled")
    );
    assert_eq!(
        answer("task.continue", Reply::TaskContinue(ContinueReply::Continued)),
        (200, json!({}))
    );
    let missing = Reply::TaskContinue(ContinueReply::NotFound);
    assert_eq!(answer("task.continue", missing), err(404, "Task not found"));
    let not_halted = Reply::TaskContinue(ContinueReply::NotHalted);
    assert_eq!(answer("task.continue", not_halted), err(409, "Task is not halted"));
}

#[test]
fn schedule_replies() {
    let expected = json!({"schedule": {"id": "nightly", "cron": "0 2 * * *", "promiseId": "nightly.{{.timestamp}}",
        "promiseTimeout": 60_000, "promiseParam": {"data": "e30="},
        "promiseTags": {"resonate:target": "poll://any@b"}, "createdAt": 10, "nextRunAt": 20}});
    assert_eq!(
        answer("schedule.create", Reply::ScheduleCreate(schedule(None))),
        (200, expected.clone())
    );
    let mut fired = expected;
    fired["schedule"]["lastRunAt"] = json!(15);
    let found = Reply::ScheduleGet(ScheduleReply::Found(schedule(Some(15))));
    assert_eq!(answer("schedule.get", found), (200, fired));
    let missing = Reply::ScheduleGet(ScheduleReply::NotFound);
    assert_eq!(answer("schedule.get", missing), err(404, "Schedule not found"));
    assert_eq!(
        answer("schedule.delete", Reply::ScheduleDelete(DeleteReply::Deleted)),
        (200, json!({}))
    );
    let missing = Reply::ScheduleDelete(DeleteReply::NotFound);
    assert_eq!(answer("schedule.delete", missing), err(404, "Schedule not found"));
}

#[test]
fn debug_replies() {
    assert_eq!(answer("debug.reset", Reply::DebugReset), (200, json!({})));
    let report = TickReport { promises_timed_out: 3, ..TickReport::default() };
    assert_eq!(answer("debug.tick", Reply::Tick(report)), (200, json!([])));
    let rendered = render_empty("debug.start", "c2");
    let head = json!({"corrId": "c2", "status": 200, "version": "2026-04-01"});
    let expected = json!({"kind": "debug.start", "head": head, "data": {}});
    assert_eq!(parsed(&rendered), expected);
    let expected = json!({"kind": "debug.tick", "head": head, "data": []});
    assert_eq!(parsed(&render_tick("debug.tick", "c2")), expected);
}
