//! The SQLite backend: one connection on its own thread, fed by a bounded queue, committing many
//! commands per transaction (group commit) and replying only after the commit is durable.

mod checkpoint;
mod owner;
mod readers;
mod reads;
pub(crate) mod rows;
mod schema;
mod write_health;
pub(crate) mod writer;
mod writer_task;
mod writes;

use std::path::Path;
use std::sync::Arc;

use resolute_core::command::{DueFilter, PromiseQuery, ScheduleQuery, TaskQuery};
use resolute_core::reply::Snapshot;
use resolute_core::txn::TxnResult;
use resolute_core::{
    Callback, Command, KernelConfig, Message, MessageKey, Promise, Schedule, Task, TimerKind,
    Timestamp, Txn, Write,
};
use rusqlite::Connection;

use crate::error::StoreError;
use crate::facade::{ClaimOnCommit, Executed, Store, StoreFuture};

pub use schema::{schema_version, Synchronous};
pub use writer::WriterHome;

/// The kernel's view of an open SQLite transaction: statements run on the connection directly, so
/// later reads see earlier writes.
pub(crate) struct SqliteTxn<'c> {
    pub(crate) conn: &'c Connection,
}

impl Txn for SqliteTxn<'_> {
    fn promise(&self, id: &str) -> TxnResult<Option<Promise>> {
        reads::promise(self.conn, id)
    }
    fn task(&self, id: &str) -> TxnResult<Option<Task>> {
        reads::task(self.conn, id)
    }
    fn callback(&self, awaited: &str, awaiter: &str) -> TxnResult<Option<Callback>> {
        reads::callback(self.conn, awaited, awaiter)
    }
    fn callbacks_on(&self, awaited: &str) -> TxnResult<Vec<Callback>> {
        reads::callbacks_on(self.conn, awaited)
    }
    fn listeners(&self, promise_id: &str) -> TxnResult<Vec<String>> {
        reads::listeners(self.conn, promise_id)
    }
    fn branch_promises(&self, branch: &str) -> TxnResult<Vec<Promise>> {
        reads::branch_promises(self.conn, branch)
    }
    fn expired_promises(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Promise>> {
        reads::expired_promises(self.conn, now, limit)
    }
    fn due_tasks(&self, kind: TimerKind, now: Timestamp, limit: usize) -> TxnResult<Vec<Task>> {
        reads::due_tasks(self.conn, kind, now, limit)
    }
    fn schedule(&self, id: &str) -> TxnResult<Option<Schedule>> {
        reads::schedule(self.conn, id)
    }
    fn due_schedules(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Schedule>> {
        reads::due_schedules(self.conn, now, limit)
    }
    fn search_promises(&self, query: &PromiseQuery) -> TxnResult<Vec<Promise>> {
        reads::search_promises(self.conn, query)
    }
    fn search_tasks(&self, query: &TaskQuery) -> TxnResult<Vec<Task>> {
        reads::search_tasks(self.conn, query)
    }
    fn search_schedules(&self, query: &ScheduleQuery) -> TxnResult<Vec<Schedule>> {
        reads::search_schedules(self.conn, query)
    }
    fn due_messages(
        &self,
        now: Timestamp,
        limit: usize,
        lanes: &DueFilter,
    ) -> TxnResult<Vec<Message>> {
        reads::due_messages(self.conn, now, limit, lanes)
    }
    fn message(&self, key: &MessageKey) -> TxnResult<Option<Message>> {
        reads::message(self.conn, key)
    }
    fn lane_backlogs(&self, limit: usize) -> TxnResult<Vec<resolute_core::reply::LaneBacklog>> {
        reads::lane_backlogs(self.conn, limit)
    }
    fn snapshot(&self) -> TxnResult<Snapshot> {
        reads::snapshot(self.conn)
    }
    fn write(&mut self, write: Write) -> TxnResult<()> {
        writes::apply(self.conn, write)
    }
}

/// Opens a connection with the durability settings and an up-to-date schema.
pub(crate) fn open_connection(
    path: &Path,
    synchronous: Synchronous,
) -> Result<Connection, StoreError> {
    let mut connection = Connection::open(path).map_err(schema::unavailable)?;
    schema::configure(&connection, synchronous)?;
    schema::migrate(&mut connection)?;
    Ok(connection)
}

/// Runs `f` in a transaction on a bare connection (conformance tests drive `Txn` directly).
#[cfg(test)]
pub(crate) fn with_txn<T>(
    conn: &Connection,
    f: impl FnOnce(&mut dyn Txn) -> TxnResult<T>,
) -> TxnResult<T> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(rows::sql_error)?;
    let result = f(&mut SqliteTxn { conn });
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    conn.execute_batch(end).map_err(rows::sql_error)?;
    result
}

