//! `task.*` requests: get, create, acquire, release, fulfill, suspend, fence, heartbeat, halt,
//! continue, search.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::value::RawValue;

use resolute_core::command::{CreatePromise, FenceAction, HeldTask, SettlePromise, TaskQuery};
use resolute_core::model::{TAG_DELAY, TAG_TARGET};
use resolute_core::Command;

use crate::error::{serde_message, BadRequest};
use crate::request::promise::{CallbackData, CreateData, SettleData};
use crate::rules::{self, ensure, FieldRules};
use crate::wire::{parse, Action, WireTaskState};

/// The default page size of `task.search`.
const SEARCH_LIMIT_DEFAULT: usize = 100;

const TASK_ID_REQUIRED: &str = "Task ID is required";
const VERSION_NON_NEGATIVE: &str = "Version must be a non-negative integer";
const PID_REQUIRED: &str = "Process ID is required";
const TTL_POSITIVE: &str = "TTL must be a positive integer";

#[derive(Deserialize)]
struct IdData {
    id: String,
}

/// The operations whose data is only a task id (get, halt, continue).
fn read_id(data: &str) -> Result<String, BadRequest> {
    let IdData { id } = parse(data)?;
    ensure(!id.is_empty(), TASK_ID_REQUIRED)?;
    Ok(id)
}

pub(crate) fn get(data: &str) -> Result<Command, BadRequest> {
    read_id(data).map(|id| Command::TaskGet { id })
}

pub(crate) fn halt(data: &str) -> Result<Command, BadRequest> {
    read_id(data).map(|id| Command::TaskHalt { id })
}

pub(crate) fn continue_(data: &str) -> Result<Command, BadRequest> {
    read_id(data).map(|id| Command::TaskContinue { id })
}

#[derive(Deserialize)]
struct CreateTaskData {
    pid: String,
    ttl: i64,
    action: Action<CreateData>,
}

pub(crate) fn create(data: &str) -> Result<Command, BadRequest> {
    let CreateTaskData { pid, ttl, action } = parse(data)?;
    let mut field = FieldRules::default();
    field.check(!pid.is_empty(), PID_REQUIRED);
    field.check(ttl >= 1, TTL_POSITIVE);
    field.nested(action.data.validate());
    field.finish()?;
    let tags = action.data.tags();
    ensure(tags.contains_key(TAG_TARGET), "Action must have a resonate:target tag")?;
    ensure(!tags.contains_key(TAG_DELAY), "Action must not have a resonate:delay tag")?;
    rules::check_target(tags)?;
    Ok(Command::TaskCreate { pid, ttl_ms: ttl, promise: action.data.into_command() })
}

#[derive(Deserialize)]
struct AcquireData {
    id: String,
    version: i64,
    pid: String,
    ttl: i64,
}

pub(crate) fn acquire(data: &str) -> Result<Command, BadRequest> {
    let AcquireData { id, version, pid, ttl } = parse(data)?;
    let mut field = FieldRules::default();
    field.check(!id.is_empty(), TASK_ID_REQUIRED);
    field.check(version >= 0, VERSION_NON_NEGATIVE);
    field.check(!pid.is_empty(), PID_REQUIRED);
    field.check(ttl >= 1, TTL_POSITIVE);
    field.finish()?;
    Ok(Command::TaskAcquire { id, version, pid, ttl_ms: ttl })
}

#[derive(Deserialize)]
struct ReleaseData {
    id: String,
    version: i64,
}

/// The field rules every lease-holder operation shares.
fn check_id_version(field: &mut FieldRules, id: &str, version: i64) {
    field.check(!id.is_empty(), TASK_ID_REQUIRED);
    field.check(version >= 0, VERSION_NON_NEGATIVE);
}

pub(crate) fn release(data: &str) -> Result<Command, BadRequest> {
    let ReleaseData { id, version } = parse(data)?;
    let mut field = FieldRules::default();
    check_id_version(&mut field, &id, version);
    field.finish()?;
    Ok(Command::TaskRelease { id, version })
}

#[derive(Deserialize)]
struct FulfillData {
    id: String,
    version: i64,
    action: Action<SettleData>,
}

pub(crate) fn fulfill(data: &str) -> Result<Command, BadRequest> {
    let FulfillData { id, version, action } = parse(data)?;
    let mut field = FieldRules::default();
    check_id_version(&mut field, &id, version);
    field.nested(action.data.validate());
    field.finish()?;
    ensure(action.data.id == id, "Action ID must match the task ID")?;
    Ok(Command::TaskFulfill { id, version, settle: action.data.into_command() })
}

#[derive(Deserialize)]
struct SuspendData {
    id: String,
    version: i64,
    actions: Vec<Action<CallbackData>>,
}

