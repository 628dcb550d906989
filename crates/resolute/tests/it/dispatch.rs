//! Dispatch over real HTTP: SSE poll delivery, HTTP push with retries, delivery after a crash,
//! parked messages released when a worker connects, the per-target push ceiling, and isolation
//! from a hung push target.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::harness::{Server, Worker};

const FAR: i64 = 4_000_000_000_000;

async fn create_for(server: &Server, id: &str, target: &str) {
    let data = json!({"id": id, "timeoutAt": FAR, "tags": {"resonate:target": target}});
    let (status, body) = server.rpc("promise.create", data).await;
    assert_eq!(status, 200, "{body}");
}

fn task_of(event: &Value) -> (String, i64) {
    let task = &event["data"]["task"];
    (task["id"].as_str().unwrap_or_default().to_owned(), task["version"].as_i64().unwrap_or(-1))
}

#[tokio::test]
async fn a_connected_worker_gets_the_execute_at_once() {
    let server = Server::start_with(&[]);
    let mut worker = Worker::connect(&server, "workers", "w1").await;
    let started = Instant::now();
    create_for(&server, "job", "poll://any@workers").await;
    let event = worker.next(Duration::from_secs(5)).await.expect("execute delivered");
    assert!(started.elapsed() < Duration::from_millis(900), "event-driven, not a tick");
    assert_eq!(event["kind"], "execute");
    assert_eq!(task_of(&event), ("job".to_owned(), 0));
    let port = server.url.rsplit(':').next().unwrap_or_default();
    assert_eq!(event["head"]["serverUrl"], json!(format!("http://localhost:{port}")));
}

/// The fast path: with a worker connected and room in its lane, the commit that queues an execute
/// also leases it, and no dispatcher pass is needed to send it.
#[tokio::test]
async fn a_message_with_room_in_its_lane_is_leased_by_the_commit_that_queues_it() {
    let port = crate::listener::free_port();
    let server = Server::start_with(&["--observability-metrics-port", &port]);
    let mut worker = Worker::connect(&server, "workers", "w1").await;
    for index in 0..3 {
        create_for(&server, &format!("fast.{index}"), "poll://any@workers").await;
        let event = worker.next(Duration::from_secs(5)).await.expect("execute delivered");
        assert_eq!(task_of(&event), (format!("fast.{index}"), 0));
    }
    let url = format!("http://127.0.0.1:{port}/metrics");
    let text = server.client.get(&url).send().await.expect("scrape").text().await.unwrap();
    let leased = crate::metrics::sample(&text, "resolute_commit_claims_total");
    assert_eq!(leased, Some(3.0), "{text}");
    assert!(worker.next(Duration::from_millis(300)).await.is_none(), "no execute twice");
}

#[tokio::test]
async fn a_message_waits_for_its_group_and_goes_out_when_a_worker_connects() {
    let server = Server::start_with(&[]);
    create_for(&server, "early", "poll://any@late").await;
    // Let a dispatch pass park it (no worker in the group yet).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_delivered_on_connect(&server, "early").await;
}

/// A worker connecting to group `late` gets `id`'s parked execute at once, not after its park.
async fn assert_delivered_on_connect(server: &Server, id: &str) {
    let connected = Instant::now();
    let mut worker = Worker::connect(server, "late", "w1").await;
    let event = worker.next(Duration::from_secs(5)).await.expect("parked message delivered");
    assert_eq!(task_of(&event).0, id);
    assert!(connected.elapsed() < Duration::from_millis(500), "took {:?}", connected.elapsed());
}

/// A message parked by the process before a restart is not in the new process's memory: a worker
/// connecting must still wake it, not leave it to wait out its park (2 s).
#[tokio::test]
async fn a_message_parked_before_a_restart_goes_out_as_soon_as_a_worker_connects() {
    let server = Server::start_with(&[]);
    create_for(&server, "parked", "poll://any@late").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = server.crash_and_restart();
    assert_delivered_on_connect(&server, "parked").await;
}

