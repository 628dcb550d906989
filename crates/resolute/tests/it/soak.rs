//! Soak: 2,000 concurrent connections mixing RPC clients, SSE workers and push deliveries against
//! one server for `RESOLUTE_SOAK_SECONDS` (20 by default; the long run uses 900). The listener
//! must keep accepting, errors must be zero apart from deliberate 503 limit answers, and RSS and
//! open file descriptors must stay bounded; their course is printed once per second.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Server, Worker};

const RPC_CLIENTS: usize = 1_700;
const SSE_WORKERS: usize = 250;
const PUSH_PRODUCERS: usize = 50;

fn seconds() -> u64 {
    std::env::var("RESOLUTE_SOAK_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20)
}

#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    shed: AtomicU64,
    errors: AtomicU64,
    delivered: AtomicU64,
}

/// One keep-alive connection per client: create a promise, read it, settle it, repeat.
async fn rpc_client(url: String, index: usize, stop: Arc<AtomicBool>, counters: Arc<Counters>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let id = format!("soak.{index}.{n}");
        n += 1;
        for (kind, data) in [
            ("promise.create", json!({"id": id, "timeoutAt": 4_000_000_000_000_i64})),
            ("promise.get", json!({"id": id})),
            ("promise.settle", json!({"id": id, "state": "resolved"})),
        ] {
            let envelope = json!({"kind": kind, "head": {"corrId": "s", "version": "2026-04-01"}, "data": data});
            let counter = match client.post(&url).body(envelope.to_string()).send().await {
                Ok(response) if response.status().is_success() => &counters.ok,
                Ok(response) if response.status().as_u16() == 503 => &counters.shed,
                _ => &counters.errors,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Figures of the server process from /proc: resident set (KiB) and open descriptors.
fn process_figures(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|dir| dir.count()).unwrap_or(0);
    (rss, fds)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_connections_keep_being_served() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let server = Server::start_with(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let mut tasks = Vec::new();
    for index in 0..SSE_WORKERS {
        let mut worker = Worker::connect(&server, "soak", &format!("w{index}")).await;
        let (stop, counters) = (stop.clone(), counters.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if worker.next(Duration::from_millis(500)).await.is_some() {
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for index in 0..RPC_CLIENTS {
        tasks.push(tokio::spawn(rpc_client(
            server.url.clone(),
            index,
            stop.clone(),
            counters.clone(),
        )));
    }
    for index in 0..PUSH_PRODUCERS {
        tasks.push(tokio::spawn(producer(
            server.url.clone(),
            index,
            stop.clone(),
            counters.clone(),
        )));
    }
    let figures = watch(&server, seconds(), &counters).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    assert_bounded(&figures, &counters);
}

/// Creates tasks for the SSE workers (`poll://any@soak`), paced.
async fn producer(url: String, index: usize, stop: Arc<AtomicBool>, counters: Arc<Counters>) {
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let id = format!("task.{index}.{n}");
        n += 1;
        let data = json!({"id": id, "timeoutAt": 4_000_000_000_000_i64, "tags": {"resonate:target": "poll://any@soak"}});
        let envelope = json!({"kind": "promise.create", "head": {"corrId": "p", "version": "2026-04-01"}, "data": data});
        let counter = match client.post(&url).body(envelope.to_string()).send().await {
            Ok(response) if response.status().is_success() => &counters.ok,
            Ok(response) if response.status().as_u16() == 503 => &counters.shed,
            _ => &counters.errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Samples RSS and fds once per second for `seconds`, checking the listener still answers.
async fn watch(server: &Server, seconds: u64, counters: &Counters) -> Vec<(u64, usize)> {
    let started = Instant::now();
    let mut figures = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (rss, fds) = process_figures(server.pid());
        let (status, health) = server.get("/health").await;
        println!(
            "soak t={:>4}s rss={:>7} KiB fds={:>5} ok={} shed={} errors={} delivered={} health={status}",
            started.elapsed().as_secs(),
            rss,
            fds,
            counters.ok.load(Ordering::Relaxed),
            counters.shed.load(Ordering::Relaxed),
            counters.errors.load(Ordering::Relaxed),
            counters.delivered.load(Ordering::Relaxed),
        );
        assert_eq!(status, 200, "the listener must keep answering /health: {health}");
        figures.push((rss, fds));
    }
    figures
}

fn assert_bounded(figures: &[(u64, usize)], counters: &Counters) {
    let peak_rss = figures.iter().map(|(rss, _)| *rss).max().unwrap_or(0);
    let peak_fds = figures.iter().map(|(_, fds)| *fds).max().unwrap_or(0);
    println!("soak: peak rss {} MiB, peak fds {peak_fds}", peak_rss / 1024);
    assert_eq!(counters.errors.load(Ordering::Relaxed), 0, "errors other than 503 limit answers");
    assert!(counters.ok.load(Ordering::Relaxed) > 0, "no request succeeded");
    assert!(counters.delivered.load(Ordering::Relaxed) > 0, "no task reached a worker");
    assert!(peak_fds < RPC_CLIENTS + SSE_WORKERS + PUSH_PRODUCERS + 500, "fds grew: {peak_fds}");
    assert!(peak_rss < 512 * 1024, "RSS grew past 512 MiB: {peak_rss} KiB");
}
