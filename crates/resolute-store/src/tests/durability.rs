//! The SQLite file keeps what was acknowledged across a reopen, and refuses a newer schema.

use resolute_core::command::CreatePromise;
use resolute_core::reply::PromiseReply;
use resolute_core::{Command, KernelConfig, Reply, Timestamp};

use crate::SqliteStore;

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
