//! The async face every backend shows the edge, and the one function that runs a command.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use resolute_core::command::Claim;
use resolute_core::reply::ClaimedMessage;
use resolute_core::txn::{Txn, TxnErrorKind, TxnResult};
use resolute_core::{Command, KernelConfig, Message, Reply, Timestamp, Write};

use crate::error::StoreError;
use crate::read_cache::ReadCache;

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A command's reply, and whether it queued messages (so the dispatcher should wake).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Executed {
    pub reply: Reply,
    pub queued_messages: bool,
}

/// A storage backend as the edge sees it.
pub trait Store: Send + Sync + 'static {
    /// Runs one command in a transaction at `now`; replies only after the commit is durable.
    fn execute(&self, command: Command, now: Timestamp) -> StoreFuture<'_, Executed>;
    /// A trivial round trip through the storage, for readiness.
    fn ping(&self) -> StoreFuture<'_, ()>;
    /// Whether other nodes share this storage: then no node may release another's leases.
    fn is_shared(&self) -> bool {
        false
    }
    /// Calls `wake` when another node queued messages (a hint; a single-node store never does).
    fn on_remote_change(&self, wake: Box<dyn Fn() + Send + Sync>) {
        let _ = wake;
    }
    /// Lets `claimer` lease messages in the very transaction that queues them (see
    /// [`ClaimOnCommit`]). A store that cannot (or is shared with other nodes) ignores it, and
    /// every message goes the dispatcher's way: due scan, then claim.
    fn claim_on_commit(&self, claimer: Arc<dyn ClaimOnCommit>) {
        let _ = claimer;
    }
    /// Finishes with the storage at a clean shutdown: later commands fail (`Closed`), and a file
    /// store folds its write-ahead log back, so that the database file alone holds every
    /// acknowledged write and a copy of it made while the server is stopped is a whole backup.
    fn close(&self) {}
}

/// The dispatcher's say over messages a batch has just queued, asked by a writer before it
/// commits. Leasing them in the same transaction saves the two round trips that would follow the
/// commit (a due scan on a reader, a claim on the writer), which were most of the time from a
/// create to its execute on the wire. What the claimer does not take stays due, and the commit
/// wakes the dispatcher for it as before.
pub trait ClaimOnCommit: Send + Sync {
    /// Which of `queued` to lease now; called on the writer's thread inside the open transaction,
    /// so it must answer at once. `None` takes none.
    fn plan(&self, queued: &[Message], now: Timestamp) -> Option<CommitClaims>;
}

/// Claims to run inside the transaction, and what to do once it commits.
pub struct CommitClaims {
    pub claims: Vec<Claim>,
    pub lease_until: Timestamp,
    /// Given the leased messages after the commit. Dropped unused (the claim or the commit
    /// failed), it must give back whatever it reserved.
    pub start: Box<dyn StartClaimed>,
}

/// Starts deliveries of messages leased by a commit.
pub trait StartClaimed: Send {
    fn start(self: Box<Self>, claimed: Vec<ClaimedMessage>);
}

/// How many times in all a command is run when the store reports a write conflict.
pub const CONFLICT_ATTEMPTS_MAX: usize = 4;

/// Runs `attempt` again while it fails with `Conflict`, at most `CONFLICT_ATTEMPTS_MAX` times in
/// all. Re-running is safe because a failed attempt left no trace and the kernel is deterministic.
pub fn retry_conflicts<T>(mut attempt: impl FnMut() -> TxnResult<T>) -> TxnResult<T> {
    let mut attempts = 1;
    loop {
        match attempt() {
            Err(error) if error.kind == TxnErrorKind::Conflict => {
                if attempts >= CONFLICT_ATTEMPTS_MAX {
                    return Err(error);
                }
                attempts += 1;
            }
            outcome => return outcome,
        }
    }
}

/// Wraps a transaction to notice writes that queue messages, and to read each promise and task
/// from the store at most once per command.
struct Watching<'a> {
    txn: &'a mut dyn Txn,
    queued_messages: bool,
    /// Where the queued rows are noted, when the caller wants them.
    noted: Option<&'a mut Vec<Message>>,
    cache: ReadCache,
}

