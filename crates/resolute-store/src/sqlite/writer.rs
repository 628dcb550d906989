//! The writer: one connection, one transaction per batch, run by its own thread or by a task on the
//! server's runtime ([`WriterHome`]), or, when a command is alone in flight, by the caller.
//!
//! Group commit: the writer waits for a first job, takes whatever else is already queued (up to
//! `BATCH_MAX`), runs each command in a savepoint of one `BEGIN IMMEDIATE` transaction, commits
//! once, and only then replies. The commit's fsync (with `synchronous=FULL`) is thus shared by the
//! whole batch, so throughput grows with the number of concurrent callers instead of being capped
//! at one fsync per request. A mutex hands the connection to whoever runs a batch.

use std::collections::BTreeSet;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use resolute_core::reply::ClaimedMessage;
use resolute_core::txn::{TxnError, TxnErrorKind, TxnResult};
use resolute_core::{Command, KernelConfig, Message, Reply, Timestamp};
use rusqlite::Connection;

use super::checkpoint::Tail;
use super::rows::sql_error;
use super::schema::unavailable;
use super::write_health::{probe_write, WriteHealth};
use super::SqliteTxn;
use crate::error::StoreError;
use crate::facade::{retry_conflicts, run_command_noting, ClaimOnCommit, Executed, StartClaimed};
use crate::reply::{self, ReplyTx};

/// Jobs waiting for the writer; a full queue makes callers wait (back-pressure), never drops.
const QUEUE_CAPACITY: usize = 4096;
/// Commands committed together at most.
const BATCH_MAX: usize = 512;

pub(super) enum Job {
    Run { command: Command, now: Timestamp, reply: ReplyTx<Executed> },
    Ping { reply: ReplyTx<()> },
}

pub(crate) struct WriterHandle {
    jobs: async_channel::Sender<Job>,
    writer: Arc<Mutex<Writer>>,
    /// Commands submitted and not answered yet, whichever way they went.
    in_flight: AtomicUsize,
    /// When the last command was answered, in µs since `opened` (`NEVER` before the first).
    last_answered_us: AtomicU64,
    opened: Instant,
    /// Whether a command may run on its caller's thread when the writer is idle.
    inline: bool,
    /// Whether the writer is a task on the runtime (so nobody else ends it: see `Drop`).
    on_runtime: bool,
}

/// How long the writer must have had nothing to do before a command runs inline. Commands that
/// follow each other closely are a load, and a load is served best by the thread and its group
/// commits: running every lone command inline (with no quiet period) lowered loadgen `promises`
/// from 13–15k to 11–12k req/s at 8 clients and raised p99 from 1.3–1.7 to 2.5–4 ms, because a
/// command arriving during an inline run found a runtime thread blocked and the writer thread
/// parked on the mutex. An SDK's sequential calls are a millisecond or more apart.
const QUIET_BEFORE_INLINE: Duration = Duration::from_micros(500);

/// `last_answered_us` of a writer that has answered nothing yet.
const NEVER: u64 = u64::MAX;

/// Counts one command in flight for as long as it lives, and notes when it was answered.
struct InFlight<'a>(&'a WriterHandle);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let handle = self.0;
        handle.last_answered_us.store(handle.micros_since_open(), Ordering::Release);
        handle.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Where the dispatcher's [`ClaimOnCommit`] goes once it exists (the store is opened first).
pub(crate) type Claimer = Arc<OnceLock<Arc<dyn ClaimOnCommit>>>;

/// Where the writer runs its batches.
#[derive(Clone, Debug, Default)]
pub enum WriterHome {
    /// A thread of its own, fed through a queue: the choice when a commit fsyncs
    /// (`synchronous=FULL`), which must not hold up anything else, and for callers without a
    /// tokio runtime.
    #[default]
    OwnThread,
    /// A task on this runtime, which must be the one that serves the requests. Meant for a
    /// current-thread runtime and commits that do not fsync (`synchronous=NORMAL`): a request
    /// then goes from its socket through the kernel and the commit to its reply without a thread
    /// hand-off, and every request that became readable in the same poll of the sockets joins the
    /// batch. On the two-core bench host that doubled loadgen `promises` at 8 clients
    /// (docs/benchmarks.md, session 20): the thread's two wake-ups per batch and the runtime's own
    /// cost about half of a request's server CPU. A checkpoint's tail, which fsyncs, still runs
    /// on a blocking thread.
    Runtime(tokio::runtime::Handle),
}