pub(crate) fn suspend(data: &str) -> Result<Command, BadRequest> {
    let SuspendData { id, version, actions } = parse(data)?;
    let mut field = FieldRules::default();
    check_id_version(&mut field, &id, version);
    field.check(!actions.is_empty(), "Actions array cannot be empty");
    for action in &actions {
        field.nested(action.data.validate());
    }
    field.finish()?;
    let callbacks = || actions.iter().map(|action| &action.data);
    ensure(
        callbacks().all(|callback| callback.awaiter == id),
        "All action awaiter IDs must match the task ID",
    )?;
    ensure(
        callbacks().all(|callback| callback.awaited != id),
        "Action awaited promise must not equal the task ID",
    )?;
    ensure(
        callbacks().all(|callback| rules::same_origin(&callback.awaited, &id)),
        "Awaited promise must belong to the same origin as the task",
    )?;
    // The kernel looks each awaited promise up once; the first occurrence fixes the order. A set
    // keeps this linear: a 2 MiB body can hold tens of thousands of actions.
    let mut seen = BTreeSet::new();
    let mut awaited: Vec<String> = Vec::with_capacity(actions.len());
    for action in actions {
        if seen.insert(action.data.awaited.clone()) {
            awaited.push(action.data.awaited);
        }
    }
    Ok(Command::TaskSuspend { id, version, awaited })
}

#[derive(Deserialize)]
struct FenceData {
    id: String,
    version: i64,
    action: FenceActionData,
}

/// A fenced action: `head` is optional here, and `data` stays as text until `kind` is known.
#[derive(Deserialize)]
struct FenceActionData {
    kind: String,
    data: Box<RawValue>,
}

pub(crate) fn fence(data: &str) -> Result<Command, BadRequest> {
    let FenceData { id, version, action } = parse(data)?;
    let inner: serde_json::Map<String, serde_json::Value> = parse(action.data.get())?;
    let mut field = FieldRules::default();
    check_id_version(&mut field, &id, version);
    field.finish()?;
    let inner_id = inner.get("id").and_then(|inner_id| inner_id.as_str());
    ensure(inner_id != Some(id.as_str()), "Action ID must not equal the task ID")?;
    let action = match action.kind.as_str() {
        "promise.create" => FenceAction::Create(fenced(action.data.get(), read_fenced_create)?),
        "promise.settle" => FenceAction::Settle(fenced(action.data.get(), read_fenced_settle)?),
        _ => return Err("Invalid fence action kind".into()),
    };
    Ok(Command::TaskFence { id, version, action })
}

/// Parses a fenced action's data; a parse failure reads "Invalid action data: …" here.
fn fenced<D: serde::de::DeserializeOwned, T>(
    data: &str,
    read: fn(D) -> Result<T, BadRequest>,
) -> Result<T, BadRequest> {
    let parsed = serde_json::from_str::<D>(data)
        .map_err(|error| BadRequest(format!("Invalid action data: {}", serde_message(&error))))?;
    read(parsed)
}

fn read_fenced_create(create: CreateData) -> Result<CreatePromise, BadRequest> {
    create.validate()?;
    rules::check_target(create.tags())?;
    Ok(create.into_command())
}

fn read_fenced_settle(settle: SettleData) -> Result<SettlePromise, BadRequest> {
    settle.validate()?;
    Ok(settle.into_command())
}

#[derive(Deserialize)]
struct HeartbeatData {
    pid: String,
    tasks: Vec<HeldTaskData>,
}

#[derive(Deserialize)]
struct HeldTaskData {
    id: String,
    version: i64,
}

pub(crate) fn heartbeat(data: &str) -> Result<Command, BadRequest> {
    let HeartbeatData { pid, tasks } = parse(data)?;
    let mut field = FieldRules::default();
    field.check(!pid.is_empty(), PID_REQUIRED);
    field.check(!tasks.is_empty(), "Tasks array must not be empty");
    field.finish()?;
    // Entries with an empty id are skipped by the protocol. Unlike the reference, tasks of
    // different origins are accepted: both SDK generations heartbeat every task a worker holds in
    // one request, so a worker running two workflows would otherwise lose all its leases (a 400
    // here is only logged by the SDKs). Authorization still checks every id.
    let tasks: Vec<HeldTask> = tasks
        .into_iter()
        .filter(|task| !task.id.is_empty())
        .map(|task| HeldTask { id: task.id, version: task.version })
        .collect();
    Ok(Command::TaskHeartbeat { pid, tasks })
}

#[derive(Deserialize)]
struct SearchData {
    #[serde(default)]
    state: Option<WireTaskState>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    cursor: Option<String>,
}

pub(crate) fn search(data: &str) -> Result<Command, BadRequest> {
    let search: SearchData = parse(data)?;
    let page = rules::page(search.limit, search.cursor, SEARCH_LIMIT_DEFAULT)?;
    Ok(Command::TaskSearch(TaskQuery { state: search.state.map(Into::into), page }))
}
