//! The API listener under hostile and sustained load: a connection limit answered with a clear
//! 503, recovery from file-descriptor exhaustion, idle keep-alive connections closed, and SSE
//! streams left alone by every timeout.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::Server;

const HEALTH_REQUEST: &[u8] = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n";

fn address(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

/// Reads one HTTP/1.1 response (head and a `content-length` body) off `stream`.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buffer = [0_u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        line.to_ascii_lowercase()
                            .strip_prefix("content-length:")?
                            .trim()
                            .parse()
                            .ok()
                    })
                    .unwrap_or(0_usize);
                if bytes.len() >= end + 4 + length {
                    return text;
                }
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&bytes).into_owned(),
                Ok(read) => bytes.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await;
    read.expect("a response within 5 s")
}

/// A connection that has been answered once and now sits idle (kept alive).
async fn answered_connection(server: &Server) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(address(server)).await.expect("connect");
    stream.write_all(HEALTH_REQUEST).await.expect("send");
    let response = read_response(&mut stream).await;
    (stream, response)
}

/// Waits until the server closes `stream` (EOF or reset); `None` if it stays open for `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0_u8; 1024];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn at_the_connection_limit_a_new_connection_gets_a_clear_503_and_slots_free_up() {
    let server = Server::start_with(&["--server-max-connections", "20"]);
    let mut open = Vec::new();
    for _ in 0..20 {
        // The listener probe opens a connection every 5 s; it may hold a slot for a moment.
        let (mut stream, mut response) = answered_connection(&server).await;
        if !response.starts_with("HTTP/1.1 200") {
            tokio::time::sleep(Duration::from_millis(100)).await;
            (stream, response) = answered_connection(&server).await;
        }
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        open.push(stream);
    }
    let (_, response) = answered_connection(&server).await;
    assert!(response.starts_with("HTTP/1.1 503"), "the 21st is refused clearly: {response}");
    assert!(response.contains("too many open connections"), "{response}");
    // The 20 admitted connections still work.
    open[0].write_all(HEALTH_REQUEST).await.expect("send");
    assert!(read_response(&mut open[0]).await.starts_with("HTTP/1.1 200"));
    open.truncate(15);
    let deadline = Instant::now() + Duration::from_secs(5);
    let served = loop {
        let (_, response) = answered_connection(&server).await;
        if response.starts_with("HTTP/1.1 200") || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(served.starts_with("HTTP/1.1 200"), "slots free up when clients leave: {served}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = Server::start_with(&["--server-idle-timeout-ms", "1000"]);
    let (mut stream, response) = answered_connection(&server).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // A request within the idle timeout is served on the same connection and restarts it.
    tokio::time::sleep(Duration::from_millis(600)).await;
    stream.write_all(HEALTH_REQUEST).await.expect("send");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    let closed = closed_within(&mut stream, Duration::from_secs(5)).await;
    let closed = closed.expect("the idle connection is closed by the server");
    assert!(closed >= Duration::from_millis(800), "closed too early: {closed:?}");
    assert!(closed < Duration::from_secs(3), "closed too late: {closed:?}");
}

#[tokio::test]
async fn an_sse_stream_outlives_the_idle_and_header_timeouts() {
    let flags = ["--server-idle-timeout-ms", "1000", "--server-header-read-timeout-ms", "1000"];
    let server = Server::start_with(&flags);
    let url = format!("{}/poll/workers/w1", server.url);
    let mut stream = reqwest::Client::new().get(url).send().await.expect("connect worker");
    assert_eq!(stream.status().as_u16(), 200);
    // Nothing but keep-alive comments flows for longer than both timeouts (the comment
    // interval is 10 s).
    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(13);
    while !received.contains("keep-alive") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await;
        let chunk = chunk.expect("a keep-alive comment within 13 s").expect("stream alive");
        received.push_str(&String::from_utf8_lossy(&chunk.expect("stream not closed")));
    }
    let data = json!({"id": "job", "timeoutAt": i64::MAX / 2,
                      "tags": {"resonate:target": "poll://any@workers"}});
    assert_eq!(server.rpc("promise.create", data).await.0, 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !received.contains("\"execute\"") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await;
        let chunk = chunk.expect("the execute arrives").expect("stream alive");
        received.push_str(&String::from_utf8_lossy(&chunk.expect("stream not closed")));
    }
}

/// A port that was free a moment ago, for the metrics listener.
pub fn free_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port().to_string()
}

fn accept_errors(metrics: &str, reason: &str) -> u64 {
    let name =
        format!("resolute_listener_accept_errors_total{{listener=\"api\",reason=\"{reason}\"}}");
    metrics.lines().find_map(|line| line.strip_prefix(&name)?.trim().parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn a_server_out_of_file_descriptors_serves_again_once_fds_free_up() {
    // Soft and hard limit both: the server lifts its soft limit to the hard one at start.
    let metrics_port = free_port();
    let wrapper = ["prlimit", "--nofile=64:64"];
    let server = Server::start_wrapped(&wrapper, &["--observability-metrics-port", &metrics_port]);
    let mut clients = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(address(&server)).await.expect("connect");
        stream.write_all(HEALTH_REQUEST).await.expect("send");
        clients.push(stream);
    }
    // The backlog holds what accept cannot take: a new client gets no answer now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let starved = try_get(&server, "/health", Duration::from_secs(1)).await;
    assert!(starved.is_none(), "the server should be out of fds, yet it answered: {starved:?}");
    drop(clients);
    let health = wait_for_listener_ok(&server).await;
    assert!(health["listener"]["acceptErrors"].as_u64() >= Some(1), "{health}");
    let url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let metrics = scrape(&server, &url).await;
    assert!(accept_errors(&metrics, "fd_exhausted") >= 1, "{metrics}");
    let (status, _) = server.rpc("promise.get", json!({"id": "after"})).await;
    assert_eq!(status, 404, "RPC is served again");
}

/// The metrics text. The metrics listener ran out of fds too and may still be leaving its own
/// episode, so a refused or reset scrape is tried again (once failed under a parallel build).
async fn scrape(server: &Server, url: &str) -> String {
    let mut last_error = String::new();
    for _ in 0..10 {
        match server.client.get(url).send().await {
            Ok(response) => return response.text().await.expect("metrics body"),
            Err(error) => last_error = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("metrics never answered: {last_error}");
}

/// One GET on a fresh connection; `None` when it fails or takes longer than `wait`.
async fn try_get(server: &Server, path: &str, wait: Duration) -> Option<(u16, String)> {
    let client = reqwest::Client::builder().timeout(wait).build().ok()?;
    let response = client.get(format!("{}{path}", server.url)).send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

/// Polls `/health` until it is 200 with the listener ok (the probe may lag by a period).
async fn wait_for_listener_ok(server: &Server) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some((status, body)) = try_get(server, "/health", Duration::from_secs(2)).await {
            let health: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            if status == 200 && health["listener"]["ok"] == json!(true) {
                return health;
            }
        }
        assert!(Instant::now() < deadline, "the listener did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
