//! Reader threads: read-only commands run on their own connections, beside the writer.
//!
//! WAL lets readers work while the writer commits, so a search or the dispatcher's scan of due
//! messages neither waits in the writer's queue nor for a batch's fsync. A reader sees every write
//! acknowledged before it started (acknowledgement follows the commit), so answering from a reader
//! never shows a caller less than it was told is done. The connections are opened read-only: a
//! command wrongly marked read-only fails instead of writing outside the writer.

use std::path::Path;
use std::time::Duration;

use resolute_core::txn::TxnResult;
use resolute_core::{Command, KernelConfig, Timestamp};
use rusqlite::{Connection, OpenFlags};

use super::rows::sql_error;
use super::SqliteTxn;
use crate::error::StoreError;
use crate::facade::{run_command, Executed};
use crate::reply::{self, ReplyTx};

/// Reader threads per store: reads are short, and the machine's cores also serve the writer.
const READERS: usize = 2;
/// Read jobs waiting for a reader; a full queue makes callers wait.
const QUEUE_CAPACITY: usize = 1024;

struct ReadJob {
    command: Command,
    now: Timestamp,
    reply: ReplyTx<Executed>,
}

pub(crate) struct ReaderPool {
    jobs: async_channel::Sender<ReadJob>,
}

/// Starts the readers of a file database (a `:memory:` database is private to its connection).
pub(crate) fn start(path: &Path, config: &KernelConfig) -> Result<ReaderPool, StoreError> {
    let (jobs, queue) = async_channel::bounded(QUEUE_CAPACITY);
    for index in 0..READERS {
        let connection = open_read_only(path)?;
        let (queue, config) = (queue.clone(), config.clone());
        std::thread::Builder::new()
            .name(format!("resolute-sqlite-reader-{index}"))
            .spawn(move || serve(connection, config, queue))
            .map_err(|error| StoreError::Unavailable(format!("cannot start a reader: {error}")))?;
    }
    Ok(ReaderPool { jobs })
}

fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection =
        Connection::open_with_flags(path, flags).map_err(super::schema::unavailable)?;
    connection.busy_timeout(Duration::from_secs(5)).map_err(super::schema::unavailable)?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

impl ReaderPool {
    pub(crate) async fn submit(
        &self,
        command: Command,
        now: Timestamp,
    ) -> Result<Executed, StoreError> {
        let (reply, answer) = reply::slot();
        self.jobs.send(ReadJob { command, now, reply }).await.map_err(|_| StoreError::Closed)?;
        reply::wait(answer).await
    }

    pub(crate) fn submit_blocking(
        &self,
        command: Command,
        now: Timestamp,
    ) -> Result<Executed, StoreError> {
        let (reply, answer) = reply::slot();
        let job = ReadJob { command, now, reply };
        self.jobs.send_blocking(job).map_err(|_| StoreError::Closed)?;
        reply::wait_blocking(answer)
    }
}

impl Drop for ReaderPool {
    fn drop(&mut self) {
        self.jobs.close();
    }
}

fn serve(connection: Connection, config: KernelConfig, queue: async_channel::Receiver<ReadJob>) {
    while let Ok(job) = queue.recv_blocking() {
        let result = read(&connection, &config, &job.command, job.now);
        reply::send(job.reply, result.map_err(StoreError::from));
    }
}

/// One read transaction, so that every read of the command sees the same committed state.
fn read(
    connection: &Connection,
    config: &KernelConfig,
    command: &Command,
    now: Timestamp,
) -> TxnResult<Executed> {
    connection.execute_batch("BEGIN").map_err(sql_error)?;
    let result = run_command(&mut SqliteTxn { conn: connection }, command, now, config);
    connection.execute_batch("ROLLBACK").map_err(sql_error)?;
    result
}
