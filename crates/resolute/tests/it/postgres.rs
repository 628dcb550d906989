//! Several resolute nodes on one PostgreSQL database: producers on every node, SSE workers on some,
//! one node killed mid-run. Every task is delivered and fulfilled exactly once; no task is
//! delivered twice apart from the killed node's own unfinished attempts, which must be delivered
//! again (at-least-once delivery, exactly-once processing through the task's version fence); work
//! created on a node without workers reaches a worker on another node promptly.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::Server;

const FAR: i64 = 4_000_000_000_000;

/// A fresh database on the shared test cluster; `None` (test skipped) when PostgreSQL is not
/// installed, unless `RESOLUTE_E2E=1` requires it.
fn database(test: &str) -> Option<String> {
    // The synchronous client of the cluster helper may not run on a runtime thread.
    std::thread::scope(|scope| scope.spawn(|| database_blocking(test)).join().expect("database"))
}

fn database_blocking(test: &str) -> Option<String> {
    match resolute_testpg::PgCluster::shared() {
        Ok(cluster) => Some(cluster.fresh_database().expect("create a test database")),
        Err(error) if std::env::var("RESOLUTE_E2E").is_ok_and(|v| v == "1") => {
            panic!("{test}: PostgreSQL test cluster: {error}")
        }
        Err(error) => {
            eprintln!("SKIPPED {test}: {error}");
            None
        }
    }
}

fn node(url: &str) -> Server {
    Server::start_with(&[
        "--storage-type",
        "postgres",
        "--storage-postgres-url",
        url,
        "--storage-postgres-pool-size",
        "4",
    ])
}

async fn rpc(client: &reqwest::Client, url: &str, kind: &str, data: Value) -> (u16, Value) {
    let envelope =
        json!({"kind": kind, "head": {"corrId": "t", "version": "2026-04-01"}, "data": data});
    match client.post(url).body(envelope.to_string()).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        Err(error) => (0, json!(error.to_string())),
    }
}

/// Who received which execute, in order; successful fulfills are logged under [`FULFILLED`].
type Deliveries = Arc<Mutex<Vec<(String, String)>>>;

const FULFILLED: &str = "fulfilled";

/// An SSE worker on one node: takes each execute, acquires the task and fulfills it on that same
/// node, until its stream ends (its node died).
fn spawn_worker(name: &str, node_url: String, group: &str, log: Deliveries) {
    let (name, poll) = (name.to_owned(), format!("{node_url}/poll/{group}/{name}"));
    tokio::spawn(async move {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        let Ok(mut response) = reqwest::get(&poll).await else { return };
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let Some(data) = event.lines().find_map(|line| line.strip_prefix("data:")) else {
                    continue;
                };
                let event: Value = serde_json::from_str(data.trim()).expect("event JSON");
                let (id, version) =
                    (&event["data"]["task"]["id"], &event["data"]["task"]["version"]);
                let id = id.as_str().unwrap_or_default().to_owned();
                log.lock().unwrap().push((name.clone(), id.clone()));
                let acquire = json!({"id": id, "version": version, "pid": name, "ttl": 5000});
                let (status, body) = rpc(&client, &node_url, "task.acquire", acquire).await;
                if status != 200 {
                    continue;
                }
                let settle = json!({"kind": "promise.settle", "head": {},
                    "data": {"id": id, "state": "resolved", "value": {"data": "b2s="}}});
                let fulfill =
                    json!({"id": id, "version": body["data"]["task"]["version"], "action": settle});
                if rpc(&client, &node_url, "task.fulfill", fulfill).await.0 == 200 {
                    // Recorded as a delivery to "fulfilled": each task must appear there once.
                    log.lock().unwrap().push((FULFILLED.to_owned(), id.clone()));
                }
            }
        }
    });
}

