//! Group commit: one failing command is rolled back alone, a failed commit fails the whole batch,
//! and conflicts are retried a bounded number of times.

use std::cell::Cell;
use std::path::Path;

use resolute_core::command::CreatePromise;
use resolute_core::reply::Snapshot;
use resolute_core::{Command, KernelConfig, Reply, Timestamp, TxnError, TxnErrorKind};
use rusqlite::Connection;

use crate::sqlite::{open_connection, writer::run_one_batch};
use crate::{retry_conflicts, StoreError, CONFLICT_ATTEMPTS_MAX};

pub(super) fn create(id: &str) -> (Command, Timestamp) {
    let tags = [("resonate:target".to_owned(), "poll://any@w".to_owned())].into();
    let request = CreatePromise {
        id: id.into(),
        timeout_at: Timestamp(1_000),
        param: Default::default(),
        tags,
    };
    (Command::PromiseCreate(request), Timestamp(1))
}

pub(super) fn snapshot(connection: Connection) -> Snapshot {
    let (_, mut results) = run_one_batch(
        connection,
        KernelConfig::default(),
        vec![(Command::DebugSnap, Timestamp(2))],
    );
    match results.pop() {
        Some(Ok(executed)) => match executed.reply {
            Reply::DebugSnap(snapshot) => *snapshot,
            other => panic!("not a snapshot: {other:?}"),
        },
        other => panic!("snapshot failed: {other:?}"),
    }
}

fn ids(snapshot: &Snapshot) -> (Vec<&str>, Vec<&str>, usize) {
    let promises = snapshot.promises.iter().map(|p| p.id.as_str()).collect();
    let tasks = snapshot.tasks.iter().map(|t| t.id.as_str()).collect();
    (promises, tasks, snapshot.messages.len())
}

/// A database that refuses the execute message of the promise `boom`, after its promise and task
/// rows went in: the command fails half-way.
pub(super) fn refusing_boom() -> Connection {
    let connection = open_connection(Path::new(":memory:"), Default::default()).unwrap();
    connection
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.ref_id = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'injected'); END;",
        )
        .unwrap();
    connection
}

#[test]
fn a_failing_command_is_rolled_back_alone_and_its_neighbours_commit() {
    // The savepoint must take back what the failing command wrote without touching the neighbours.
    let connection = refusing_boom();
    let batch = vec![create("a"), create("boom"), create("b")];
    let (connection, results) = run_one_batch(connection, KernelConfig::default(), batch);
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(matches!(&results[1], Err(StoreError::Unavailable(m)) if m.contains("injected")));
    assert!(results[2].is_ok(), "{:?}", results[2]);
    let snapshot = snapshot(connection);
    assert_eq!(ids(&snapshot), (vec!["a", "b"], vec!["a", "b"], 2));
    assert!(results.iter().flatten().all(|executed| executed.queued_messages));
}

/// A database whose COMMIT fails once a batch has created the promise `doom`: a deferred foreign
/// key is checked only at COMMIT, the one way to make a commit fail on demand.
pub(super) fn doomed_at_commit() -> Connection {
    let connection = open_connection(Path::new(":memory:"), Default::default()).unwrap();
    connection
        .execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (id TEXT PRIMARY KEY);
             CREATE TABLE child (parent TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
             CREATE TRIGGER doom AFTER INSERT ON promises WHEN NEW.id = 'doom'
             BEGIN INSERT INTO child VALUES ('missing'); END;",
        )
        .unwrap();
    connection
}

#[test]
fn a_failed_commit_fails_every_command_of_the_batch() {
    // Nothing of the batch may be acknowledged or kept.
    let connection = doomed_at_commit();
    let batch = vec![create("a"), create("doom"), create("b")];
    let (connection, results) = run_one_batch(connection, KernelConfig::default(), batch);
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| matches!(r, Err(StoreError::Unavailable(_)))), "{results:?}");
    assert_eq!(ids(&snapshot(connection)), (vec![], vec![], 0));
}

#[test]
fn a_command_that_ends_the_transaction_fails_the_whole_batch() {
    let connection = open_connection(Path::new(":memory:"), Default::default()).unwrap();
    // RAISE(ROLLBACK) ends the batch's transaction from inside a command, as a full disk or an
    // I/O error would: "a" was already written in it and is gone, so no command may succeed.
    connection
        .execute_batch(
            "CREATE TRIGGER abandon BEFORE INSERT ON promises WHEN NEW.id = 'abandon' \
             BEGIN SELECT RAISE(ROLLBACK, 'abandoned'); END;",
        )
        .unwrap();
    let batch = vec![create("a"), create("abandon"), create("b")];
    let (connection, results) = run_one_batch(connection, KernelConfig::default(), batch);
    assert!(results.iter().all(|r| matches!(r, Err(StoreError::Unavailable(_)))), "{results:?}");
    assert_eq!(ids(&snapshot(connection)), (vec![], vec![], 0));
}

#[test]
fn conflicts_are_retried_a_bounded_number_of_times() {
    let calls = Cell::new(0);
    let conflict = || -> resolute_core::txn::TxnResult<()> {
        calls.set(calls.get() + 1);
        Err(TxnError::new(TxnErrorKind::Conflict, "busy"))
    };
    assert_eq!(retry_conflicts(conflict).unwrap_err().kind, TxnErrorKind::Conflict);
    assert_eq!(calls.get(), CONFLICT_ATTEMPTS_MAX);

    calls.set(0);
    let succeeds_second = || {
        calls.set(calls.get() + 1);
        if calls.get() < 2 {
            Err(TxnError::new(TxnErrorKind::Conflict, "busy"))
        } else {
            Ok(calls.get())
        }
    };
    assert_eq!(retry_conflicts(succeeds_second), Ok(2));

    calls.set(0);
    let unavailable = || -> resolute_core::txn::TxnResult<()> {
        calls.set(calls.get() + 1);
        Err(TxnError::new(TxnErrorKind::Unavailable, "down"))
    };
    assert!(retry_conflicts(unavailable).is_err());
    assert_eq!(calls.get(), 1, "only conflicts are retried");
}

#[test]
fn a_locked_database_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let connection = open_connection(&path, Default::default()).unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    connection.busy_timeout(std::time::Duration::ZERO).unwrap();
    let error = connection.execute("DELETE FROM promises", []).unwrap_err();
    assert_eq!(crate::sqlite::rows::sql_error(error).kind, TxnErrorKind::Conflict);
}