/// Starts the writer where `home` says. `inline` lets an idle writer run a command on its caller's
/// thread; it must be off when a commit fsyncs, which would block the caller's thread for
/// milliseconds.
pub(crate) fn spawn(
    connection: Connection,
    config: KernelConfig,
    tail: Tail,
    claimer: Claimer,
    inline: bool,
    home: WriterHome,
) -> Result<WriterHandle, StoreError> {
    let (jobs, queue) = async_channel::bounded(QUEUE_CAPACITY);
    let writer = Arc::new(Mutex::new(Writer {
        connection,
        config,
        tail,
        claimer,
        health: WriteHealth::default(),
        breath_owed: std::cell::Cell::new(false),
    }));
    let shared = writer.clone();
    match &home {
        WriterHome::OwnThread => {
            std::thread::Builder::new()
                .name("resolute-sqlite-writer".into())
                .spawn(move || run(&shared, &queue))
                .map_err(|error| {
                    StoreError::Unavailable(format!("cannot start the writer thread: {error}"))
                })?;
        }
        WriterHome::Runtime(runtime) => {
            runtime.spawn(super::writer_task::run(shared, queue));
        }
    }
    Ok(WriterHandle {
        jobs,
        writer,
        in_flight: AtomicUsize::new(0),
        last_answered_us: AtomicU64::new(NEVER),
        opened: Instant::now(),
        inline,
        on_runtime: matches!(home, WriterHome::Runtime(_)),
    })
}

/// The writer, whoever runs it. A panic inside a batch (a caller's thread running it inline) may
/// leave its transaction open; it is rolled back here, so the next batch starts clean.
pub(super) fn lock(writer: &Mutex<Writer>) -> MutexGuard<'_, Writer> {
    let guard = writer.lock().unwrap_or_else(|poisoned| {
        writer.clear_poison();
        poisoned.into_inner()
    });
    roll_back_leftovers(&guard);
    guard
}

fn roll_back_leftovers(writer: &Writer) {
    if !writer.connection.is_autocommit() {
        let _ = writer.connection.execute_batch("ROLLBACK");
    }
}

/// The thread: blocks for a first job, takes whatever else is queued (up to `BATCH_MAX`), runs the
/// batch, and lets the checkpoint's tail run before the next one.
fn run(writer: &Mutex<Writer>, queue: &async_channel::Receiver<Job>) {
    // The thread parks rather than spins: measured on two shared cores, spinning took CPU from the
    // request threads and lowered throughput at 8 clients (9.9k → 11.2k req/s without it).
    while let Ok(first) = queue.recv_blocking() {
        let owed = run_guarded(writer, gather(first, queue));
        if owed.tail {
            lock(writer).finish_tail();
        }
        if owed.breath {
            std::thread::sleep(BREATH);
        }
    }
    lock(writer).truncate_wal();
}

/// The batch that starts with `first`: whatever else is queued, up to `BATCH_MAX`.
pub(super) fn gather(first: Job, queue: &async_channel::Receiver<Job>) -> Vec<Job> {
    let mut batch = vec![first];
    while batch.len() < BATCH_MAX {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// What the writer owes between two batches, whoever runs it.
pub(super) struct Owed {
    /// A checkpoint's tail ([`Tail`]).
    pub(super) tail: bool,
    /// A pause after a failed commit ([`BREATH`]).
    pub(super) breath: bool,
}

/// Runs a batch so that a panic inside it costs only that batch, and says what is owed after it
/// (read under the batch's own lock).
pub(super) fn run_guarded(writer: &Mutex<Writer>, batch: Vec<Job>) -> Owed {
    let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut writer = lock(writer);
        writer.run_batch(batch);
        writer.owed()
    }));
    ran.unwrap_or_else(|_| {
        // The batch's callers see their replies dropped (`Closed`, a 500): nothing of it was
        // committed. A dead writer would fail every later write instead.
        tracing::error!("a write batch panicked; its commands failed, the writer carries on");
        lock(writer).owed()
    })
}

