//! Status and `data` of every reply: the one place where outcomes become status codes.

use serde_json::{json, Map, Value as Json};

use resolute_core::reply::{
    AcquireReply, CallbackReply, ContinueReply, DeleteReply, FenceOutcome, FenceReply, Found,
    FulfillReply, HaltReply, LeaseReply, ListenerReply, PromiseReply, ScheduleReply, SuspendReply,
    TaskCreateReply, TaskGetReply,
};
use resolute_core::Reply;

use super::records::{promise_json, promises_json, schedule_json, task_json};
use super::snapshot::snapshot_json;
use super::{envelope_json, Data};

const PROMISE_NOT_FOUND: &str = "Promise not found";
const AWAITED_NOT_FOUND: &str = "Awaited promise not found";
const TASK_NOT_FOUND: &str = "Task not found";
const TASK_CONFLICT: &str = "Task version mismatch or invalid state";
const SCHEDULE_NOT_FOUND: &str = "Schedule not found";

type Answer<'a> = (u16, Data<'a>);

fn ok(data: Json) -> Answer<'static> {
    (200, Data::Json(data))
}

fn empty() -> Answer<'static> {
    ok(json!({}))
}

/// An error answer: `data` is the message as a JSON string.
fn error(status: u16, message: &str) -> Answer<'static> {
    (status, Data::Json(Json::String(message.to_owned())))
}

/// `200 {"promise": …}`, the answer of most promise operations.
fn promise_ok(promise: &resolute_core::Promise) -> Answer<'_> {
    (200, Data::Promise(promise))
}

/// The status and `data` for a reply; `corr_id` is echoed in a fenced action's inner envelope.
pub(crate) fn status_and_data<'a>(corr_id: &str, reply: &'a Reply) -> Answer<'a> {
    match reply {
        Reply::PromiseGet(found) | Reply::PromiseSettle(found) => promise_found(found),
        Reply::PromiseCreate(promise) => promise_ok(promise),
        Reply::PromiseRegisterCallback(callback) => callback_answer(callback),
        Reply::PromiseRegisterListener(listener) => listener_answer(listener),
        Reply::PromiseSearch(found) => ok(page("promises", found, promise_json)),
        Reply::TaskGet(TaskGetReply::Found(task)) => ok(json!({ "task": task_json(task) })),
        Reply::TaskGet(TaskGetReply::NotFound) => error(404, TASK_NOT_FOUND),
        Reply::TaskCreate(create) => task_create_answer(create),
        Reply::TaskAcquire(acquire) => acquire_answer(acquire),
        Reply::TaskRelease(lease) => lease_answer(lease),
        Reply::TaskFulfill(fulfill) => fulfill_answer(fulfill),
        Reply::TaskSuspend(suspend) => suspend_answer(suspend),
        Reply::TaskFence(fence) => fence_answer(corr_id, fence),
        Reply::TaskHeartbeat => empty(),
        Reply::TaskHalt(halt) => halt_answer(halt),
        Reply::TaskContinue(resume) => continue_answer(resume),
        Reply::TaskSearch(found) => ok(page("tasks", found, task_json)),
        Reply::ScheduleGet(ScheduleReply::Found(schedule)) | Reply::ScheduleCreate(schedule) => {
            ok(json!({ "schedule": schedule_json(schedule) }))
        }
        Reply::ScheduleGet(ScheduleReply::NotFound) => error(404, SCHEDULE_NOT_FOUND),
        Reply::ScheduleDelete(DeleteReply::Deleted) => empty(),
        Reply::ScheduleDelete(DeleteReply::NotFound) => error(404, SCHEDULE_NOT_FOUND),
        Reply::ScheduleSearch(found) => ok(page("schedules", found, schedule_json)),
        Reply::DebugReset => empty(),
        Reply::DebugSnap(snapshot) => ok(snapshot_json(snapshot)),
        // The reference answers every debug.tick with an empty list, whatever the pass did.
        Reply::Tick(_) => ok(json!([])),
        // Dispatcher bookkeeping never reaches a client; answer like any internal failure.
        Reply::DueMessages(_)
        | Reply::ClaimMessages(_)
        | Reply::OutboxBacklog(_)
        | Reply::OutboxMessage(_)
        | Reply::Requeued(_)
        | Reply::Done => error(500, "Internal error: internal command has no wire form"),
    }
}

fn promise_found(found: &PromiseReply) -> Answer<'_> {
    match found {
        PromiseReply::Found(promise) => promise_ok(promise),
        PromiseReply::NotFound => error(404, PROMISE_NOT_FOUND),
    }
}

