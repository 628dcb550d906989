//! Connection threads: each owns one PostgreSQL connection and runs commands from a bounded queue.
//!
//! A command is one transaction. A conflict with another node (a unique key taken, a deadlock, a
//! lock wait past `lock_timeout`) rolls it back and runs it again after a short randomized pause,
//! a bounded number of times. A lost connection is re-established on the next command; the failed
//! command reports `Unavailable` (the caller sees a 500, never a hang: every statement carries a
//! server-side timeout and the connection a connect timeout and TCP keep-alives).

use std::cell::RefCell;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use postgres::{Client, IsolationLevel, NoTls};
use resolute_core::txn::{TxnErrorKind, TxnResult};
use resolute_core::{Command, KernelConfig, Timestamp};

use super::rows::sql_error;
use super::{listen, schema, PgTxn, StatementCache};
use crate::error::StoreError;
use crate::facade::{run_command, Executed, Store, StoreFuture};

/// The channel commits that queue messages notify, so every node's dispatcher wakes.
pub(crate) const CHANNEL: &str = "resolute_outbox";

/// Jobs waiting for a connection thread; a full queue makes callers wait.
const QUEUE_CAPACITY: usize = 1024;
/// Runs of one command when it keeps conflicting with other nodes.
const ATTEMPTS_MAX: u32 = 8;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Server-side bounds on every statement and lock wait, so no request waits for ever (F8).
const SESSION_SETTINGS: &str = "SET statement_timeout = '15s'; SET lock_timeout = '5s'; \
     SET idle_in_transaction_session_timeout = '60s'";

/// Where the database is and how many connections this node uses.
#[derive(Clone, Debug)]
pub struct PgConfig {
    pub url: String,
    pub pool_size: usize,
}

enum Job {
    Command { command: Command, now: Timestamp },
    Ping,
}

struct Request {
    job: Job,
    reply: async_channel::Sender<Result<Executed, StoreError>>,
}

/// The PostgreSQL store. Dropping it closes the queue; the threads finish their job and exit.
pub struct PgStore {
    jobs: async_channel::Sender<Request>,
    connection: postgres::Config,
    listening: Arc<AtomicBool>,
}

impl PgStore {
    /// Connects, migrates the schema and starts `pool_size` connection threads.
    pub fn open(config: &PgConfig, kernel: KernelConfig) -> Result<PgStore, StoreError> {
        let mut connection = postgres::Config::from_str(&config.url)
            .map_err(|error| StoreError::Unavailable(format!("bad PostgreSQL URL: {error}")))?;
        if connection.get_connect_timeout().is_none() {
            connection.connect_timeout(CONNECT_TIMEOUT);
        }
        connection.keepalives(true).keepalives_idle(Duration::from_secs(30));
        // Migrate on a connection of its own before any thread serves, then let it go.
        schema::migrate(&mut connect(&connection)?)?;
        let (jobs, queue) = async_channel::bounded(QUEUE_CAPACITY);
        for index in 0..config.pool_size.max(1) {
            let (queue, kernel, connection) = (queue.clone(), kernel.clone(), connection.clone());
            std::thread::Builder::new()
                .name(format!("resolute-pg-{index}"))
                .spawn(move || serve(index, connection, kernel, queue))
                .map_err(|error| {
                    StoreError::Unavailable(format!("cannot start a thread: {error}"))
                })?;
        }
        Ok(PgStore { jobs, connection, listening: Arc::new(AtomicBool::new(false)) })
    }

    /// Runs a command and blocks the calling thread until it is committed (tests, tools).
    pub fn execute_blocking(
        &self,
        command: Command,
        now: Timestamp,
    ) -> Result<Executed, StoreError> {
        let (reply, answer) = async_channel::bounded(1);
        let request = Request { job: Job::Command { command, now }, reply };
        self.jobs.send_blocking(request).map_err(|_| StoreError::Closed)?;
        answer.recv_blocking().map_err(|_| StoreError::Closed)?
    }

