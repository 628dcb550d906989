//! `schedule.*` requests: get, create, delete, search.

use serde::Deserialize;

use resolute_core::command::{CreateSchedule, ScheduleQuery};
use resolute_core::cron::Cron;
use resolute_core::model::TAG_TARGET;
use resolute_core::{Command, Tags};

use crate::error::BadRequest;
use crate::rules::{self, ensure, FieldRules};
use crate::wire::{null_as_empty, parse, WireValue};

/// The default page size of `schedule.search` (smaller than the other searches, as the protocol).
const SEARCH_LIMIT_DEFAULT: usize = 10;

#[derive(Deserialize)]
struct IdData {
    id: String,
}

fn read_id(data: &str) -> Result<String, BadRequest> {
    let IdData { id } = parse(data)?;
    ensure(!id.is_empty(), "Schedule ID is required")?;
    Ok(id)
}

pub(crate) fn get(data: &str) -> Result<Command, BadRequest> {
    read_id(data).map(|id| Command::ScheduleGet { id })
}

pub(crate) fn delete(data: &str) -> Result<Command, BadRequest> {
    read_id(data).map(|id| Command::ScheduleDelete { id })
}

#[derive(Deserialize)]
struct CreateData {
    id: String,
    cron: String,
    #[serde(rename = "promiseId")]
    promise_id: String,
    #[serde(rename = "promiseTimeout")]
    promise_timeout: i64,
    #[serde(rename = "promiseParam", default)]
    promise_param: WireValue,
    #[serde(rename = "promiseTags", default)]
    promise_tags: Tags,
}

pub(crate) fn create(data: &str) -> Result<Command, BadRequest> {
    let create: CreateData = parse(data)?;
    let mut field = FieldRules::default();
    field.check(!create.id.is_empty(), "Schedule ID is required");
    field.check(!create.id.contains('.'), "Schedule ID must not contain '.'");
    field.check(!create.cron.is_empty(), "Cron expression is required");
    field.check(!create.promise_id.is_empty(), "Promise ID template is required");
    field.check(create.promise_timeout >= 0, "Promise timeout must be a non-negative integer");
    field.check(
        create.promise_tags.contains_key(TAG_TARGET),
        "promiseTags must include a resonate:target tag",
    );
    field.finish()?;
    ensure(Cron::parse(&create.cron).is_some(), "Invalid cron expression")?;
    Ok(Command::ScheduleCreate(CreateSchedule {
        id: create.id,
        cron: create.cron,
        promise_id: create.promise_id,
        promise_timeout_ms: create.promise_timeout,
        promise_param: create.promise_param.into(),
        promise_tags: create.promise_tags,
    }))
}

#[derive(Deserialize)]
struct SearchData {
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
    Ok(Command::ScheduleSearch(ScheduleQuery { tags: search.tags, page }))
}
