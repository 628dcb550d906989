//! Golden requests and every validation message of the `schedule.*` kinds.

use serde_json::{json, Value as Json};

use resolute_core::command::{CreateSchedule, Page, ScheduleQuery};
use resolute_core::{Command, Tags, Value};

use super::{assert_bad, command};

fn create_data() -> Json {
    json!({"id": "nightly", "cron": "0 2 * * *", "promiseId": "nightly.{{.timestamp}}",
           "promiseTimeout": 3_600_000, "promiseParam": {"data": "e30="},
           "promiseTags": {"resonate:target": "poll://any@batch"}})
}

#[test]
fn get_and_delete() {
    assert_eq!(
        command("schedule.get", json!({"id": "s"})),
        Command::ScheduleGet { id: "s".into() }
    );
    assert_eq!(
        command("schedule.delete", json!({"id": "s"})),
        Command::ScheduleDelete { id: "s".into() }
    );
    assert_bad("schedule.get", json!({"id": ""}), "Schedule ID is required");
    assert_bad("schedule.delete", json!({"id": ""}), "Schedule ID is required");
}

#[test]
fn create_reads_every_field() {
    let expected = CreateSchedule {
        id: "nightly".into(),
        cron: "0 2 * * *".into(),
        promise_id: "nightly.{{.timestamp}}".into(),
        promise_timeout_ms: 3_600_000,
        promise_param: Value { headers: None, data: Some("e30=".into()) },
        promise_tags: Tags::from([("resonate:target".into(), "poll://any@batch".into())]),
    };
    assert_eq!(command("schedule.create", create_data()), Command::ScheduleCreate(expected));
}

#[test]
fn create_errors() {
    let with = |key: &str, value: Json| {
        let mut data = create_data();
        data[key] = value;
        data
    };
    assert_bad("schedule.create", with("id", json!("")), "Schedule ID is required");
    assert_bad("schedule.create", with("id", json!("a.b")), "Schedule ID must not contain '.'");
    assert_bad("schedule.create", with("cron", json!("")), "Cron expression is required");
    assert_bad("schedule.create", with("promiseId", json!("")), "Promise ID template is required");
    assert_bad(
        "schedule.create",
        with("promiseTimeout", json!(-1)),
        "Promise timeout must be a non-negative integer",
    );
    assert_bad(
        "schedule.create",
        with("promiseTags", json!({})),
        "promiseTags must include a resonate:target tag",
    );
    assert_bad("schedule.create", with("cron", json!("* * * * 0")), "Invalid cron expression");
    assert_bad("schedule.create", with("cron", json!("nope")), "Invalid cron expression");
    assert_bad(
        "schedule.create",
        with("promiseParam", Json::Null),
        "Invalid request: invalid type: null, expected struct Value",
    );
    let mut data = create_data();
    data.as_object_mut().map(|data| data.remove("promiseTimeout"));
    assert_bad("schedule.create", data, "Invalid request: missing field `promiseTimeout`");
    // The target of a schedule is not checked for routability, as in the reference.
    let ftp = with("promiseTags", json!({"resonate:target": "ftp://x"}));
    assert!(matches!(command("schedule.create", ftp), Command::ScheduleCreate(_)));
}

#[test]
fn search_defaults_to_ten() {
    let expected = ScheduleQuery { tags: Tags::new(), page: Page { limit: 10, cursor: None } };
    assert_eq!(command("schedule.search", json!({})), Command::ScheduleSearch(expected.clone()));
    let nulls = json!({"tags": null, "limit": null, "cursor": null});
    assert_eq!(command("schedule.search", nulls), Command::ScheduleSearch(expected));
    let data = json!({"tags": {"a": "b"}, "limit": 1, "cursor": "s"});
    let expected = ScheduleQuery {
        tags: Tags::from([("a".into(), "b".into())]),
        page: Page { limit: 1, cursor: Some("s".into()) },
    };
    assert_eq!(command("schedule.search", data), Command::ScheduleSearch(expected));
    assert_bad("schedule.search", json!({"limit": 0}), "Limit must be a positive integer");
    assert_bad(
        "schedule.search",
        json!({"limit": 1001}),
        "Invalid 'limit' — must be between 1 and 1000",
    );
}
