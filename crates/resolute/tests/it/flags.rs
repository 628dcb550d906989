//! Resonate's `serve` flags (protocol.md §9) start resolute unchanged: every one is accepted,
//! push authentication and the poll limits do what they do there, and the two that cannot be
//! honoured (MySQL storage, Google ID tokens) stop the start with the reason.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;
use tokio::sync::mpsc;

use crate::harness::{failed_start, Server, Worker};

const FAR: i64 = 4_000_000_000_000;

/// Every flag of protocol.md §9's table, with a value of the kind Resonate's scripts pass.
const RESONATE_FLAGS: &[&str] = &[
    "--level",
    "info",
    "--server-host",
    "localhost",
    "--server-shutdown-timeout",
    "5000",
    "--server-cors-allow-origin",
    "http://app.example",
    "--tasks-lease-timeout",
    "15000",
    "--tasks-retry-timeout",
    "30000",
    "--timeouts-poll-interval",
    "1000",
    "--messages-poll-interval",
    "100",
    "--messages-batch-size",
    "100",
    "--transports-http-push-enabled",
    "true",
    "--transports-http-push-concurrency",
    "256",
    "--transports-http-push-connect-timeout",
    "10000",
    "--transports-http-push-request-timeout",
    "180000",
    "--transports-http-push-auth-mode",
    "none",
    "--transports-http-poll-enabled",
    "true",
    "--transports-http-poll-max-connections",
    "1000",
    "--transports-http-poll-buffer-size",
    "100",
    "--transports-gcps-enabled",
    "false",
    "--transports-gcps-project",
    "p",
    "--transports-gcps-concurrency",
    "256",
    "--transports-gcps-timeout",
    "10000",
    "--transports-bash-exec-enabled",
    "false",
    "--observability-otlp-endpoint",
    "localhost:4317",
    "--storage-type",
    "sqlite",
    "--storage-postgres-pool-size",
    "10",
];

#[tokio::test]
async fn every_resonate_serve_flag_is_accepted() {
    let server = Server::start_with(RESONATE_FLAGS);
    let data = json!({"id": "flags", "timeoutAt": FAR});
    let (status, body) = server.rpc("promise.create", data).await;
    assert_eq!(status, 200, "{body}");
}

/// A push receiver that reports each request's `x-hook-auth` header.
async fn header_receiver() -> (String, mpsc::Receiver<Option<String>>) {
    let (sender, received) = mpsc::channel(16);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let sender = sender.clone();
            async move {
                let auth = headers.get("x-hook-auth").and_then(|v| v.to_str().ok());
                let _ = sender.send(auth.map(str::to_owned)).await;
                StatusCode::OK
            }
        }),
    );
    (crate::harness::serve_hook(app).await, received)
}

#[tokio::test]
async fn bearer_push_auth_sends_the_token_in_the_named_header() {
    let (url, mut received) = header_receiver().await;
    let server = Server::start_with(&[
        "--transports-http-push-auth-mode",
        "bearer",
        "--transports-http-push-auth-token",
        "s3cret",
        "--transports-http-push-auth-header",
        "X-Hook-Auth",
    ]);
    let data = json!({"id": "authed", "timeoutAt": FAR, "tags": {"resonate:target": url}});
    assert_eq!(server.rpc("promise.create", data).await.0, 200);
    let header = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("a push within 10 s")
        .expect("receiver open");
    assert_eq!(header.as_deref(), Some("Bearer s3cret"));
}

#[tokio::test]
async fn the_poll_connection_limit_is_the_flag() {
    let server = Server::start_with(&["--transports-http-poll-max-connections", "1"]);
    let _first = Worker::connect(&server, "g", "w1").await;
    let second = server.client.get(format!("{}/poll/g/w2", server.url)).send().await;
    assert_eq!(second.expect("answer").status().as_u16(), 503);
}

#[test]
fn flags_that_cannot_be_honoured_stop_the_start_with_the_reason() {
    let mysql = failed_start(&["--storage-mysql-url", "mysql://db/resonate"]);
    assert!(mysql.contains("not MySQL"), "{mysql}");
    let gcp = failed_start(&["--transports-http-push-auth-mode", "gcp"]);
    assert!(gcp.contains("cannot mint Google ID tokens"), "{gcp}");
    let unknown = failed_start(&["--transports-http-push-auth-mode", "basic"]);
    assert!(unknown.contains("expected none or bearer"), "{unknown}");
    let tokenless = failed_start(&["--transports-http-push-auth-mode", "bearer"]);
    assert!(tokenless.contains("needs --transports-http-push-auth-token"), "{tokenless}");
}

/// Sends `method /` with an `Origin` (and, for a preflight, the requested method and headers);
/// returns the status and the `access-control-allow-origin` header.
async fn cors_call(server: &Server, method: &str, origin: &str) -> (u16, Option<String>) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = server.client.request(method.clone(), &server.url).header("origin", origin);
    if method == reqwest::Method::OPTIONS {
        request = request
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,authorization");
    } else {
        let envelope =
            json!({"kind": "promise.get", "head": crate::harness::head(None), "data": {"id": "x"}});
        request = request.body(envelope.to_string());
    }
    let response = request.send().await.expect("answer");
    let allowed = response.headers().get("access-control-allow-origin");
    let allowed = allowed.and_then(|value| value.to_str().ok()).map(str::to_owned);
    (response.status().as_u16(), allowed)
}