impl WriterHandle {
    /// Runs `command` in the next batch. When it is the only command in flight and the writer is
    /// free and has been quiet for a while, it runs at once on the calling thread instead: a single
    /// command has no batch to share, and the two thread hand-offs (to the writer, back to the
    /// caller) were a third of an idle server's time per request (measured with the TypeScript
    /// SDK's one-at-a-time calls). A panic then reaches the caller (a 500 for that request).
    /// Under load there is always something in flight, so commands queue and commit in groups.
    pub(crate) async fn submit(
        &self,
        command: Command,
        now: Timestamp,
    ) -> Result<Executed, StoreError> {
        let alone = self.in_flight.fetch_add(1, Ordering::AcqRel) == 0;
        let _counted = InFlight(self);
        if self.inline && alone && self.jobs.is_empty() && self.quiet_for(QUIET_BEFORE_INLINE) {
            // A poisoned writer is not taken here; `lock` rolls back what the panic left open.
            // A checkpoint's tail (fsyncs) is the writer's own business: while one is owed the
            // command queues, so the caller's thread never waits for a disk flush.
            if let Ok(mut writer) = self.writer.try_lock() {
                if !writer.owes_tail() {
                    return writer.run_one(command, now);
                }
            }
        }
        let (reply, answer) = reply::slot();
        self.jobs.send(Job::Run { command, now, reply }).await.map_err(|_| StoreError::Closed)?;
        reply::wait(answer).await
    }

    fn micros_since_open(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Whether no command was answered within `period`.
    fn quiet_for(&self, period: Duration) -> bool {
        match self.last_answered_us.load(Ordering::Acquire) {
            NEVER => true,
            last => self.micros_since_open().saturating_sub(last) >= period.as_micros() as u64,
        }
    }

    pub(crate) fn submit_blocking(
        &self,
        command: Command,
        now: Timestamp,
    ) -> Result<Executed, StoreError> {
        let (reply, answer) = reply::slot();
        self.jobs
            .send_blocking(Job::Run { command, now, reply })
            .map_err(|_| StoreError::Closed)?;
        reply::wait_blocking(answer)
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        let (reply, answer) = reply::slot();
        self.jobs.send(Job::Ping { reply }).await.map_err(|_| StoreError::Closed)?;
        reply::wait(answer).await
    }
}

impl WriterHandle {
    /// Refuses further commands and folds the WAL back into the database file once the batch in
    /// progress, if any, has committed (the lock).
    pub(crate) fn close(&self) {
        self.jobs.close();
        lock(&self.writer).truncate_wal();
    }
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        self.jobs.close();
        // A thread ends by itself once the queue is closed and empty, folding the WAL back on its
        // way out. A runtime may be shutting down and never poll its task again, so here that is
        // done at once.
        if self.on_runtime {
            self.close();
        }
    }
}

pub(super) struct Writer {
    connection: Connection,
    config: KernelConfig,
    tail: Tail,
    claimer: Claimer,
    health: WriteHealth,
    /// Set by a failed commit: the next batch waits a moment ([`BREATH`]).
    breath_owed: std::cell::Cell<bool>,
}

/// The pause after a failed commit, so a failing disk is not hammered in a tight loop.
pub(super) const BREATH: Duration = Duration::from_millis(1);

/// The outbox rows a batch queued, and which command queued each (`spans[i]` for command `i`).
#[derive(Default)]
struct Queued {
    messages: Vec<Message>,
    spans: Vec<Range<usize>>,
}

impl Queued {
    /// Runs one command with the list to note its rows in, and records which rows are its own.
    fn command<T>(&mut self, run: impl FnOnce(&mut Vec<Message>) -> T) -> T {
        let first = self.messages.len();
        let result = run(&mut self.messages);
        self.spans.push(first..self.messages.len());
        result
    }
}

/// Messages leased by the batch's transaction, to start once it commits.
type Leased = Option<(Box<dyn StartClaimed>, Vec<ClaimedMessage>)>;

/// The batch's latest clock reading: the instant its claims are made at.
fn latest(commands: &[(&Command, Timestamp)]) -> Timestamp {
    commands.iter().map(|(_, now)| *now).max().unwrap_or(Timestamp(0))
}