/// The hand-off delay an operator sees is the wait since the creating commit, not since the
/// attempt that finally went out.
#[tokio::test]
async fn the_handoff_delay_metric_counts_the_wait_for_a_worker() {
    let port = crate::listener::free_port();
    let server = Server::start_with(&["--observability-metrics-port", &port]);
    create_for(&server, "waited", "poll://any@later").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut worker = Worker::connect(&server, "later", "w1").await;
    worker.next(Duration::from_secs(5)).await.expect("parked message delivered");
    let url = format!("http://127.0.0.1:{port}/metrics");
    let series = r#"resolute_message_handoff_delay_seconds_sum{transport="poll"}"#;
    let deadline = Instant::now() + Duration::from_secs(5);
    let waited = loop {
        let text = server.client.get(&url).send().await.expect("scrape").text().await.unwrap();
        match crate::metrics::sample(&text, series) {
            Some(waited) => break waited,
            None if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            None => panic!("no {series} in {text}"),
        }
    };
    assert!((0.4..5.0).contains(&waited), "waited {waited} s, the worker came after 0.4 s");
}

#[tokio::test]
async fn unicast_listeners_get_the_unblock_when_the_promise_settles() {
    let server = Server::start_with(&[]);
    let mut client = Worker::connect(&server, "clients", "c1").await;
    let (status, _) = server.rpc("promise.create", json!({"id": "p", "timeoutAt": FAR})).await;
    assert_eq!(status, 200);
    let listen = json!({"awaited": "p", "address": "poll://uni@clients/c1"});
    assert_eq!(server.rpc("promise.register_listener", listen).await.0, 200);
    let settle = json!({"id": "p", "state": "resolved", "value": {"data": "eQ=="}});
    assert_eq!(server.rpc("promise.settle", settle).await.0, 200);
    let event = client.next(Duration::from_secs(5)).await.expect("unblock delivered");
    assert_eq!(event["kind"], "unblock");
    assert_eq!(event["head"], json!({}));
    assert_eq!(event["data"]["promise"]["state"], "resolved");
}

#[tokio::test]
async fn pending_work_survives_a_crash_and_new_work_keeps_flowing_after_it() {
    let server = Server::start_with(&[]);
    for index in 0..20 {
        create_for(&server, &format!("before.{index}"), "poll://any@g").await;
    }
    let server = server.crash_and_restart();
    let mut worker = Worker::connect(&server, "g", "w1").await;
    for index in 0..20 {
        create_for(&server, &format!("after.{index}"), "poll://any@g").await;
    }
    // Bounded by the task retry timeout (30 s) plus margin, whatever happens to a first attempt.
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(45);
    while seen.len() < 40 && Instant::now() < deadline {
        let wait = deadline.saturating_duration_since(Instant::now());
        let Some(event) = worker.next(wait).await else {
            break;
        };
        seen.insert(task_of(&event).0);
    }
    let missing: Vec<String> = (0..20)
        .flat_map(|index| [format!("before.{index}"), format!("after.{index}")])
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(missing.is_empty(), "not delivered after restart: {missing:?}");
}

/// A loopback push receiver that answers `fail_first` requests with 500, then 200.
pub async fn receiver(fail_first: usize, hang: bool) -> (String, mpsc::Receiver<Value>) {
    let (sender, received) = mpsc::channel(1024);
    let calls = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let (sender, calls) = (sender.clone(), calls.clone());
            async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                if calls.fetch_add(1, Ordering::SeqCst) < fail_first {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let _ = sender.send(serde_json::from_str(&body).unwrap_or(Value::Null)).await;
                StatusCode::OK
            }
        }),
    );
    (crate::harness::serve_hook(app).await, received)
}