#[tokio::test]
async fn cors_answers_listed_origins_only_and_star_answers_all() {
    let listed = Server::start_with(&["--server-cors-allow-origin", "https://app.example"]);
    let app = "https://app.example";
    assert_eq!(cors_call(&listed, "OPTIONS", app).await, (200, Some(app.to_owned())));
    assert_eq!(cors_call(&listed, "POST", app).await, (404, Some(app.to_owned())));
    assert_eq!(cors_call(&listed, "POST", "https://evil.example").await, (404, None));
    let star = Server::start_with(&["--server-cors-allow-origin", "*"]);
    assert_eq!(cors_call(&star, "OPTIONS", "https://any.example").await.1.as_deref(), Some("*"));
    assert_eq!(cors_call(&star, "POST", "https://any.example").await, (404, Some("*".to_owned())));
    let off = Server::start_with(&[]);
    assert_eq!(cors_call(&off, "POST", app).await, (404, None), "CORS is off by default");
}

/// Resonate's config file gives the origins as a list; it used to arrive as one literal origin
/// (`["https://app.example"]`) that matched no browser.
#[tokio::test]
async fn cors_origins_from_a_config_file_list_each_count() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("resonate.toml");
    let file = "[server.cors]\nallow_origins = [\"https://app.example\", \"https://b.example\"]\n";
    std::fs::write(&path, file).expect("write");
    let server = Server::start_with(&["--config", path.to_str().expect("utf-8 path")]);
    for origin in ["https://app.example", "https://b.example"] {
        assert_eq!(cors_call(&server, "OPTIONS", origin).await, (200, Some(origin.to_owned())));
    }
    assert_eq!(cors_call(&server, "POST", "https://evil.example").await, (404, None));
}

/// With a transport turned off its messages are dropped, not kept (protocol §5.3); the other
/// transport keeps delivering.
#[tokio::test]
async fn a_transport_turned_off_drops_its_messages_and_the_other_delivers() {
    let server = Server::start_with(&["--debug", "--transports-http-push-enabled", "false"]);
    let (url, mut pushed) = crate::dispatch::receiver(0, false).await;
    let mut worker = Worker::connect(&server, "workers", "w1").await;
    create_targeted(&server, "pushed", &url).await;
    create_targeted(&server, "polled", "poll://any@workers").await;
    let event = worker.next(Duration::from_secs(5)).await.expect("poll still delivers");
    assert_eq!(event["data"]["task"]["id"], "polled");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, snap) = server.rpc("debug.snap", json!({})).await;
        if snap["data"]["messages"] == json!([]) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the push message was never dropped: {snap}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(pushed.try_recv().is_err(), "nothing was pushed");
    let off = Server::start_with(&["--transports-http-poll-enabled=false"]);
    let mut idle = Worker::connect(&off, "workers", "w1").await;
    create_targeted(&off, "quiet", "poll://any@workers").await;
    assert_eq!(idle.next(Duration::from_millis(800)).await, None, "poll is off");
}

async fn create_targeted(server: &Server, id: &str, target: &str) {
    let data = json!({"id": id, "timeoutAt": FAR, "tags": {"resonate:target": target}});
    assert_eq!(server.rpc("promise.create", data).await.0, 200);
}

/// One runtime thread with the writer on it (the default), one thread with an fsyncing writer on
/// its own thread, and runtime pools: each serves requests and dispatches.
#[tokio::test]
async fn every_thread_setting_serves_and_dispatches() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let settings: [(&[&str], usize); 4] = [
        (&[], 1),
        (&["--storage-sqlite-synchronous", "full"], 1),
        (&["--server-threads", "0"], cores),
        (&["--server-threads", "3"], 3),
    ];
    for (extra, threads) in settings {
        let server = Server::start_with(extra);
        let mut worker = Worker::connect(&server, "workers", "w1").await;
        create_targeted(&server, "job", "poll://any@workers").await;
        let event = worker.next(Duration::from_secs(5)).await.expect("an execute");
        assert_eq!(event["data"]["task"]["id"], "job", "{extra:?}");
        let (status, got) = server.rpc("promise.get", json!({"id": "job"})).await;
        assert_eq!((status, &got["data"]["promise"]["state"]), (200, &json!("pending")));
        let (_, health) = server.get("/health").await;
        let health: serde_json::Value = serde_json::from_str(&health).unwrap();
        let runtime = json!({"threads": threads, "stalls": 0, "longestStallMs": 0});
        assert_eq!(health["runtime"], runtime, "{extra:?}");
    }
    let refused = failed_start(&["--server-threads", "5000"]);
    assert!(refused.contains("--server-threads"), "{refused}");
}
