//! A command alone in flight on an idle writer runs on its caller's thread, and a panic there
//! cannot wedge the writer: the transaction it left open is rolled back before the next batch.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;

use resolute_core::{Command, KernelConfig, Message, Reply, Timestamp};

use super::writer::create;
use crate::sqlite::{SqliteStore, Synchronous};
use crate::{ClaimOnCommit, CommitClaims, Store};

/// Notes the thread each offer is made on; panics on the first offer when told to.
#[derive(Default)]
struct Witness {
    threads: Mutex<Vec<ThreadId>>,
    panic_once: AtomicBool,
}

impl ClaimOnCommit for Witness {
    fn plan(&self, _queued: &[Message], _now: Timestamp) -> Option<CommitClaims> {
        self.threads.lock().unwrap().push(std::thread::current().id());
        if self.panic_once.swap(false, Ordering::SeqCst) {
            panic!("injected panic inside the batch's transaction");
        }
        None
    }
}

struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` to completion on this thread.
fn block_on<T>(future: impl Future<Output = T>) -> T {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::park();
    }
}

fn open(synchronous: Synchronous) -> (tempfile::TempDir, SqliteStore, Arc<Witness>) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        SqliteStore::open_with(dir.path().join("i.db"), KernelConfig::default(), synchronous)
            .unwrap();
    let witness = Arc::new(Witness::default());
    store.claim_on_commit(witness.clone());
    (dir, store, witness)
}

#[test]
fn a_command_alone_runs_on_its_callers_thread_unless_commits_fsync() {
    let (_dir, store, witness) = open(Synchronous::Normal);
    let (command, now) = create("a");
    block_on(store.execute(command, now)).unwrap();
    assert_eq!(*witness.threads.lock().unwrap(), vec![std::thread::current().id()]);
    std::thread::sleep(std::time::Duration::from_millis(2));
    let (command, now) = create("b");
    block_on(store.execute(command, now)).unwrap();
    assert_eq!(witness.threads.lock().unwrap()[1], std::thread::current().id(), "idle again");

    let (_dir, store, witness) = open(Synchronous::Full);
    let (command, now) = create("a");
    block_on(store.execute(command, now)).unwrap();
    let threads = witness.threads.lock().unwrap().clone();
    assert_eq!(threads.len(), 1);
    assert_ne!(threads[0], std::thread::current().id(), "an fsyncing commit stays on the writer");
}

#[test]
fn a_panic_inside_an_inline_batch_leaves_the_writer_usable() {
    let (_dir, store, witness) = open(Synchronous::Normal);
    witness.panic_once.store(true, Ordering::SeqCst);
    let (command, now) = create("lost");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        block_on(store.execute(command, now))
    }));
    assert!(outcome.is_err(), "the injected panic reaches the caller");
    for id in ["after.1", "after.2"] {
        let (command, now) = create(id);
        let executed = block_on(store.execute(command, now));
        assert!(executed.is_ok(), "{id}: {executed:?}");
    }
    let snapshot = block_on(store.execute(Command::DebugSnap, Timestamp(2))).unwrap();
    let Reply::DebugSnap(snapshot) = snapshot.reply else { panic!("not a snapshot") };
    let ids: Vec<&str> = snapshot.promises.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, vec!["after.1", "after.2"], "the panicked command left nothing");
}