/// Rows inserted, updated or deleted on this connection since it opened (0 if unreadable).
fn total_changes(connection: &Connection) -> i64 {
    let mut statement = connection.prepare_cached("SELECT total_changes()");
    statement.as_mut().map_or(0, |statement| statement.query_row([], |row| row.get(0)).unwrap_or(0))
}

/// Starts what the commit leased. A panic there must not take the writer (whose batch is
/// committed but not yet answered) with it; the leases then expire and the pass redelivers.
fn start_leased(leased: Leased) {
    if let Some((start, claimed)) = leased {
        if std::panic::catch_unwind(AssertUnwindSafe(|| start.start(claimed))).is_err() {
            tracing::error!("starting deliveries leased by a commit panicked; their leases expire");
        }
    }
}

impl Writer {
    /// One command as a batch of its own, answered directly.
    fn run_one(&mut self, command: Command, now: Timestamp) -> Result<Executed, StoreError> {
        let (reply, mut answer) = reply::slot();
        self.run_batch(vec![Job::Run { command, now, reply }]);
        answer.try_recv().ok().flatten().unwrap_or(Err(StoreError::Closed))
    }

    /// What is owed before the next batch; a pause, once asked for, is owed once.
    fn owed(&self) -> Owed {
        Owed { tail: self.owes_tail(), breath: self.breath_owed.replace(false) }
    }

    /// Whether a checkpoint's tail waits for this writer ([`Tail`]).
    fn owes_tail(&self) -> bool {
        self.tail.is_pending()
    }

    /// Copies the frames a background checkpoint left, if it asked (between two batches).
    pub(super) fn finish_tail(&self) {
        self.tail.finish_on(&self.connection);
    }

    /// Folds the whole WAL back into the database file, on the way out.
    fn truncate_wal(&self) {
        let _ = self.connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    }

    /// Answers the pings, then commits every command of the batch in one transaction and replies
    /// to each only after that commit: one fsync serves the whole batch.
    fn run_batch(&mut self, batch: Vec<Job>) {
        let mut runs = Vec::with_capacity(batch.len());
        for job in batch {
            match job {
                Job::Run { command, now, reply } => runs.push((command, now, reply)),
                Job::Ping { reply } => reply::send(reply, self.ping()),
            }
        }
        if runs.is_empty() {
            return;
        }
        let commands: Vec<(&Command, Timestamp)> =
            runs.iter().map(|(command, now, _)| (command, *now)).collect();
        #[cfg(test)]
        panic_on_request(&commands);
        // Only asked while writes are failing: the healthy path pays nothing for it.
        let changes_before = self.health.is_failing().then(|| total_changes(&self.connection));
        let results = match self.transaction(&commands) {
            Ok(results) => results,
            Err(error) => vec![Err(error); commands.len()],
        };
        let wrote = changes_before.is_none_or(|before| total_changes(&self.connection) > before);
        self.note_health(&results, wrote);
        for ((_, _, reply), result) in runs.into_iter().zip(results) {
            reply::send(reply, result);
        }
    }

    /// A command the storage could not write (its own savepoint failed, or the whole batch) is a
    /// failing write. A batch that committed rows ends a failure; one that changed nothing (a
    /// timeout pass with nothing due) proves nothing about the disk.
    fn note_health(&mut self, results: &[Result<Executed, StoreError>], wrote: bool) {
        let storage_failure = results.iter().find_map(|result| match result {
            Err(error @ (StoreError::Unavailable(_) | StoreError::Corrupt(_))) => Some(error),
            _ => None,
        });
        match storage_failure {
            Some(error) => self.health.failed(error, Instant::now()),
            // No clock read on the healthy path: there is nothing to end.
            None if wrote && self.health.is_failing() => self.health.committed(Instant::now()),
            None => {}
        }
    }

    /// Readiness: the connection answers and, after a failed commit, a commit works again.
    fn ping(&mut self) -> Result<(), StoreError> {
        let connection = &self.connection;
        self.health.ready(Instant::now(), || probe_write(connection))?;
        connection.query_row("SELECT 1", [], |_| Ok(())).map_err(unavailable)
    }

