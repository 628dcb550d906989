//! The SQLite file keeps what was acknowledged across a reopen, migrates an older schema, refuses a
//! newer one, and reports undecodable rows as corrupt.

use resolute_core::command::CreatePromise;
use resolute_core::reply::PromiseReply;
use resolute_core::{Command, KernelConfig, Reply, Timestamp};

use crate::{SqliteStore, StoreError};

fn create(id: &str) -> Command {
    Command::PromiseCreate(CreatePromise {
        id: id.into(),
        timeout_at: Timestamp(i64::MAX),
        param: Default::default(),
        tags: Default::default(),
    })
}

#[test]
fn an_acknowledged_write_is_there_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.db");
    {
        let store = SqliteStore::open(&path, KernelConfig::default()).unwrap();
        store.execute_blocking(create("kept"), Timestamp(1)).unwrap();
    }
    let store = SqliteStore::open(&path, KernelConfig::default()).unwrap();
    let reply =
        store.execute_blocking(Command::PromiseGet { id: "kept".into() }, Timestamp(2)).unwrap();
    assert!(matches!(reply.reply, Reply::PromiseGet(PromiseReply::Found(_))));
}

#[test]
fn a_database_from_a_newer_resolute_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    drop(SqliteStore::open(&path, KernelConfig::default()).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.pragma_update(None, "user_version", 99).unwrap();
    drop(connection);
    let error = SqliteStore::open(&path, KernelConfig::default()).err().expect("refused");
    assert!(error.to_string().contains("newer"), "{error}");
}

#[test]
fn a_version_1_database_is_migrated_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.execute_batch(include_str!("../../migrations/sqlite/0001_init.sql")).unwrap();
    connection.pragma_update(None, "user_version", 1).unwrap();
    connection
        .execute_batch(
            "INSERT INTO outbox (kind, ref_id, addr_key, address, lane, version, due_at, attempts, \
             leased) VALUES ('execute', 't', '', 'poll://any@w', 'poll:w', 0, 40, 0, 0)",
        )
        .unwrap();
    drop(connection);
    let store = SqliteStore::open(&path, KernelConfig::default()).unwrap();
    let reply = store.execute_blocking(Command::DebugSnap, Timestamp(50)).unwrap().reply;
    let Reply::DebugSnap(snapshot) = reply else { panic!("not a snapshot: {reply:?}") };
    let queued: Vec<_> = snapshot.messages.iter().map(|m| (m.due_at, m.queued_at)).collect();
    assert_eq!(queued, vec![(Timestamp(40), Timestamp(40))], "queued_at backfilled from due_at");
    drop(store);
    let connection = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
    assert_eq!(version, crate::sqlite::schema_version() as i64);
}

#[test]
fn an_undecodable_row_is_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let store = SqliteStore::open(&path, KernelConfig::default()).unwrap();
    store.execute_blocking(create("state"), Timestamp(1)).unwrap();
    store.execute_blocking(create("tags"), Timestamp(1)).unwrap();
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute_batch(
            "UPDATE promises SET state = 'bogus' WHERE id = 'state';
             UPDATE promises SET tags = 'not json' WHERE id = 'tags';",
        )
        .unwrap();
    for id in ["state", "tags"] {
        let get = Command::PromiseGet { id: id.into() };
        let error = store.execute_blocking(get, Timestamp(2)).unwrap_err();
        assert!(matches!(error, StoreError::Corrupt(_)), "{id}: {error:?}");
    }
    let fine = store.execute_blocking(create("fine"), Timestamp(3));
    assert!(fine.is_ok(), "one bad row does not take the store down: {fine:?}");
}

#[test]
fn a_version_2_database_gets_lease_progress_backfilled_from_the_last_renewal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.execute_batch(include_str!("../../migrations/sqlite/0001_init.sql")).unwrap();
    connection
        .execute_batch(include_str!("../../migrations/sqlite/0002_outbox_queued_at.sql"))
        .unwrap();
    connection.pragma_update(None, "user_version", 2).unwrap();
    connection
        .execute_batch(
            "INSERT INTO tasks (id, state, version, timer_kind, timer_at, timer_pid, timer_ttl) \
             VALUES ('held', 'acquired', 1, 1, 9000, 'w', 5000), \
                    ('waiting', 'pending', 0, 0, 9000, NULL, 30000)",
        )
        .unwrap();
    drop(connection);
    let store = SqliteStore::open(&path, KernelConfig::default()).unwrap();
    let reply = store.execute_blocking(Command::DebugSnap, Timestamp(50)).unwrap().reply;
    let Reply::DebugSnap(snapshot) = reply else { panic!("not a snapshot: {reply:?}") };
    let times: Vec<_> = snapshot
        .tasks
        .iter()
        .map(|task| task.timer.as_ref().map(|timer| (timer.started_at, timer.progress_at)))
        .collect();
    // The last renewal of a lease is its end minus its ttl; when it started is not known.
    assert_eq!(times, vec![Some((None, Some(Timestamp(4_000)))), Some((None, None))]);
}

#[test]
fn a_version_3_database_moves_its_small_tables_into_their_keys_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    let connection = rusqlite::Connection::open(&path).unwrap();
    for migration in [
        include_str!("../../migrations/sqlite/0001_init.sql"),
        include_str!("../../migrations/sqlite/0002_outbox_queued_at.sql"),
        include_str!("../../migrations/sqlite/0003_lease_progress.sql"),
    ] {
        connection.execute_batch(migration).unwrap();
    }
    connection.pragma_update(None, "user_version", 3).unwrap();
    connection
        .execute_batch(
            "INSERT INTO tasks (id, state, version, timer_kind, timer_at, timer_pid, timer_ttl, \
             lease_started_at, lease_progress_at) VALUES ('held', 'acquired', 2, 1, 9000, 'w', \
             5000, 3000, 4000);
             INSERT INTO callbacks (awaited, awaiter, ready) VALUES ('child', 'held', 0);
             INSERT INTO listeners (promise_id, address) VALUES ('child', 'poll://any@g');
             INSERT INTO outbox (kind, ref_id, addr_key, address, lane, version, due_at, \
             attempts, leased, queued_at) VALUES ('execute', 'held', '', 'poll://any@g', \
             'poll:g', 2, 40, 1, 1, 30);",
        )
        .unwrap();
    drop(connection);

    let store = SqliteStore::open(&path, KernelConfig::default()).unwrap();
    let reply = store.execute_blocking(Command::DebugSnap, Timestamp(50)).unwrap().reply;
    let Reply::DebugSnap(snapshot) = reply else { panic!("not a snapshot: {reply:?}") };
    drop(store);
    let task = &snapshot.tasks[..];
    assert_eq!(task.len(), 1);
    let timer = task[0].timer.as_ref().expect("the lease survives");
    assert_eq!((task[0].version, timer.at, timer.pid.as_deref()), (2, Timestamp(9000), Some("w")));
    assert_eq!(
        (timer.started_at, timer.progress_at),
        (Some(Timestamp(3000)), Some(Timestamp(4000)))
    );
    assert_eq!(snapshot.callbacks.len(), 1);
    assert_eq!(snapshot.listeners.len(), 1);
    let message: Vec<_> =
        snapshot.messages.iter().map(|m| (m.due_at, m.queued_at, m.attempts, m.leased)).collect();
    assert_eq!(message, vec![(Timestamp(40), Timestamp(30), 1, true)]);

    let connection = rusqlite::Connection::open(&path).unwrap();
    let clustered: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(clustered, ["callbacks", "listeners", "outbox", "tasks"]);
}
