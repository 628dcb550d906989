//! The records of protocol §2 as JSON: Value, Promise, Task, Schedule.

use serde_json::{json, Map, Value as Json};

use resolute_core::{Promise, Schedule, Task, TaskState, Value};

/// `{headers?, data?}`: absent members are omitted, so an empty value is `{}`.
pub(crate) fn value_json(value: &Value) -> Json {
    let mut object = Map::new();
    if let Some(headers) = &value.headers {
        object.insert("headers".into(), json!(headers));
    }
    if let Some(data) = &value.data {
        object.insert("data".into(), json!(data));
    }
    Json::Object(object)
}

/// A promise; `settledAt` is omitted while pending.
pub(crate) fn promise_json(promise: &Promise) -> Json {
    let mut object = json!({
        "id": promise.id,
        "state": promise.state.as_str(),
        "param": value_json(&promise.param),
        "value": value_json(&promise.value),
        "tags": promise.tags,
        "timeoutAt": promise.timeout_at.ms(),
        "createdAt": promise.created_at.ms(),
    });
    if let (Some(settled_at), Some(object)) = (promise.settled_at, object.as_object_mut()) {
        object.insert("settledAt".into(), json!(settled_at.ms()));
    }
    object
}

pub(crate) fn promises_json(promises: &[Promise]) -> Json {
    Json::Array(promises.iter().map(promise_json).collect())
}

/// A task; `ttl` and `pid` come from the lease and appear only while the task is acquired.
pub(crate) fn task_json(task: &Task) -> Json {
    let mut object = Map::new();
    object.insert("id".into(), json!(task.id));
    object.insert("state".into(), json!(task.state.as_str()));
    object.insert("version".into(), json!(task.version));
    object.insert("resumes".into(), json!(task.resumes));
    if let Some(lease) = task.lease().filter(|_| task.state == TaskState::Acquired) {
        object.insert("ttl".into(), json!(lease.ttl_ms));
        if let Some(pid) = &lease.pid {
            object.insert("pid".into(), json!(pid));
        }
    }
    Json::Object(object)
}

/// A schedule; `lastRunAt` is omitted until the first firing.
pub(crate) fn schedule_json(schedule: &Schedule) -> Json {
    let mut object = json!({
        "id": schedule.id,
        "cron": schedule.cron,
        "promiseId": schedule.promise_id,
        "promiseTimeout": schedule.promise_timeout_ms,
        "promiseParam": value_json(&schedule.promise_param),
        "promiseTags": schedule.promise_tags,
        "createdAt": schedule.created_at.ms(),
        "nextRunAt": schedule.next_run_at.ms(),
    });
    if let (Some(last_run_at), Some(object)) = (schedule.last_run_at, object.as_object_mut()) {
        object.insert("lastRunAt".into(), json!(last_run_at.ms()));
    }
    object
}