    /// One transaction for the batch. Commands first run without savepoints (each costs two
    /// statements, ~6 % of a request's instructions); should one fail, the transaction is rolled
    /// back and the batch re-run with a savepoint per command, so a failing command is rolled back
    /// alone while its neighbours commit. Re-running is sound: nothing was committed and the
    /// kernel is deterministic, so the same commands on the same rows give the same replies.
    /// `Err` means nothing was committed.
    fn transaction(
        &mut self,
        commands: &[(&Command, Timestamp)],
    ) -> Result<Vec<Result<Executed, StoreError>>, StoreError> {
        if let Some(results) = self.optimistic(commands)? {
            return Ok(results);
        }
        self.begin()?;
        let mut results = Vec::with_capacity(commands.len());
        let mut queued = Queued::default();
        for (command, now) in commands {
            let result =
                queued.command(|noted| retry_conflicts(|| self.savepoint(command, *now, noted)));
            // Some failures (I/O error, disk full) make SQLite abandon the whole transaction; the
            // earlier commands' writes are then gone too, so none of them may be acknowledged.
            if self.connection.is_autocommit() {
                let reason = result.err().map_or_else(|| "unknown".to_owned(), |e| e.message);
                return Err(StoreError::Unavailable(format!("transaction aborted: {reason}")));
            }
            results.push(result.map_err(StoreError::from));
        }
        self.commit_claiming(&queued, &mut results, commands)?;
        Ok(results)
    }

    /// The batch without savepoints: `Ok(None)` when a command failed (nothing is kept, the caller
    /// re-runs the batch command by command), `Err` when the commit failed.
    fn optimistic(
        &mut self,
        commands: &[(&Command, Timestamp)],
    ) -> Result<Option<Vec<Result<Executed, StoreError>>>, StoreError> {
        self.begin()?;
        let mut results = Vec::with_capacity(commands.len());
        let mut queued = Queued::default();
        for (command, now) in commands {
            let txn = &mut SqliteTxn { conn: &self.connection };
            let config = &self.config;
            match queued.command(|noted| run_command_noting(txn, command, *now, config, noted)) {
                Ok(executed) => results.push(Ok(executed)),
                Err(_) => {
                    if !self.connection.is_autocommit() {
                        self.connection.execute_batch("ROLLBACK").map_err(unavailable)?;
                    }
                    return Ok(None);
                }
            }
        }
        self.commit_claiming(&queued, &mut results, commands)?;
        Ok(Some(results))
    }

    /// Leases what the claimer takes of the batch's new messages, commits, and only then starts
    /// their deliveries.
    fn commit_claiming(
        &mut self,
        queued: &Queued,
        results: &mut [Result<Executed, StoreError>],
        commands: &[(&Command, Timestamp)],
    ) -> Result<(), StoreError> {
        let leased = self.claim_queued(queued, results, latest(commands));
        self.commit()?;
        start_leased(leased);
        Ok(())
    }

    fn begin(&self) -> Result<(), StoreError> {
        self.statement("BEGIN IMMEDIATE").map_err(|error| StoreError::Unavailable(error.message))
    }

    fn commit(&self) -> Result<(), StoreError> {
        if let Err(error) = self.statement("COMMIT") {
            let _ = self.connection.execute_batch("ROLLBACK");
            // Whatever broke the commit (a full disk, an I/O error) deserves a breath before the
            // next batch tries again; whoever runs the writer takes it (`take_breath`), a task
            // without blocking its runtime's thread.
            self.breath_owed.set(true);
            return Err(StoreError::Unavailable(error.message));
        }
        Ok(())
    }

    /// Runs one command inside a savepoint, which is released on success and rolled back on error.
    fn savepoint(
        &self,
        command: &Command,
        now: Timestamp,
        queued: &mut Vec<Message>,
    ) -> TxnResult<Executed> {
        // Outside the batch's transaction a SAVEPOINT would open a new one, and a retry would
        // commit this command while the earlier ones of the batch were lost.
        if self.connection.is_autocommit() {
            return Err(TxnError::new(TxnErrorKind::Unavailable, "the batch's transaction ended"));
        }
        self.statement("SAVEPOINT job")?;
        let txn = &mut SqliteTxn { conn: &self.connection };
        let result = run_command_noting(txn, command, now, &self.config, queued);
        if self.connection.is_autocommit() {
            return result;
        }
        let closed = match result {
            Ok(_) => self.statement("RELEASE job"),
            Err(_) => {
                self.statement("ROLLBACK TO job").and_then(|()| self.statement("RELEASE job"))
            }
        };
        if let Err(error) = closed {
            // A savepoint we cannot close could carry a failed command's writes into the commit,
            // or commit a command whose caller is told it failed: give up the whole batch.
            let _ = self.connection.execute_batch("ROLLBACK");
            return Err(error);
        }
        result
    }