    async fn submit(&self, job: Job) -> Result<Executed, StoreError> {
        let (reply, answer) = async_channel::bounded(1);
        self.jobs.send(Request { job, reply }).await.map_err(|_| StoreError::Closed)?;
        answer.recv().await.map_err(|_| StoreError::Closed)?
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.jobs.close();
        self.listening.store(false, Ordering::Release);
    }
}

impl Store for PgStore {
    fn execute(&self, command: Command, now: Timestamp) -> StoreFuture<'_, Executed> {
        Box::pin(self.submit(Job::Command { command, now }))
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.submit(Job::Ping).await.map(|_| ()) })
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn on_remote_change(&self, wake: Box<dyn Fn() + Send + Sync>) {
        if !self.listening.swap(true, Ordering::AcqRel) {
            listen::spawn(self.connection.clone(), self.listening.clone(), wake);
        }
    }
}

pub(crate) fn connect(config: &postgres::Config) -> Result<Client, StoreError> {
    let mut client = config.connect(NoTls).map_err(schema::unavailable)?;
    client.batch_execute(SESSION_SETTINGS).map_err(schema::unavailable)?;
    Ok(client)
}

/// One live connection and the statements prepared on it.
struct Connection {
    client: Client,
    statements: RefCell<StatementCache>,
}

fn serve(
    index: usize,
    config: postgres::Config,
    kernel: KernelConfig,
    queue: async_channel::Receiver<Request>,
) {
    let mut connection: Option<Connection> = None;
    let mut random = seed(index);
    while let Ok(request) = queue.recv_blocking() {
        let result = handle(&config, &kernel, &mut connection, &request.job, &mut random);
        let _ = request.reply.try_send(result);
    }
}

/// Jitter only has to differ between threads and nodes, not be unpredictable.
fn seed(index: usize) -> u64 {
    (u64::from(std::process::id()) << 16 ^ index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
}

fn handle(
    config: &postgres::Config,
    kernel: &KernelConfig,
    slot: &mut Option<Connection>,
    job: &Job,
    random: &mut u64,
) -> Result<Executed, StoreError> {
    let mut attempt = 1;
    loop {
        if slot.is_none() {
            let client = connect(config)?;
            *slot = Some(Connection { client, statements: RefCell::default() });
        }
        let connection = slot.as_mut().expect("connected just above");
        let result = match job {
            Job::Command { command, now } => run_once(connection, kernel, command, *now),
            Job::Ping => ping(connection),
        };
        match result {
            Ok(executed) => return Ok(executed),
            Err(error) if error.kind == TxnErrorKind::Conflict && attempt < ATTEMPTS_MAX => {
                attempt += 1;
                std::thread::sleep(backoff(attempt, random));
            }
            Err(error) => {
                if connection.client.is_closed() {
                    *slot = None;
                }
                return Err(error.into());
            }
        }
    }
}

/// A few milliseconds, growing and randomized, so two nodes that collided do not collide again.
fn backoff(attempt: u32, random: &mut u64) -> Duration {
    *random ^= *random << 13;
    *random ^= *random >> 7;
    *random ^= *random << 17;
    let ceiling_ms = 1u64 << attempt.min(6);
    Duration::from_micros(*random % (ceiling_ms * 1000))
}

fn ping(connection: &mut Connection) -> TxnResult<Executed> {
    connection.client.simple_query("SELECT 1").map_err(sql_error)?;
    Ok(Executed { reply: resolute_core::Reply::Done, queued_messages: false })
}

fn run_once(
    connection: &mut Connection,
    kernel: &KernelConfig,
    command: &Command,
    now: Timestamp,
) -> TxnResult<Executed> {
    let read_only = command.is_read_only();
    let Connection { client, statements } = connection;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .read_only(read_only)
        .start()
        .map_err(sql_error)?;
    let mut txn = PgTxn::new(tx, statements, !read_only);
    let result = run_command(&mut txn, command, now, kernel);
    let mut tx = txn.into_transaction();
    match result {
        Ok(executed) => {
            if executed.queued_messages {
                tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL]).map_err(sql_error)?;
            }
            tx.commit().map_err(sql_error)?;
            Ok(executed)
        }
        Err(error) => {
            let _ = tx.rollback();
            Err(error)
        }
    }
}