/// The SQLite store. Dropping it closes the queues; the writer finishes its batch and exits.
pub struct SqliteStore {
    writer: writer::WriterHandle,
    /// Read-only commands go here when the database is a file; `None` for `:memory:`.
    readers: Option<readers::ReaderPool>,
    _checkpointer: Option<checkpoint::Checkpointer>,
    claimer: writer::Claimer,
    /// Last, so it is let go after the writer has finished with the file.
    _owner: Option<owner::OwnerLock>,
}

fn is_memory(path: &Path) -> bool {
    path == Path::new(":memory:")
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`; `:memory:` keeps nothing.
    pub fn open(path: impl AsRef<Path>, config: KernelConfig) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, config, Synchronous::default())
    }

    /// Opens with an explicit durability level, the writer on a thread of its own.
    pub fn open_with(
        path: impl AsRef<Path>,
        config: KernelConfig,
        synchronous: Synchronous,
    ) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_homed(path, config, synchronous, WriterHome::OwnThread)
    }

    /// Opens with an explicit durability level and writer home. With [`WriterHome::Runtime`],
    /// [`SqliteStore::execute_blocking`] must not be called from that runtime's threads (it would
    /// wait for a task that its own thread has to run).
    pub fn open_homed(
        path: impl AsRef<Path>,
        config: KernelConfig,
        synchronous: Synchronous,
        home: WriterHome,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref();
        let owner = if is_memory(path) { None } else { Some(owner::take(path)?) };
        // The writer's connection migrates the schema before any reader opens the file.
        let connection = open_connection(path, synchronous)?;
        let readers = if is_memory(path) { None } else { Some(readers::start(path, &config)?) };
        let tail = checkpoint::Tail::default();
        let claimer = writer::Claimer::default();
        let inline = synchronous == Synchronous::Normal;
        let writer =
            writer::spawn(connection, config, tail.clone(), claimer.clone(), inline, home)?;
        let checkpointer = checkpoint::start(path, tail)?;
        Ok(SqliteStore { writer, readers, _checkpointer: checkpointer, claimer, _owner: owner })
    }

    /// Runs a command and blocks the calling thread until it is committed (tests, tools).
    pub fn execute_blocking(
        &self,
        command: Command,
        now: Timestamp,
    ) -> Result<Executed, StoreError> {
        match &self.readers {
            Some(readers) if command.is_read_only() => readers.submit_blocking(command, now),
            _ => self.writer.submit_blocking(command, now),
        }
    }
}

impl Store for SqliteStore {
    fn execute(&self, command: Command, now: Timestamp) -> StoreFuture<'_, Executed> {
        match &self.readers {
            Some(readers) if command.is_read_only() => Box::pin(readers.submit(command, now)),
            _ => Box::pin(self.writer.submit(command, now)),
        }
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.writer.ping().await })
    }

    /// The first claimer stays: one dispatcher serves one store.
    fn claim_on_commit(&self, claimer: Arc<dyn ClaimOnCommit>) {
        let _ = self.claimer.set(claimer);
    }

    fn close(&self) {
        self.writer.close();
    }
}
