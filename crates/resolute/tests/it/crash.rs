//! Crash durability: write under load, `kill -9` at random moments, restart on the same file, and
//! check that every write acknowledged with a 2xx is there and that every pending task is
//! dispatched after the last restart. `RESOLUTE_CRASH_ITERATIONS` sets the number of crashes
//! (3 by default; the long run in docs/reliability.md uses 50).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::harness::{failed_start_on, Server, Worker};

const WRITERS: usize = 8;

fn iterations() -> usize {
    std::env::var("RESOLUTE_CRASH_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(3)
}

/// Creates targeted promises until `stop`; records the ids the server acknowledged.
async fn writer(
    url: String,
    prefix: String,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<BTreeSet<String>>>,
) {
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = format!("{prefix}.{n}");
        n += 1;
        let envelope = json!({
            "kind": "promise.create",
            "head": {"corrId": id, "version": "2026-04-01"},
            "data": {"id": id, "timeoutAt": 4_000_000_000_000_i64,
                     "tags": {"resonate:target": "poll://any@crash"}},
        });
        match client.post(&url).body(envelope.to_string()).send().await {
            Ok(response) if response.status().is_success() => {
                acked.lock().expect("lock").insert(id);
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_and_pending_tasks_are_dispatched() {
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let mut server = Server::start_with(&[]);
    let mut random = 0x2545_F491_4F6C_DD1D_u64;
    for iteration in 0..iterations() {
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let prefix = format!("c{iteration}.{w}");
                tokio::spawn(writer(server.url.clone(), prefix, stop.clone(), acked.clone()))
            })
            .collect();
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        tokio::time::sleep(Duration::from_millis(50 + random % 400)).await;
        server = server.crash_and_restart();
        stop.store(true, Ordering::Relaxed);
        for handle in writers {
            let _ = handle.await;
        }
        let so_far = acked.lock().expect("lock").clone();
        assert_all_present(&server, &so_far).await;
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(!acked.is_empty(), "no write was acknowledged: the load never ran");
    assert_all_dispatched(&server, &acked).await;
    println!(
        "crash harness: {} kill -9 restarts, {} acknowledged writes, 0 lost, 0 stuck",
        iterations(),
        acked.len()
    );
}

async fn assert_all_present(server: &Server, acked: &BTreeSet<String>) {
    let mut lost = Vec::new();
    for id in acked {
        let (status, _) = server.rpc("promise.get", json!({"id": id})).await;
        if status != 200 {
            lost.push(id.clone());
        }
    }
    assert!(lost.is_empty(), "acknowledged writes lost after kill -9: {lost:?}");
}

async fn assert_all_dispatched(server: &Server, acked: &BTreeSet<String>) {
    let mut worker = Worker::connect(server, "crash", "w1").await;
    let mut seen = BTreeSet::new();
    // Writes committed just before a kill may never have been acknowledged: they are delivered
    // too, so wait for the acknowledged ones specifically. The bound is the delivery-slot ceiling
    // (60 s) plus the task retry: a slot whose attempt never ends is reclaimed by then. (Known
    // issue under investigation: after kill -9 restarts a poll delivery slot can stay held past
    // its 10 s write timeout; the ceiling is what recovers it.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while !acked.is_subset(&seen) && tokio::time::Instant::now() < deadline {
        let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(event) = worker.next(wait).await else { break };
        if let Some(id) = event["data"]["task"]["id"].as_str() {
            seen.insert(id.to_owned());
        }
    }
    let stuck: Vec<_> = acked.difference(&seen).take(20).collect();
    for id in &stuck {
        let (_, task) = server.rpc("task.get", json!({"id": id})).await;
        let (_, explained) = server.get(&format!("/explain/{id}")).await;
        eprintln!("stuck {id}: task {} / explain {explained}", task["data"]);
    }
    assert!(stuck.is_empty(), "pending tasks never dispatched after restart: {stuck:?}");
}

/// One server per SQLite file: a second one on the same file stops at once, naming the process
/// that holds it, and the lock goes with its holder, `kill -9` included.
#[tokio::test]
async fn a_second_server_on_the_same_database_stops_at_once_and_a_crash_frees_it() {
    let server = Server::start();
    let data = json!({"id": "kept", "timeoutAt": 4_000_000_000_000_i64});
    assert_eq!(server.rpc("promise.create", data).await.0, 200);
    let refused = failed_start_on(&server.database(), &[]);
    assert!(refused.contains(&format!("in use by process {}", server.pid())), "{refused}");
    assert!(refused.contains("one server per SQLite database"), "{refused}");
    let server = server.crash_and_restart();
    assert_eq!(server.rpc("promise.get", json!({"id": "kept"})).await.0, 200);
}

/// After a clean stop the database file alone holds every acknowledged write: the WAL was folded
/// back, so a copy of the file made while the server is stopped is a whole backup.
#[tokio::test]
async fn after_a_clean_stop_the_database_file_alone_holds_every_write() {
    let mut server = Server::start();
    for n in 0..50 {
        let data = json!({"id": format!("kept.{n}"), "timeoutAt": 4_000_000_000_000_i64});
        assert_eq!(server.rpc("promise.create", data).await.0, 200);
    }
    let status = server.terminate(Duration::from_secs(10)).expect("stopped");
    assert!(status.success(), "{status}");
    let wal = std::fs::metadata(format!("{}-wal", server.database().display()));
    assert!(wal.map_or(true, |wal| wal.len() == 0), "the WAL still holds frames");
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(server.database(), copy.path().join("test.db")).unwrap();
    let log = copy.path().join("server.log");
    let restored = Server::start_in(copy, &[], log);
    for n in 0..50 {
        let (status, _) = restored.rpc("promise.get", json!({"id": format!("kept.{n}")})).await;
        assert_eq!(status, 200, "kept.{n} is in the copy");
    }
}
