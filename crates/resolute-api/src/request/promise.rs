//! `promise.*` requests: get, create, settle, register_callback, register_listener, search.

use serde::Deserialize;

use resolute_core::command::{CreatePromise, PromiseQuery, SettlePromise};
use resolute_core::{Address, Command, Tags};

use crate::error::BadRequest;
use crate::rules::{self, ensure, FieldRules};
use crate::wire::{null_as_empty, parse, WirePromiseState, WireSettleState, WireValue};

/// The default page size of `promise.search`.
const SEARCH_LIMIT_DEFAULT: usize = 100;

#[derive(Deserialize)]
struct IdData {
    id: String,
}

pub(crate) fn get(data: &str) -> Result<Command, BadRequest> {
    let IdData { id } = parse(data)?;
    ensure(!id.is_empty(), "Promise ID is required")?;
    Ok(Command::PromiseGet { id })
}

/// The `data` of `promise.create`; also the inner data of `task.create` and fenced creates.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateData {
    id: String,
    #[serde(rename = "timeoutAt")]
    timeout_at: i64,
    #[serde(default)]
    param: WireValue,
    #[serde(default)]
    tags: Tags,
}

impl CreateData {
    pub(crate) fn tags(&self) -> &Tags {
        &self.tags
    }

    /// The field rules, then (only if they pass) the tag rules of §3.2 / compat.md R1.
    pub(crate) fn validate(&self) -> Result<(), BadRequest> {
        let mut field = FieldRules::default();
        field.check(!self.id.is_empty(), "Promise ID is required");
        field.check(!self.id.contains('\0'), "Promise ID must not contain null bytes");
        field.check(self.timeout_at >= 0, "TimeoutAt must be a non-negative integer");
        field.finish()?;
        rules::check_create_tags(&self.id, self.timeout_at, &self.tags)
    }

    pub(crate) fn into_command(self) -> CreatePromise {
        CreatePromise {
            id: self.id,
            timeout_at: resolute_core::Timestamp(self.timeout_at),
            param: self.param.into(),
            tags: self.tags,
        }
    }
}

/// Parses and fully validates a create (rules, then target routability).
pub(crate) fn read_create(data: &str) -> Result<CreatePromise, BadRequest> {
    let create: CreateData = parse(data)?;
    create.validate()?;
    rules::check_target(create.tags())?;
    Ok(create.into_command())
}

pub(crate) fn create(data: &str) -> Result<Command, BadRequest> {
    read_create(data).map(Command::PromiseCreate)
}

/// The `data` of `promise.settle`; also the inner data of `task.fulfill` and fenced settles.
#[derive(Debug, Deserialize)]
pub(crate) struct SettleData {
    pub(crate) id: String,
    state: WireSettleState,
    #[serde(default)]
    value: WireValue,
}

impl SettleData {
    pub(crate) fn validate(&self) -> Result<(), BadRequest> {
        ensure(!self.id.is_empty(), "Promise ID is required")
    }

    pub(crate) fn into_command(self) -> SettlePromise {
        SettlePromise { id: self.id, state: self.state.into(), value: self.value.into() }
    }
}

pub(crate) fn settle(data: &str) -> Result<Command, BadRequest> {
    let settle: SettleData = parse(data)?;
    settle.validate()?;
    Ok(Command::PromiseSettle(settle.into_command()))
}

/// The `data` of `promise.register_callback`; also each action of `task.suspend`.
#[derive(Debug, Deserialize)]
pub(crate) struct CallbackData {
    pub(crate) awaited: String,
    pub(crate) awaiter: String,
}

impl CallbackData {
    pub(crate) fn validate(&self) -> Result<(), BadRequest> {
        let mut field = FieldRules::default();
        field.check(!self.awaited.is_empty(), "Awaited promise ID is required");
        field.check(!self.awaiter.is_empty(), "Awaiter promise ID is required");
        field.finish()?;
        ensure(self.awaited != self.awaiter, "Awaited and awaiter must be different promises")?;
        ensure(
            rules::same_origin(&self.awaiter, &self.awaited),
            "Awaiter and awaited must belong to the same origin",
        )
    }
}

pub(crate) fn register_callback(data: &str) -> Result<Command, BadRequest> {
    let callback: CallbackData = parse(data)?;
    callback.validate()?;
    Ok(Command::PromiseRegisterCallback { awaited: callback.awaited, awaiter: callback.awaiter })
}

#[derive(Deserialize)]
struct ListenerData {
    awaited: String,
    address: String,
}

pub(crate) fn register_listener(data: &str) -> Result<Command, BadRequest> {
    let ListenerData { awaited, address } = parse(data)?;
    let mut field = FieldRules::default();
    field.check(!awaited.is_empty(), "Awaited promise ID is required");
    field.check(!address.is_empty(), "Address is required");
    field.finish()?;
    ensure(Address::parse(&address).is_some(), "Invalid listener address")?;
    Ok(Command::PromiseRegisterListener { awaited, address })
}

#[derive(Deserialize)]
struct SearchData {
    #[serde(default)]
    state: Option<WirePromiseState>,
    #[serde(default, deserialize_with = "null_as_empty")]
    tags: Tags,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    cursor: Option<String>,
}

pub(crate) fn search(data: &str) -> Result<Command, BadRequest> {
    let search: SearchData = parse(data)?;
    let page = rules::page(search.limit, search.cursor, SEARCH_LIMIT_DEFAULT)?;
    Ok(Command::PromiseSearch(PromiseQuery {
        state: search.state.map(Into::into),
        tags: search.tags,
        page,
    }))
}
