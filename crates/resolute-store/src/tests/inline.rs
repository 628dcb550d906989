//! A command alone in flight on an idle writer runs on its caller's thread; a panic inside a batch,
//! on either thread, cannot wedge the writer (the transaction it left open is rolled back, the
//! thread lives on); a panicking claimer costs only the fast path.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;

use resolute_core::{Command, KernelConfig, Message, Reply, Timestamp};

use super::writer::create;
use crate::sqlite::writer::PANIC_ID;
use crate::sqlite::{SqliteStore, Synchronous};
use crate::{ClaimOnCommit, CommitClaims, Store, StoreError};

/// Notes the thread each offer (one per batch) is made on and how many messages it offered; panics
/// on every offer when told to.
#[derive(Default)]
pub(super) struct Witness {
    pub(super) threads: Mutex<Vec<ThreadId>>,
    pub(super) offered: Mutex<Vec<usize>>,
    pub(super) panics: AtomicBool,
}

impl ClaimOnCommit for Witness {
    fn plan(&self, queued: &[Message], _now: Timestamp) -> Option<CommitClaims> {
        self.threads.lock().unwrap().push(std::thread::current().id());
        self.offered.lock().unwrap().push(queued.len());
        if self.panics.load(Ordering::SeqCst) {
            panic!("injected panic in the claimer");
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
pub(super) fn block_on<T>(future: impl Future<Output = T>) -> T {
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

pub(super) fn promise_ids(store: &SqliteStore) -> Vec<String> {
    let snapshot = block_on(store.execute(Command::DebugSnap, Timestamp(2))).unwrap();
    let Reply::DebugSnap(snapshot) = snapshot.reply else { panic!("not a snapshot") };
    snapshot.promises.iter().map(|p| p.id.clone()).collect()
}

fn writes_go_on(store: &SqliteStore) {
    for id in ["after.1", "after.2"] {
        let (command, now) = create(id);
        let executed = block_on(store.execute(command, now));
        assert!(executed.is_ok(), "{id}: {executed:?}");
    }
    assert_eq!(promise_ids(store), vec!["after.1", "after.2"], "the panicked batch left nothing");
}

#[test]
fn a_panic_inside_an_inline_batch_reaches_its_caller_and_leaves_the_writer_usable() {
    let (_dir, store, _) = open(Synchronous::Normal);
    let (command, now) = create(PANIC_ID);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        block_on(store.execute(command, now))
    }));
    assert!(outcome.is_err(), "the injected panic reaches the caller");
    writes_go_on(&store);
}

#[test]
fn a_panic_inside_a_batch_on_the_writer_thread_fails_that_batch_only() {
    let (_dir, store, _) = open(Synchronous::Full);
    let (command, now) = create(PANIC_ID);
    let failed = block_on(store.execute(command, now));
    assert!(matches!(failed, Err(StoreError::Closed)), "{failed:?}");
    writes_go_on(&store);
}

#[test]
fn a_panicking_claimer_costs_the_fast_path_not_the_write() {
    let (_dir, store, witness) = open(Synchronous::Full);
    witness.panics.store(true, Ordering::SeqCst);
    let (command, now) = create("kept");
    let executed = block_on(store.execute(command, now)).unwrap();
    assert!(executed.queued_messages, "the message is left due for the dispatcher's pass");
    assert_eq!(promise_ids(&store), vec!["kept"]);
}