#[tokio::test]
async fn three_nodes_deliver_every_task_once_and_survive_a_killed_node() {
    let Some(database) = database("three_nodes") else { return };
    let mut nodes: Vec<Option<Server>> = (0..3).map(|_| Some(node(&database))).collect();
    let urls: Vec<String> = nodes.iter().flatten().map(|node| node.url.clone()).collect();
    let log: Deliveries = Arc::default();
    // Workers on nodes 0 and 1 only: what node 2 creates must cross to another node.
    spawn_worker("w0", urls[0].clone(), "multi", log.clone());
    spawn_worker("w1", urls[1].clone(), "multi", log.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for n in 0..240 {
        // Kill node 1 (SIGKILL, by its PID) a third of the way in, with work in flight.
        if n == 80 {
            nodes[1] = None;
        }
        let alive: Vec<usize> = (0..3).filter(|i| nodes[*i].is_some()).collect();
        let url = &urls[alive[n % alive.len()]];
        let id = format!("multi.{n}");
        let data =
            json!({"id": id, "timeoutAt": FAR, "tags": {"resonate:target": "poll://any@multi"}});
        let (status, body) = rpc(&client, url, "promise.create", data).await;
        assert_eq!(status, 200, "create {id} on {url}: {body}");
        ids.push(id);
    }
    let unresolved = wait_until_resolved(&client, &urls[0], &ids, Duration::from_secs(60)).await;
    let deliveries = log.lock().unwrap().clone();
    assert!(unresolved.is_empty(), "never fulfilled: {unresolved:?}; deliveries {deliveries:?}");
    assert_no_duplicates_beyond_the_killed_node(&deliveries, "w1");
    drop(nodes);
}

async fn wait_until_resolved(
    client: &reqwest::Client,
    url: &str,
    ids: &[String],
    bound: Duration,
) -> Vec<String> {
    let deadline = Instant::now() + bound;
    let mut pending: Vec<String> = ids.to_vec();
    while !pending.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for id in pending {
            let (_, body) = rpc(client, url, "promise.get", json!({"id": id})).await;
            if body["data"]["promise"]["state"] != "resolved" {
                still.push(id);
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pending
}

/// A task delivered twice is a bug unless its first delivery went to the killed node's worker
/// (that attempt died with the node, so the task must be delivered again).
fn assert_no_duplicates_beyond_the_killed_node(deliveries: &[(String, String)], killed: &str) {
    let mut by_task: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut fulfilled: BTreeMap<&str, usize> = BTreeMap::new();
    for (worker, task) in deliveries {
        if worker == FULFILLED {
            *fulfilled.entry(task).or_default() += 1;
        } else {
            by_task.entry(task).or_default().push(worker);
        }
    }
    // Exactly-once processing: whatever was redelivered, each task was fulfilled exactly once.
    let twice: Vec<_> = fulfilled.iter().filter(|(_, count)| **count != 1).collect();
    assert!(twice.is_empty(), "tasks fulfilled more than once: {twice:?}");
    // A fulfill whose answer died with the killed node is not in the log (its promise is resolved:
    // checked above); any other task missing a logged fulfill is a lost one.
    let unacknowledged: Vec<_> = by_task
        .iter()
        .filter(|(task, workers)| !fulfilled.contains_key(*task) && !workers.contains(&killed))
        .collect();
    assert!(unacknowledged.is_empty(), "delivered but never fulfilled: {unacknowledged:?}");
    let duplicated: Vec<_> =
        by_task.iter().filter(|(_, workers)| workers.len() > 1 && workers[0] != killed).collect();
    let redelivered = by_task.values().filter(|workers| workers.len() > 1).count();
    println!(
        "executes {}, tasks {}, fulfilled once {}, redelivered after the kill {redelivered}",
        by_task.values().map(Vec::len).sum::<usize>(),
        by_task.len(),
        fulfilled.len()
    );
    assert!(duplicated.is_empty(), "tasks delivered twice: {duplicated:?}");
}

#[tokio::test]
async fn work_created_on_a_node_without_workers_reaches_another_node_promptly() {
    let Some(database) = database("cross_node") else { return };
    let (with_worker, without) = (node(&database), node(&database));
    let log: Deliveries = Arc::default();
    spawn_worker("w", with_worker.url.clone(), "cross", log.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = reqwest::Client::new();
    let median = cross_node_median(&client, &without.url, &log, "before").await;
    // The reconciliation pass alone would take up to a second; LISTEN/NOTIFY makes it prompt.
    assert!(median < Duration::from_millis(300), "median {median:?}");
    // Kill every LISTEN connection (F3/F4: a listener that dies silently): each node must notice
    // and listen again, so delivery across nodes stays prompt.
    let terminated = terminate_listeners(&database);
    assert!(terminated >= 2, "expected both nodes' LISTEN connections, found {terminated}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let median = cross_node_median(&client, &without.url, &log, "after").await;
    assert!(median < Duration::from_millis(300), "after the LISTEN kill: median {median:?}");
}

/// Creates ten tasks on `url` and returns the median time until a worker (on another node) got
/// each one.
async fn cross_node_median(
    client: &reqwest::Client,
    url: &str,
    log: &Deliveries,
    round: &str,
) -> Duration {
    let mut latencies = Vec::new();
    for n in 0..10 {
        let id = format!("cross.{round}.{n}");
        let started = Instant::now();
        let data =
            json!({"id": id, "timeoutAt": FAR, "tags": {"resonate:target": "poll://any@cross"}});
        assert_eq!(rpc(client, url, "promise.create", data).await.0, 200);
        while !log.lock().unwrap().iter().any(|(worker, task)| *task == id && worker != FULFILLED) {
            assert!(started.elapsed() < Duration::from_secs(5), "{id} not delivered in 5 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "cross-node create → execute ({round}): median {:?}, max {:?}",
        latencies[5], latencies[9]
    );
    latencies[5]
}

/// Terminates the LISTEN connections on `database` (the test cluster is ours); returns how many.
fn terminate_listeners(database: &str) -> i64 {
    let database = database.to_owned();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&database, postgres::NoTls).expect("connect");
        let sql = "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                   WHERE application_name = 'resolute-listen' AND datname = current_database()";
        client.query_one(sql, &[]).expect("terminate").get::<_, i64>(0)
    })
    .join()
    .expect("terminate thread")
}

#[tokio::test]
async fn nodes_started_at_once_on_an_empty_database_migrate_it_once() {
    let Some(database) = database("concurrent_start") else { return };
    // Each start blocks until the node prints its address, so start them on threads together.
    let nodes: Vec<Server> = std::thread::scope(|scope| {
        let starting: Vec<_> = (0..3).map(|_| scope.spawn(|| node(&database))).collect();
        starting.into_iter().map(|handle| handle.join().expect("node started")).collect()
    });
    let client = reqwest::Client::new();
    for (index, node) in nodes.iter().enumerate() {
        let id = format!("started.{index}");
        let data = json!({"id": id, "timeoutAt": FAR});
        assert_eq!(rpc(&client, &node.url, "promise.create", data).await.0, 200);
        let (status, body) = rpc(&client, &nodes[0].url, "promise.get", json!({"id": id})).await;
        assert_eq!((status, &body["data"]["promise"]["state"]), (200, &json!("pending")));
    }
    let versions = std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&database, postgres::NoTls).expect("connect");
        let rows = client.query("SELECT version FROM resolute_migrations ORDER BY version", &[]);
        rows.expect("migrations table").iter().map(|row| row.get::<_, i64>(0)).collect::<Vec<_>>()
    })
    .join()
    .expect("query thread");
    let known = i64::try_from(resolute_store::postgres::schema_version()).expect("small");
    assert_eq!(versions, (1..=known).collect::<Vec<_>>(), "each migration applied exactly once");
}
