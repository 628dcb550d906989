//! Runs the client subcommands: each becomes one protocol request, or a health/explain read.

use anyhow::bail;
use serde_json::{json, Value};

use crate::client::{
    call, http, now_ms, search_all, tags, value, Connection, PromiseCommand, Request,
    ScheduleCommand, TaskCommand,
};

fn ms(duration: &humantime::Duration) -> i64 {
    i64::try_from(std::time::Duration::from(*duration).as_millis()).unwrap_or(i64::MAX)
}

pub async fn promises(command: PromiseCommand) -> anyhow::Result<()> {
    let (connection, kind, data) = match command {
        PromiseCommand::Get { id, connection } => (connection, "promise.get", json!({"id": id})),
        PromiseCommand::Create { id, timeout, data, tags: pairs, target, connection } => {
            let mut tags = tags(&pairs)?;
            if let Some(target) = target {
                tags.insert("resonate:target".into(), target);
            }
            let timeout_at = now_ms().saturating_add(ms(&timeout));
            let data =
                json!({"id": id, "timeoutAt": timeout_at, "param": value(&data)?, "tags": tags});
            (connection, "promise.create", data)
        }
        PromiseCommand::Settle { id, state, data, connection } => {
            let data = json!({"id": id, "state": state, "value": value(&data)?});
            (connection, "promise.settle", data)
        }
        PromiseCommand::Search { state, tags: pairs, limit, all, connection } => {
            let mut data = json!({"tags": tags(&pairs)?, "limit": limit});
            if let Some(state) = state {
                data["state"] = json!(state);
            }
            let request = Request { connection: &connection, kind: "promise.search", data };
            return search(request, all, "promises").await;
        }
    };
    call(Request { connection: &connection, kind, data }).await
}

/// One page, or with `--all` every page with progress.
async fn search(request: Request<'_>, all: bool, field: &str) -> anyhow::Result<()> {
    if all {
        search_all(request, field).await
    } else {
        call(request).await
    }
}

pub async fn tasks(command: TaskCommand) -> anyhow::Result<()> {
    let (connection, kind, data) = match command {
        TaskCommand::Get { id, connection } => (connection, "task.get", json!({"id": id})),
        TaskCommand::Search { state, limit, all, connection } => {
            let mut data = json!({"limit": limit});
            if let Some(state) = state {
                data["state"] = json!(state);
            }
            let request = Request { connection: &connection, kind: "task.search", data };
            return search(request, all, "tasks").await;
        }
    };
    call(Request { connection: &connection, kind, data }).await
}

pub async fn schedules(command: ScheduleCommand) -> anyhow::Result<()> {
    let (connection, kind, data) = match command {
        ScheduleCommand::Create { id, cron, promise_id, promise_timeout, target, connection } => {
            let data = json!({
                "id": id, "cron": cron, "promiseId": promise_id,
                "promiseTimeout": ms(&promise_timeout),
                "promiseTags": {"resonate:target": target},
            });
            (connection, "schedule.create", data)
        }
        ScheduleCommand::Get { id, connection } => (connection, "schedule.get", json!({"id": id})),
        ScheduleCommand::Delete { id, connection } => {
            (connection, "schedule.delete", json!({"id": id}))
        }
        ScheduleCommand::Search { tags: pairs, limit, all, connection } => {
            let data = json!({"tags": tags(&pairs)?, "limit": limit});
            let request = Request { connection: &connection, kind: "schedule.search", data };
            return search(request, all, "schedules").await;
        }
    };
    call(Request { connection: &connection, kind, data }).await
}

async fn get_json(connection: &Connection, path: &str) -> anyhow::Result<(u16, Value)> {
    let url = format!("{}{path}", connection.server.trim_end_matches('/'));
    let mut request = http()?.get(&url);
    if let Some(token) = &connection.token {
        request = request.bearer_auth(token);
    }
    let response =
        request.send().await.map_err(|error| anyhow::anyhow!("cannot reach {url}: {error}"))?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// Plain-words health report; fails when a loop is stale or a lane is stuck.
pub async fn doctor(connection: Connection) -> anyhow::Result<()> {
    let (_, health) = get_json(&connection, "/health").await?;
    let now = crate::client::now_ms();
    let mut problems = 0;
    for entry in health["loops"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap_or("?");
        let completed = entry["lastCompletedAt"].as_i64();
        let age = completed.map_or("never".to_owned(), |at| format!("{} ms ago", now - at));
        let restarts = entry["restarts"].as_u64().unwrap_or(0);
        if entry["stale"].as_bool() == Some(true) {
            problems += 1;
            println!(
                "✗ loop `{name}` is WEDGED: last completed iteration {age}; restarts {restarts}"
            );
        } else {
            println!(
                "✓ loop `{name}` is running: last completed iteration {age}; restarts {restarts}"
            );
        }
    }
    for stuck in health["stuck"].as_array().into_iter().flatten() {
        problems += 1;
        println!(
            "✗ lane `{}` is STUCK: {} pending, oldest {} ms: {}",
            stuck["lane"].as_str().unwrap_or("?"),
            stuck["pending"],
            stuck["oldestAgeMs"],
            stuck["reason"].as_str().unwrap_or("?")
        );
    }
    println!("{}", runtime_line(&health["runtime"]));
    println!("poll workers connected: {}", health["poll"]["connections"]);
    if health["namesHidden"] == Value::Bool(true) {
        println!("(lane and group names hidden: pass -T with a token that may see every id)");
    }
    // Not a problem by itself: executes on their way to workers. When it is high, creates for
    // those workers' lanes are being held back until they catch up.
    if let Some(unacquired) = health["unacquiredExecutes"].as_u64().filter(|n| *n > 0) {
        println!("executes handed to workers and not acquired yet: {unacquired}");
    }
    if problems > 0 {
        bail!("{problems} problem(s) found");
    }
    println!("dispatch is healthy");
    Ok(())
}

/// The runtime watch's figures. A stall that has ended is worth a look, not a failure: the
/// runtime runs again (one in progress would have kept `/health` from answering at all).
fn runtime_line(runtime: &Value) -> String {
    let threads = runtime["threads"].as_u64().unwrap_or(0);
    let plural = if threads == 1 { "" } else { "s" };
    match runtime["stalls"].as_u64().unwrap_or(0) {
        0 => format!("✓ runtime: {threads} thread{plural}, no stall since start"),
        stalls => format!(
            "! runtime: {threads} thread{plural}, {stalls} stall(s) since start, the longest {} ms: \
             something blocked its thread (see the server's log)",
            runtime["longestStallMs"]
        ),
    }
}

pub async fn explain(id: String, connection: Connection) -> anyhow::Result<()> {
    let (status, body) = get_json(&connection, &format!("/explain/{id}")).await?;
    if status != 200 {
        bail!("{}", body["error"].as_str().unwrap_or("explain failed"));
    }
    println!("{id}:");
    for line in body["explanation"].as_array().into_iter().flatten() {
        println!("  {}", line.as_str().unwrap_or_default());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::runtime_line;

    #[test]
    fn a_past_stall_is_named_with_its_length() {
        let quiet = json!({"threads": 1, "stalls": 0, "longestStallMs": 0});
        assert_eq!(runtime_line(&quiet), "✓ runtime: 1 thread, no stall since start");
        let stalled = json!({"threads": 2, "stalls": 3, "longestStallMs": 4200});
        let line = runtime_line(&stalled);
        assert!(line.starts_with("! runtime: 2 threads, 3 stall(s) since start"), "{line}");
        assert!(line.contains("the longest 4200 ms"), "{line}");
    }
}
