//! Messages a worker's connection took and lost with it are sent again once it is gone. A write
//! into a socket "succeeds" as soon as the bytes are in the kernel's buffer, so a worker that dies
//! with unread events (its kernel answers the close with a reset) used to take them along: an
//! execute then waited for the 30 s task retry, an unblock was never sent again.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::harness::{Server, Worker};

const FAR: i64 = 4_000_000_000_000;

/// An SSE subscriber that never reads what it is sent.
async fn deaf_worker(server: &Server, group: &str, id: &str) -> TcpStream {
    let address = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let request = format!("GET /poll/{group}/{id} HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("subscribe");
    stream
}

/// Waits until the server has handed every queued message to a connection.
async fn wait_until_all_handed_off(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, snap) = server.rpc("debug.snap", json!({})).await;
        if snap["data"]["messages"].as_array().is_some_and(|messages| messages.is_empty()) {
            return;
        }
        assert!(Instant::now() < deadline, "never handed off: {snap}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Closes with a reset, as the kernel of a process that died with unread data does.
fn die(stream: TcpStream) {
    stream.set_zero_linger().expect("linger");
    drop(stream);
}

async fn next_of_kind(worker: &mut Worker, kind: &str) -> Value {
    let event = worker.next(Duration::from_secs(3)).await;
    let event = event.unwrap_or_else(|| panic!("no {kind} within 3 s of reconnecting"));
    assert_eq!(event["kind"], kind, "{event}");
    event
}

#[tokio::test]
async fn an_execute_a_dead_worker_took_goes_to_the_next_worker_at_once() {
    let port = crate::listener::free_port();
    let server = Server::start_with(&["--debug", "--observability-metrics-port", &port]);
    let deaf = deaf_worker(&server, "workers", "w1").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let data =
        json!({"id": "job", "timeoutAt": FAR, "tags": {"resonate:target": "poll://any@workers"}});
    assert_eq!(server.rpc("promise.create", data).await.0, 200);
    wait_until_all_handed_off(&server).await;
    die(deaf);
    let mut next = Worker::connect(&server, "workers", "w2").await;
    let event = next_of_kind(&mut next, "execute").await;
    assert_eq!(event["data"]["task"], json!({"id": "job", "version": 0}));
    let scrape = format!("http://127.0.0.1:{port}/metrics");
    let text = server.client.get(&scrape).send().await.expect("scrape").text().await.unwrap();
    let requeued = crate::metrics::sample(&text, "resolute_messages_requeued_total");
    assert_eq!(requeued, Some(1.0), "counted for operators: {text}");
    // Once acquired, the task is not sent again when this worker goes too.
    let acquire = json!({"id": "job", "version": 0, "pid": "w2", "ttl": 60_000});
    assert_eq!(server.rpc("task.acquire", acquire).await.0, 200);
    drop(next);
    let mut third = Worker::connect(&server, "workers", "w3").await;
    assert_eq!(third.next(Duration::from_millis(1500)).await, None, "acquired work is not resent");
}

#[tokio::test]
async fn an_unblock_a_dead_client_took_is_sent_again_when_it_reconnects() {
    let server = Server::start_with(&["--debug"]);
    let created = server.rpc("promise.create", json!({"id": "p", "timeoutAt": FAR})).await;
    assert_eq!(created.0, 200);
    let listen = json!({"awaited": "p", "address": "poll://uni@clients/c1"});
    assert_eq!(server.rpc("promise.register_listener", listen).await.0, 200);
    let deaf = deaf_worker(&server, "clients", "c1").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let settle = json!({"id": "p", "state": "resolved", "value": {"data": "eQ=="}});
    assert_eq!(server.rpc("promise.settle", settle).await.0, 200);
    wait_until_all_handed_off(&server).await;
    die(deaf);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = Worker::connect(&server, "clients", "c1").await;
    let event = next_of_kind(&mut again, "unblock").await;
    assert_eq!(event["data"]["promise"]["state"], "resolved");
}

/// A client that read its unblock and closed cleanly is not sent it again: the process may be
/// gone for good, and an unblock for its id would wait in the outbox for ever.
#[tokio::test]
async fn an_unblock_a_client_read_before_closing_cleanly_is_not_queued_again() {
    let server = Server::start_with(&["--debug"]);
    let created = server.rpc("promise.create", json!({"id": "p", "timeoutAt": FAR})).await;
    assert_eq!(created.0, 200);
    let listen = json!({"awaited": "p", "address": "poll://uni@clients/c1"});
    assert_eq!(server.rpc("promise.register_listener", listen).await.0, 200);
    let mut client = Worker::connect(&server, "clients", "c1").await;
    let settle = json!({"id": "p", "state": "resolved", "value": {"data": "eQ=="}});
    assert_eq!(server.rpc("promise.settle", settle).await.0, 200);
    next_of_kind(&mut client, "unblock").await;
    drop(client);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (_, snap) = server.rpc("debug.snap", json!({})).await;
    assert_eq!(snap["data"]["messages"], json!([]), "nothing stranded: {snap}");
}