    /// Offers the batch's queued messages to the claimer and leases what it takes, in a savepoint
    /// of the open transaction. A command whose every message was leased no longer reports queued
    /// messages: nothing is left for a dispatcher pass to find. On any failure nothing is leased
    /// and the messages stay due for the dispatcher.
    fn claim_queued(
        &self,
        queued: &Queued,
        results: &mut [Result<Executed, StoreError>],
        now: Timestamp,
    ) -> Leased {
        let claimer = self.claimer.get().filter(|_| !queued.messages.is_empty())?;
        // A panicking claimer costs the fast path, not the batch.
        let plan =
            std::panic::catch_unwind(AssertUnwindSafe(|| claimer.plan(&queued.messages, now)))
                .unwrap_or_else(|_| {
                    tracing::error!(
                        "claiming on commit panicked; the messages stay due for the pass"
                    );
                    None
                })?;
        let command = Command::ClaimMessages {
            claims: plan.claims,
            parks: Vec::new(),
            park_until: now,
            drops: Vec::new(),
            lease_until: plan.lease_until,
        };
        let Ok(Executed { reply: Reply::ClaimMessages(claimed), .. }) =
            self.savepoint(&command, now, &mut Vec::new())
        else {
            return None;
        };
        let leased: BTreeSet<_> = claimed.iter().map(|message| &message.key).collect();
        for (result, span) in results.iter_mut().zip(&queued.spans) {
            if let Ok(executed) = result {
                let messages = &queued.messages[span.clone()];
                executed.queued_messages = messages.iter().any(|m| !leased.contains(&m.key()));
            }
        }
        Some((plan.start, claimed))
    }

    fn statement(&self, sql: &str) -> TxnResult<()> {
        let mut statement = self.connection.prepare_cached(sql).map_err(sql_error)?;
        statement.execute([]).map(|_| ()).map_err(sql_error)
    }
}

/// A promise id that makes a batch panic, for the tests of what a panic leaves behind.
#[cfg(test)]
pub(crate) const PANIC_ID: &str = "test.panic-in-batch";

#[cfg(test)]
fn panic_on_request(commands: &[(&Command, Timestamp)]) {
    let asks = |command: &Command| matches!(command, Command::PromiseCreate(c) if c.id == PANIC_ID);
    if commands.iter().any(|(command, _)| asks(command)) {
        panic!("injected panic inside a write batch");
    }
}

/// Runs `commands` as one batch on `connection`, exactly as the writer thread would, and returns
/// the connection with each command's result (tests build batches deterministically this way).
#[cfg(test)]
pub(crate) fn run_one_batch(
    connection: Connection,
    config: KernelConfig,
    commands: Vec<(Command, Timestamp)>,
) -> (Connection, Vec<Result<Executed, StoreError>>) {
    run_one_batch_claiming(connection, config, commands, Claimer::default())
}

/// [`run_one_batch`] with a claimer offered the batch's new messages.
#[cfg(test)]
pub(crate) fn run_one_batch_claiming(
    connection: Connection,
    config: KernelConfig,
    commands: Vec<(Command, Timestamp)>,
    claimer: Claimer,
) -> (Connection, Vec<Result<Executed, StoreError>>) {
    let health = WriteHealth::default();
    let breath_owed = std::cell::Cell::new(false);
    let mut writer =
        Writer { connection, config, tail: Tail::default(), claimer, health, breath_owed };
    let mut answers = Vec::new();
    let mut batch = Vec::new();
    for (command, now) in commands {
        let (reply, answer) = reply::slot();
        batch.push(Job::Run { command, now, reply });
        answers.push(answer);
    }
    writer.run_batch(batch);
    let results = answers
        .into_iter()
        .map(|mut answer| answer.try_recv().ok().flatten().unwrap_or(Err(StoreError::Closed)))
        .collect();
    (writer.connection, results)
}