#[tokio::test]
async fn push_delivers_and_retries_failures_with_back_off() {
    let server = Server::start_with(&[]);
    let (url, mut received) = receiver(2, false).await;
    create_for(&server, "pushed", &url).await;
    let event = tokio::time::timeout(Duration::from_secs(10), received.recv()).await;
    let event = event.expect("delivered after retries").expect("event");
    assert_eq!(task_of(&event), ("pushed".to_owned(), 0));
}

#[tokio::test]
async fn a_push_target_gets_at_most_the_configured_pushes_at_once() {
    let server = Server::start_with(&["--transports-http-push-concurrency", "3"]);
    let arrived = Arc::new(AtomicUsize::new(0));
    let counted = arrived.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<StatusCode>()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    for index in 0..10 {
        create_for(&server, &format!("held.{index}"), &hook).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while arrived.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Give a fourth push the time it would need to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(arrived.load(Ordering::SeqCst), 3, "pushes in flight to one target");
}

#[tokio::test]
async fn a_hung_push_target_does_not_delay_other_targets() {
    let server = Server::start_with(&[]);
    let (hung, _never) = receiver(0, true).await;
    for index in 0..100 {
        create_for(&server, &format!("stuck.{index}"), &hung).await;
    }
    let (healthy, mut received) = receiver(0, false).await;
    let mut worker = Worker::connect(&server, "other", "w1").await;
    let started = Instant::now();
    create_for(&server, "fine", &healthy).await;
    create_for(&server, "polled", "poll://any@other").await;
    let pushed = tokio::time::timeout(Duration::from_secs(3), received.recv()).await;
    assert!(matches!(pushed, Ok(Some(_))), "healthy push blocked");
    assert!(worker.next(Duration::from_secs(3)).await.is_some(), "poll blocked");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_lane_with_old_work_and_no_worker_is_reported_stuck_then_resumed() {
    let server = Server::start_with(&["--stuck-after-ms", "300"]);
    create_for(&server, "waiting", "poll://any@nobody").await;
    let stuck =
        wait_for_health(&server, |health| !health["stuck"].as_array().unwrap().is_empty()).await;
    assert_eq!(stuck["stuck"][0]["lane"], "poll:nobody");
    assert_eq!(stuck["stuck"][0]["reason"], "no worker connected");
    assert_eq!(stuck["status"], "ok", "stuck is amber: health stays 200");
    let mut worker = Worker::connect(&server, "nobody", "w1").await;
    assert!(worker.next(Duration::from_secs(5)).await.is_some());
    wait_for_health(&server, |health| health["stuck"].as_array().unwrap().is_empty()).await;
}

/// Polls `/health` until `condition` holds (at most 10 s) and returns the last body.
async fn wait_for_health(server: &Server, condition: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = server.get("/health").await;
        let health: Value = serde_json::from_str(&body).expect("health JSON");
        if condition(&health) {
            return health;
        }
        assert!(Instant::now() < deadline, "condition never held: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sigterm_closes_sse_streams_and_exits_cleanly() {
    let mut server = Server::start_with(&[]);
    let mut worker = Worker::connect(&server, "g", "w1").await;
    create_for(&server, "before-stop", "poll://any@g").await;
    assert!(worker.next(Duration::from_secs(5)).await.is_some());
    let started = Instant::now();
    let status = server.terminate(Duration::from_secs(8)).expect("exited after SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(worker.next(Duration::from_secs(2)).await.is_none(), "stream ended");
}

#[tokio::test]
async fn the_listener_probe_reports_the_api_as_answering() {
    let server = Server::start_with(&[]);
    let health = wait_for_health(&server, |health| {
        let probe = health["loops"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["name"] == "listener-probe");
        probe.is_some_and(|probe| probe["iterations"].as_u64() >= Some(1))
    })
    .await;
    assert_eq!(health["listener"]["ok"], json!(true), "{health}");
    assert_eq!(health["listener"]["acceptErrors"], json!(0), "{health}");
    assert_eq!(health["status"], "ok");
}
