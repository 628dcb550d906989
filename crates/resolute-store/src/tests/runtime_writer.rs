//! The writer as a task on a current-thread runtime (`WriterHome::Runtime`): batches run on the
//! runtime's own thread and take every command queued before the task's turn, a panic costs only
//! its batch, and dropping the store folds the WAL back although the runtime may never poll the
//! task again.

use std::sync::Arc;

use resolute_core::{Command, KernelConfig, Reply, Timestamp};

use super::inline::Witness;
use super::writer::create;
use crate::sqlite::writer::PANIC_ID;
use crate::sqlite::{SqliteStore, Synchronous, WriterHome};
use crate::{Store, StoreError};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn open_on(runtime: &tokio::runtime::Runtime, path: &std::path::Path) -> Arc<SqliteStore> {
    let home = WriterHome::Runtime(runtime.handle().clone());
    let config = KernelConfig::default();
    Arc::new(SqliteStore::open_homed(path, config, Synchronous::Normal, home).unwrap())
}

async fn promise_ids(store: &SqliteStore) -> Vec<String> {
    let snapshot = store.execute(Command::DebugSnap, Timestamp(2)).await.unwrap();
    let Reply::DebugSnap(snapshot) = snapshot.reply else { panic!("not a snapshot") };
    snapshot.promises.iter().map(|p| p.id.clone()).collect()
}

#[test]
fn commands_queued_together_commit_as_one_batch_on_the_runtimes_thread() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let store = open_on(&runtime, &dir.path().join("r.db"));
    let witness = Arc::new(Witness::default());
    store.claim_on_commit(witness.clone());
    runtime.block_on(async {
        let requests: Vec<_> = (0..8)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    let (command, now) = create(&format!("p{n}"));
                    store.execute(command, now).await
                })
            })
            .collect();
        for request in requests {
            assert!(request.await.unwrap().is_ok());
        }
        assert_eq!(promise_ids(&store).await.len(), 8);
    });
    // The first command finds the writer idle and runs at once on its caller (unless a checkpoint
    // tail is owed by then: it queues too); the others were queued before the writer's task had
    // its turn, so one transaction takes them all.
    let offered = witness.offered.lock().unwrap().clone();
    assert!(offered == vec![1, 7] || offered == vec![8], "batches: {offered:?}");
    let here = std::thread::current().id();
    assert!(witness.threads.lock().unwrap().iter().all(|thread| *thread == here));
}

#[test]
fn a_panic_inside_a_batch_on_the_runtime_fails_that_batch_only() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let store = open_on(&runtime, &dir.path().join("p.db"));
    runtime.block_on(async {
        let (command, now) = create("before");
        store.execute(command, now).await.unwrap();
        // Right after an answer the writer is not idle, so this one goes through the task, whose
        // batch fails with `Closed`. Should this thread have been held up for over 0.5 ms in
        // between, it runs inline and its panic reaches its caller, here the spawned task.
        let (command, now) = create(PANIC_ID);
        let racer = store.clone();
        let failed = tokio::spawn(async move { racer.execute(command, now).await }).await;
        match failed {
            Ok(Err(StoreError::Closed)) => {}
            Err(join) if join.is_panic() => {}
            other => panic!("the batch should have failed: {other:?}"),
        }
        let (command, now) = create("after");
        store.execute(command, now).await.unwrap();
        assert_eq!(promise_ids(&store).await, vec!["after", "before"]);
    });
}

#[test]
fn dropping_the_store_folds_the_wal_back_into_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.db");
    let runtime = runtime();
    let store = open_on(&runtime, &path);
    runtime.block_on(async {
        for n in 0..20 {
            let (command, now) = create(&format!("p{n}"));
            store.execute(command, now).await.unwrap();
        }
    });
    let wal = || std::fs::metadata(format!("{}-wal", path.display())).map_or(0, |m| m.len());
    assert!(wal() > 0, "the creates went to the WAL first");
    drop(store);
    assert_eq!(wal(), 0, "the WAL is folded back although the runtime never ran the task again");
    drop(runtime);
    let reopened = SqliteStore::open(&path, KernelConfig::default()).unwrap();
    let snapshot = reopened.execute_blocking(Command::DebugSnap, Timestamp(2)).unwrap();
    let Reply::DebugSnap(snapshot) = snapshot.reply else { panic!("not a snapshot") };
    assert_eq!(snapshot.promises.len(), 20);
}
