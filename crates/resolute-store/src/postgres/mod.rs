//! The PostgreSQL backend: several nodes share one database. A pool of connections, each on its
//! own thread, runs one command per `READ COMMITTED` transaction with row locks (see `reads.rs`);
//! a conflict with another node rolls the command back and runs it again.

mod listen;
mod pool;
mod reads;
mod rows;
mod schema;
mod writes;

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};
use resolute_core::command::{DueFilter, PromiseQuery, ScheduleQuery, TaskQuery};
use resolute_core::reply::{LaneBacklog, Snapshot};
use resolute_core::txn::TxnResult;
use resolute_core::{
    Callback, Message, MessageKey, Promise, Schedule, Task, TimerKind, Timestamp, Txn, Write,
};

pub use pool::{PgConfig, PgStore};
pub use schema::schema_version;

use rows::sql_error;

/// Statements prepared on one connection, by SQL text (a few dozen distinct texts).
pub(crate) type StatementCache = HashMap<String, Statement>;

/// The kernel's view of an open PostgreSQL transaction.
pub(crate) struct PgTxn<'t, 'c> {
    tx: RefCell<Transaction<'c>>,
    statements: &'t RefCell<StatementCache>,
    /// Whether reads by key lock their rows: true in every command that may write.
    locking: bool,
}

impl<'t, 'c> PgTxn<'t, 'c> {
    pub(crate) fn new(
        tx: Transaction<'c>,
        statements: &'t RefCell<StatementCache>,
        locking: bool,
    ) -> Self {
        PgTxn { tx: RefCell::new(tx), statements, locking }
    }

    pub(crate) fn into_transaction(self) -> Transaction<'c> {
        self.tx.into_inner()
    }

    fn statement(&self, tx: &mut Transaction<'c>, sql: &str) -> TxnResult<Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = tx.prepare(sql).map_err(sql_error)?;
        self.statements.borrow_mut().insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> TxnResult<Vec<Row>> {
        let mut tx = self.tx.borrow_mut();
        let statement = self.statement(&mut tx, sql)?;
        tx.query(&statement, params).map_err(sql_error)
    }

    fn all<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        decode: impl Fn(&Row) -> TxnResult<T>,
    ) -> TxnResult<Vec<T>> {
        self.query(sql, params)?.iter().map(decode).collect()
    }

    fn optional<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        decode: impl Fn(&Row) -> TxnResult<T>,
    ) -> TxnResult<Option<T>> {
        self.query(sql, params)?.first().map(decode).transpose()
    }

    fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> TxnResult<()> {
        let mut tx = self.tx.borrow_mut();
        let statement = self.statement(&mut tx, sql)?;
        tx.execute(&statement, params).map(|_| ()).map_err(sql_error)
    }
}

impl Txn for PgTxn<'_, '_> {
    fn promise(&self, id: &str) -> TxnResult<Option<Promise>> {
        self.read_promise(id)
    }
    fn task(&self, id: &str) -> TxnResult<Option<Task>> {
        self.read_task(id)
    }
    fn callback(&self, awaited: &str, awaiter: &str) -> TxnResult<Option<Callback>> {
        self.read_callback(awaited, awaiter)
    }
    fn callbacks_on(&self, awaited: &str) -> TxnResult<Vec<Callback>> {
        self.read_callbacks_on(awaited)
    }
    fn listeners(&self, promise_id: &str) -> TxnResult<Vec<String>> {
        self.read_listeners(promise_id)
    }
    fn branch_promises(&self, branch: &str) -> TxnResult<Vec<Promise>> {
        self.read_branch(branch)
    }
    fn expired_promises(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Promise>> {
        self.read_expired(now, limit)
    }
    fn due_tasks(&self, kind: TimerKind, now: Timestamp, limit: usize) -> TxnResult<Vec<Task>> {
        self.read_due_tasks(kind, now, limit)
    }
    fn schedule(&self, id: &str) -> TxnResult<Option<Schedule>> {
        self.read_schedule(id)
    }
    fn due_schedules(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Schedule>> {
        self.read_due_schedules(now, limit)
    }
    fn search_promises(&self, query: &PromiseQuery) -> TxnResult<Vec<Promise>> {
        self.read_search_promises(query)
    }
    fn search_tasks(&self, query: &TaskQuery) -> TxnResult<Vec<Task>> {
        self.read_search_tasks(query)
    }
    fn search_schedules(&self, query: &ScheduleQuery) -> TxnResult<Vec<Schedule>> {
        self.read_search_schedules(query)
    }
    fn due_messages(
        &self,
        now: Timestamp,
        limit: usize,
        lanes: &DueFilter,
    ) -> TxnResult<Vec<Message>> {
        self.read_due_messages(now, limit, lanes)
    }
    fn message(&self, key: &MessageKey) -> TxnResult<Option<Message>> {
        self.read_message(key)
    }
    fn lane_backlogs(&self, limit: usize) -> TxnResult<Vec<LaneBacklog>> {
        self.read_lane_backlogs(limit)
    }
    fn snapshot(&self) -> TxnResult<Snapshot> {
        self.read_snapshot()
    }
    fn write(&mut self, write: Write) -> TxnResult<()> {
        self.apply(write)
    }
}

/// A migrated connection to `url` (conformance tests drive `Txn` directly).
#[cfg(test)]
pub(crate) fn open_client(url: &str) -> Result<postgres::Client, crate::StoreError> {
    use std::str::FromStr;
    let config = postgres::Config::from_str(url)
        .map_err(|error| crate::StoreError::Unavailable(error.to_string()))?;
    let mut client = pool::connect(&config)?;
    schema::migrate(&mut client)?;
    Ok(client)
}

/// Runs `f` in one transaction, committed only on success (conformance tests).
#[cfg(test)]
pub(crate) fn with_txn<T>(
    client: &mut postgres::Client,
    f: impl FnOnce(&mut dyn Txn) -> TxnResult<T>,
) -> TxnResult<T> {
    let statements = RefCell::default();
    let tx = client.transaction().map_err(sql_error)?;
    let mut txn = PgTxn::new(tx, &statements, true);
    let result = f(&mut txn);
    let tx = txn.into_transaction();
    if result.is_ok() { tx.commit() } else { tx.rollback() }.map_err(sql_error)?;
    result
}
