//! The records of protocol §2 as JSON: Value, Promise, Task, Schedule.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value as Json};

use resolute_core::{Promise, Schedule, Task, TaskState, Value};

/// `{headers?, data?}`: absent members are omitted, so an empty value is `{}`.
pub(crate) fn value_json(value: &Value) -> Json {
    to_json(&ValueRecord(value))
}

/// A value record written straight to the output, members in sorted order like a JSON map.
struct ValueRecord<'a>(&'a Value);

impl Serialize for ValueRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(data) = &self.0.data {
            map.serialize_entry("data", data)?;
        }
        if let Some(headers) = &self.0.headers {
            map.serialize_entry("headers", headers)?;
        }
        map.end()
    }
}

/// A promise record; `settledAt` is omitted while pending. Serialized directly (no intermediate
/// `Value` tree: building and dropping one cost more than the rest of rendering a reply), with
/// keys in the sorted order a JSON map would give them, so the bytes match the wire format tests.
pub(crate) struct PromiseRecord<'a>(pub(crate) &'a Promise);

impl Serialize for PromiseRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let promise = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("createdAt", &promise.created_at.ms())?;
        map.serialize_entry("id", &promise.id)?;
        map.serialize_entry("param", &ValueRecord(&promise.param))?;
        if let Some(settled_at) = promise.settled_at {
            map.serialize_entry("settledAt", &settled_at.ms())?;
        }
        map.serialize_entry("state", promise.state.as_str())?;
        map.serialize_entry("tags", &promise.tags)?;
        map.serialize_entry("timeoutAt", &promise.timeout_at.ms())?;
        map.serialize_entry("value", &ValueRecord(&promise.value))?;
        map.end()
    }
}

/// A promise as a JSON value, for the replies still composed as values.
/// A list of promise records, written one by one.
pub(crate) struct PromiseRecords<'a>(pub(crate) &'a [Promise]);

impl Serialize for PromiseRecords<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(PromiseRecord))
    }
}

pub(crate) fn promise_json(promise: &Promise) -> Json {
    to_json(&PromiseRecord(promise))
}

/// Converts a record to a value. Records have string keys only, which cannot fail to convert.
fn to_json(record: &impl Serialize) -> Json {
    serde_json::to_value(record).unwrap_or(Json::Null)
}

pub(crate) fn promises_json(promises: &[Promise]) -> Json {
    Json::Array(promises.iter().map(promise_json).collect())
}

/// A task; `ttl` and `pid` come from the lease and appear only while the task is acquired.
/// Written straight to the output, keys in the sorted order a JSON map gives them.
pub(crate) struct TaskRecord<'a>(pub(crate) &'a Task);

impl Serialize for TaskRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let task = self.0;
        let lease = task.lease().filter(|_| task.state == TaskState::Acquired);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &task.id)?;
        if let Some(pid) = lease.and_then(|lease| lease.pid.as_ref()) {
            map.serialize_entry("pid", pid)?;
        }
        map.serialize_entry("resumes", &task.resumes)?;
        map.serialize_entry("state", task.state.as_str())?;
        if let Some(lease) = lease {
            map.serialize_entry("ttl", &lease.ttl_ms)?;
        }
        map.serialize_entry("version", &task.version)?;
        map.end()
    }
}

pub(crate) fn task_json(task: &Task) -> Json {
    to_json(&TaskRecord(task))
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