/// Runs the kernel on an open transaction and reports whether it queued messages.
pub fn run_command(
    txn: &mut dyn Txn,
    command: &Command,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<Executed> {
    run_watching(txn, command, now, config, None)
}

/// [`run_command`], also appending each outbox row the command queued to `queued` (untouched when
/// the command fails).
pub fn run_command_noting(
    txn: &mut dyn Txn,
    command: &Command,
    now: Timestamp,
    config: &KernelConfig,
    queued: &mut Vec<Message>,
) -> TxnResult<Executed> {
    let mut noted = Vec::new();
    let executed = run_watching(txn, command, now, config, Some(&mut noted))?;
    queued.append(&mut noted);
    Ok(executed)
}

fn run_watching(
    txn: &mut dyn Txn,
    command: &Command,
    now: Timestamp,
    config: &KernelConfig,
    noted: Option<&mut Vec<Message>>,
) -> TxnResult<Executed> {
    run_with_cache(txn, command, now, config, noted, ReadCache::default())
}

/// [`run_command`] with every answer of the read cache compared to a fresh read (panics on a
/// difference): how the tests hold the cache to the store.
#[cfg(test)]
pub(crate) fn run_command_checking_cache(
    txn: &mut dyn Txn,
    command: &Command,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<Executed> {
    run_with_cache(txn, command, now, config, None, ReadCache::checked())
}

fn run_with_cache(
    txn: &mut dyn Txn,
    command: &Command,
    now: Timestamp,
    config: &KernelConfig,
    noted: Option<&mut Vec<Message>>,
    cache: ReadCache,
) -> TxnResult<Executed> {
    let mut watching = Watching { txn, queued_messages: false, noted, cache };
    let reply = resolute_core::execute(command, &mut watching, now, config)?;
    Ok(Executed { reply, queued_messages: watching.queued_messages })
}

impl Txn for Watching<'_> {
    fn promise(&self, id: &str) -> TxnResult<Option<resolute_core::Promise>> {
        let cache = &self.cache;
        let remember = |row: &Option<_>| cache.remember_promise(id, row);
        read_through(cache.promise(id), cache.is_checked(), || self.txn.promise(id), remember)
    }
    fn task(&self, id: &str) -> TxnResult<Option<resolute_core::Task>> {
        let cache = &self.cache;
        let remember = |row: &Option<_>| cache.remember_task(id, row);
        read_through(cache.task(id), cache.is_checked(), || self.txn.task(id), remember)
    }
    fn callback(&self, awaited: &str, awaiter: &str) -> TxnResult<Option<resolute_core::Callback>> {
        self.txn.callback(awaited, awaiter)
    }
    fn callbacks_on(&self, awaited: &str) -> TxnResult<Vec<resolute_core::Callback>> {
        self.txn.callbacks_on(awaited)
    }
    fn listeners(&self, promise_id: &str) -> TxnResult<Vec<String>> {
        self.txn.listeners(promise_id)
    }
    fn branch_promises(&self, branch: &str) -> TxnResult<Vec<resolute_core::Promise>> {
        self.txn.branch_promises(branch)
    }
    fn expired_promises(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> TxnResult<Vec<resolute_core::Promise>> {
        self.txn.expired_promises(now, limit)
    }
    fn due_tasks(
        &self,
        kind: resolute_core::TimerKind,
        now: Timestamp,
        limit: usize,
    ) -> TxnResult<Vec<resolute_core::Task>> {
        self.txn.due_tasks(kind, now, limit)
    }
    fn schedule(&self, id: &str) -> TxnResult<Option<resolute_core::Schedule>> {
        self.txn.schedule(id)
    }
    fn due_schedules(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> TxnResult<Vec<resolute_core::Schedule>> {
        self.txn.due_schedules(now, limit)
    }
    fn search_promises(
        &self,
        query: &resolute_core::command::PromiseQuery,
    ) -> TxnResult<Vec<resolute_core::Promise>> {
        self.txn.search_promises(query)
    }
    fn search_tasks(
        &self,
        query: &resolute_core::command::TaskQuery,
    ) -> TxnResult<Vec<resolute_core::Task>> {
        self.txn.search_tasks(query)
    }
    fn search_schedules(
        &self,
        query: &resolute_core::command::ScheduleQuery,
    ) -> TxnResult<Vec<resolute_core::Schedule>> {
        self.txn.search_schedules(query)
    }
    fn due_messages(
        &self,
        now: Timestamp,
        limit: usize,
        lanes: &resolute_core::command::DueFilter,
    ) -> TxnResult<Vec<resolute_core::Message>> {
        self.txn.due_messages(now, limit, lanes)
    }
    fn message(
        &self,
        key: &resolute_core::MessageKey,
    ) -> TxnResult<Option<resolute_core::Message>> {
        self.txn.message(key)
    }
    fn lane_backlogs(&self, limit: usize) -> TxnResult<Vec<resolute_core::reply::LaneBacklog>> {
        self.txn.lane_backlogs(limit)
    }
    fn snapshot(&self) -> TxnResult<resolute_core::reply::Snapshot> {
        self.txn.snapshot()
    }
    fn write(&mut self, write: Write) -> TxnResult<()> {
        self.cache.note(&write);
        self.queued_messages |= write.queues_message();
        if let Some(noted) = self.noted.as_deref_mut() {
            noted.extend(write.queued_message());
        }
        self.txn.write(write)
    }
}

/// One read through the command's cache: the row it knows, or the store's, then remembered.
/// `checked` compares a known row with a fresh read (tests only).
fn read_through<T: PartialEq + std::fmt::Debug>(
    known: Option<Option<T>>,
    checked: bool,
    read: impl Fn() -> TxnResult<Option<T>>,
    remember: impl FnOnce(&Option<T>),
) -> TxnResult<Option<T>> {
    if let Some(known) = known {
        if checked {
            assert_eq!(Ok(&known), read().as_ref(), "a cached row differs from the store's");
        }
        return Ok(known);
    }
    let row = read()?;
    remember(&row);
    Ok(row)
}
