//! Back-pressure on creates, over real HTTP: while a poll group's workers hold their share of
//! executes they have not acquired, a create for that group waits (never longer than the hold
//! limit), acquires let held creates go, and with the hold turned off nothing ever waits.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{Server, Worker};

const FAR: i64 = 4_000_000_000_000;
const HOLD_MAX: Duration = Duration::from_millis(800);

/// Creates a task for the poll group `g` and says how long the create took.
async fn timed_create(server: &Server, id: &str) -> Duration {
    let started = Instant::now();
    let data = json!({"id": id, "timeoutAt": FAR, "tags": {"resonate:target": "poll://any@g"}});
    let (status, body) = server.rpc("promise.create", data).await;
    assert_eq!(status, 200, "{body}");
    started.elapsed()
}

/// Takes the next execute off the worker's stream: (task id, version).
async fn next_execute(worker: &mut Worker) -> (String, i64) {
    let event = worker.next(Duration::from_secs(5)).await.expect("an execute");
    let task = &event["data"]["task"];
    (task["id"].as_str().expect("task id").to_owned(), task["version"].as_i64().expect("version"))
}

async fn acquire(server: &Server, (id, version): &(String, i64)) {
    let data = json!({"id": id, "version": version, "pid": "w1", "ttl": 60_000});
    let (status, body) = server.rpc("task.acquire", data).await;
    assert_eq!(status, 200, "{body}");
}

async fn health(server: &Server) -> Value {
    let (_, body) = server.get("/health").await;
    serde_json::from_str(&body).expect("health is JSON")
}

fn server_holding(per_worker: &str, metrics_port: &str) -> Server {
    let hold = HOLD_MAX.as_millis().to_string();
    Server::start_with(&[
        "--dispatch-backlog-per-worker",
        per_worker,
        "--dispatch-hold-max-ms",
        &hold,
        "--observability-metrics-port",
        metrics_port,
    ])
}

async fn metric(server: &Server, port: &str, series: &str) -> Option<f64> {
    let url = format!("http://127.0.0.1:{port}/metrics");
    let text = server.client.get(&url).send().await.expect("scrape").text().await.expect("text");
    crate::metrics::sample(&text, series)
}

#[tokio::test]
async fn creates_wait_while_the_workers_hold_their_share_and_go_on_as_they_acquire() {
    let port = crate::listener::free_port();
    let server = server_holding("4", &port);
    let mut worker = Worker::connect(&server, "g", "w1").await;
    let mut executes = Vec::new();
    for index in 0..4 {
        let took = timed_create(&server, &format!("free.{index}")).await;
        assert!(took < HOLD_MAX / 2, "create {index} with room took {took:?}");
        executes.push(next_execute(&mut worker).await);
    }
    // The worker holds 4 unacquired executes, its share: the next create waits it out.
    let took = timed_create(&server, "held").await;
    assert!(took >= HOLD_MAX - Duration::from_millis(100), "not held: {took:?}");
    assert!(took < HOLD_MAX * 3, "held past the limit: {took:?}");
    executes.push(next_execute(&mut worker).await);
    assert_eq!(health(&server).await["unacquiredExecutes"], 5);
    assert_eq!(metric(&server, &port, "resolute_executes_unacquired").await, Some(5.0));
    assert_eq!(metric(&server, &port, "resolute_create_hold_seconds_count").await, Some(1.0));
    // Acquires make room, and a create waiting for it goes at once.
    let waiting = {
        let server_url = server.url.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let data = json!({"id": "woken", "timeoutAt": FAR, "tags": {"resonate:target": "poll://any@g"}});
            let envelope =
                json!({"kind": "promise.create", "head": crate::harness::head(None), "data": data});
            let response =
                reqwest::Client::new().post(server_url).body(envelope.to_string()).send().await;
            assert_eq!(response.expect("create").status(), 200);
            started.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    acquire(&server, &executes[0]).await;
    acquire(&server, &executes[1]).await;
    let took = waiting.await.expect("create task");
    assert!(took >= Duration::from_millis(150), "the create did not wait: {took:?}");
    assert!(took < HOLD_MAX - Duration::from_millis(200), "not woken by the acquires: {took:?}");
}

#[tokio::test]
async fn with_the_hold_off_creates_never_wait_for_workers() {
    let server = server_holding("0", "0");
    let mut worker = Worker::connect(&server, "g", "w1").await;
    for index in 0..8 {
        let took = timed_create(&server, &format!("t.{index}")).await;
        assert!(took < HOLD_MAX / 2, "create {index} took {took:?}");
        next_execute(&mut worker).await;
    }
}

#[tokio::test]
async fn a_group_without_workers_keeps_accepting_creates_into_the_outbox() {
    let server = server_holding("1", "0");
    for index in 0..8 {
        let took = timed_create(&server, &format!("t.{index}")).await;
        assert!(took < HOLD_MAX / 2, "create {index} took {took:?}");
    }
}