fn callback_answer(callback: &CallbackReply) -> Answer<'_> {
    match callback {
        CallbackReply::Registered(promise) => promise_ok(promise),
        CallbackReply::AwaitedNotFound => error(404, AWAITED_NOT_FOUND),
        CallbackReply::AwaiterNotFound => error(422, "Awaiter promise not found"),
        CallbackReply::AwaiterNotTargeted => {
            error(422, "Awaiter promise has no resonate:target tag")
        }
    }
}

/// `{<name>: [...], cursor?}`: the cursor is present only when more rows exist.
fn page<T>(name: &str, found: &Found<T>, item: fn(&T) -> Json) -> Json {
    let mut object = Map::new();
    object.insert(name.into(), Json::Array(found.items.iter().map(item).collect()));
    if let Some(cursor) = &found.cursor {
        object.insert("cursor".into(), json!(cursor));
    }
    Json::Object(object)
}

fn lease_answer(lease: &LeaseReply) -> Answer<'_> {
    match lease {
        LeaseReply::Done => empty(),
        LeaseReply::NotFound => error(404, TASK_NOT_FOUND),
        LeaseReply::Conflict => error(409, TASK_CONFLICT),
    }
}

fn listener_answer(listener: &ListenerReply) -> Answer<'_> {
    match listener {
        ListenerReply::Registered(promise) => promise_ok(promise),
        ListenerReply::AwaitedNotFound => error(404, AWAITED_NOT_FOUND),
    }
}

fn fulfill_answer(fulfill: &FulfillReply) -> Answer<'_> {
    match fulfill {
        FulfillReply::Fulfilled(promise) => promise_ok(promise),
        FulfillReply::NotFound => error(404, TASK_NOT_FOUND),
        FulfillReply::Conflict => error(409, TASK_CONFLICT),
    }
}

fn halt_answer(halt: &HaltReply) -> Answer<'_> {
    match halt {
        HaltReply::Halted => empty(),
        HaltReply::NotFound => error(404, TASK_NOT_FOUND),
        HaltReply::Fulfilled => error(409, "Task is fulfilled"),
    }
}

fn continue_answer(resume: &ContinueReply) -> Answer<'_> {
    match resume {
        ContinueReply::Continued => empty(),
        ContinueReply::NotFound => error(404, TASK_NOT_FOUND),
        ContinueReply::NotHalted => error(409, "Task is not halted"),
    }
}

fn task_create_answer(create: &TaskCreateReply) -> Answer<'_> {
    match create {
        TaskCreateReply::Acquired(acquired) => (200, Data::Acquired(acquired)),
        TaskCreateReply::Fulfilled { task, promise } => ok(json!({
            "task": task_json(task),
            "promise": promise_json(promise),
            "preload": [],
        })),
        TaskCreateReply::NoTarget => error(422, "The promise does not have a resonate:target tag"),
        TaskCreateReply::AlreadyExists => error(409, "Already exists"),
    }
}

fn acquire_answer(acquire: &AcquireReply) -> Answer<'_> {
    match acquire {
        AcquireReply::Acquired(acquired) => (200, Data::Acquired(acquired)),
        AcquireReply::NotFound => error(404, TASK_NOT_FOUND),
        AcquireReply::NotPending => error(409, "Task is not pending"),
        AcquireReply::VersionMismatch => error(409, "Version mismatch"),
    }
}

fn suspend_answer(suspend: &SuspendReply) -> Answer<'_> {
    match suspend {
        SuspendReply::Suspended => empty(),
        // 300 tells the worker to keep its lease and continue at once.
        SuspendReply::Continue { preload } => {
            (300, Data::Json(json!({ "preload": promises_json(preload) })))
        }
        SuspendReply::NotFound => error(404, TASK_NOT_FOUND),
        SuspendReply::Conflict => error(409, "Task is not acquired or version mismatch"),
        SuspendReply::AwaitedNotFound => error(422, AWAITED_NOT_FOUND),
    }
}

/// The outer answer is 200 whatever the inner one is; the inner envelope echoes the outer corrId.
fn fence_answer<'a>(corr_id: &str, fence: &'a FenceReply) -> Answer<'a> {
    match fence {
        FenceReply::Done { outcome, preload } => {
            let (kind, (status, data)) = match outcome {
                FenceOutcome::Created(promise) => ("promise.create", promise_ok(promise)),
                FenceOutcome::Settled(promise) => ("promise.settle", promise_ok(promise)),
                FenceOutcome::SettleNotFound => ("promise.settle", error(404, PROMISE_NOT_FOUND)),
            };
            ok(json!({
                "action": envelope_json(kind, corr_id, status, &data),
                "preload": promises_json(preload),
            }))
        }
        FenceReply::NotFound => error(404, TASK_NOT_FOUND),
        FenceReply::VersionMismatch => error(409, "Version mismatch"),
    }
}
