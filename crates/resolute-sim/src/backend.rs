//! The store under test: the MemStore reference state always, SQLite `:memory:` alongside for
//! some seeds, and a `Txn` decorator that fails a chosen read or write so the command rolls back.
//!
//! The reference state is `MemState`, the table maps `MemStore` wraps, held directly: `MemStore`
//! copies all of its state for every command to be able to roll back, which would make that
//! copy most of the simulator's time. Here only a command with an injected failure pays for a
//! copy; rolling back restores it, exactly what `MemStore::transaction` does.

use std::cell::Cell;

use resolute_core::command::{PromiseQuery, ScheduleQuery, TaskQuery};
use resolute_core::reply::{LaneBacklog, Snapshot};
use resolute_core::txn::TxnResult;
use resolute_core::{
    Callback, Command, KernelConfig, Message, MessageKey, Promise, Reply, Schedule, Task,
    TimerKind, Timestamp, Txn, TxnError, TxnErrorKind, Write,
};
use resolute_store::{run_command_noting, Executed, MemState, SqliteStore};

/// A fault to inject into one command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injection {
    None,
    /// The `n`-th store operation (read or write, from 0) fails; nothing is committed.
    FailAt(usize),
    /// The command commits but the caller sees an error.
    LoseReply,
}

/// Why a command did not give its caller a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecError {
    /// Rolled back: nothing changed.
    RolledBack,
    /// Committed, but the reply never arrived.
    ReplyLost,
    /// The backends disagreed, or one failed without an injected fault: a finding, not a fault.
    Divergence(String),
}

pub struct Backend {
    mem: MemState,
    sqlite: Option<SqliteStore>,
    config: KernelConfig,
    /// Outbox rows queued by committed commands and not yet offered for a claim on commit.
    fresh: Vec<Message>,
}

impl Backend {
    pub fn new(config: KernelConfig, with_sqlite: bool) -> Backend {
        let sqlite = with_sqlite
            .then(|| SqliteStore::open(":memory:", config.clone()).expect("sqlite :memory: opens"));
        Backend { mem: MemState::default(), sqlite, config, fresh: Vec::new() }
    }

    pub fn has_sqlite(&self) -> bool {
        self.sqlite.is_some()
    }

    /// Runs `command` at `now` on every backend, failing as `injection` says.
    pub fn execute(
        &mut self,
        command: &Command,
        now: Timestamp,
        injection: Injection,
    ) -> Result<Executed, ExecError> {
        let mut queued = Vec::new();
        let executed = match injection {
            Injection::FailAt(index) => self.execute_failing(command, now, index, &mut queued)?,
            _ => run_command_noting(&mut self.mem, command, now, &self.config, &mut queued)
                .map_err(|error| {
                    ExecError::Divergence(format!("memstore failed without a fault: {error}"))
                })?,
        };
        // Committed (a lost reply included): what it queued is offered to the claim on commit.
        self.fresh.append(&mut queued);
        if let Some(sqlite) = &self.sqlite {
            match sqlite.execute_blocking(command.clone(), now) {
                Ok(other) if other == executed => {}
                Ok(other) => {
                    return Err(ExecError::Divergence(format!(
                        "sqlite replied {:?}, memstore {:?}",
                        other.reply, executed.reply
                    )))
                }
                Err(error) => return Err(ExecError::Divergence(format!("sqlite failed: {error}"))),
            }
        }
        match injection {
            Injection::LoseReply => Err(ExecError::ReplyLost),
            _ => Ok(executed),
        }
    }

    /// Runs the command through the failing decorator on a copy, kept only if it succeeds (the
    /// injected operation may lie beyond the command's last one).
    fn execute_failing(
        &mut self,
        command: &Command,
        now: Timestamp,
        fail_at: usize,
        queued: &mut Vec<Message>,
    ) -> Result<Executed, ExecError> {
        let mut working = self.mem.clone();
        let mut faulty = Faulty { inner: &mut working, fail_at: Some(fail_at), used: Cell::new(0) };
        match run_command_noting(&mut faulty, command, now, &self.config, queued) {
            Ok(executed) => {
                self.mem = working;
                Ok(executed)
            }
            Err(error) if error.kind == TxnErrorKind::Unavailable => Err(ExecError::RolledBack),
            Err(error) => Err(ExecError::Divergence(format!("memstore failed: {error}"))),
        }
    }

    /// The rows committed commands queued since the last call.
    pub fn take_fresh(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.fresh)
    }

    /// The reference snapshot (MemStore), read the way `debug.snap` reads it.
    pub fn snapshot(&self) -> Snapshot {
        self.mem.snapshot().unwrap_or_default()
    }

    /// Compares SQLite's snapshot with MemStore's; `None` when they agree or there is no SQLite.
    pub fn compare_snapshots(&self, now: Timestamp) -> Option<String> {
        let sqlite = self.sqlite.as_ref()?;
        let expected = Reply::DebugSnap(Box::new(self.snapshot()));
        match sqlite.execute_blocking(Command::DebugSnap, now) {
            Ok(actual) if actual.reply == expected => None,
            Ok(actual) => Some(describe_difference(&expected, &actual.reply)),
            Err(error) => Some(format!("sqlite snapshot failed: {error}")),
        }
    }
}

fn describe_difference(expected: &Reply, actual: &Reply) -> String {
    let (Reply::DebugSnap(mem), Reply::DebugSnap(sql)) = (expected, actual) else {
        return "snapshot replies of different kinds".to_owned();
    };
    let tables = [
        ("promises", format!("{:?}", mem.promises), format!("{:?}", sql.promises)),
        ("tasks", format!("{:?}", mem.tasks), format!("{:?}", sql.tasks)),
        ("callbacks", format!("{:?}", mem.callbacks), format!("{:?}", sql.callbacks)),
        ("listeners", format!("{:?}", mem.listeners), format!("{:?}", sql.listeners)),
        ("messages", format!("{:?}", mem.messages), format!("{:?}", sql.messages)),
        ("schedules", format!("{:?}", mem.schedules), format!("{:?}", sql.schedules)),
    ];
    let differing: Vec<&str> =
        tables.iter().filter(|(_, left, right)| left != right).map(|(name, _, _)| *name).collect();
    format!("memstore and sqlite snapshots differ in {differing:?}")
}

/// Passes every call through, except that the `fail_at`-th one reports the store unavailable.
struct Faulty<'a> {
    inner: &'a mut dyn Txn,
    fail_at: Option<usize>,
    used: Cell<usize>,
}

impl Faulty<'_> {
    fn check(&self) -> TxnResult<()> {
        let index = self.used.get();
        self.used.set(index + 1);
        if self.fail_at == Some(index) {
            return Err(TxnError::new(
                TxnErrorKind::Unavailable,
                format!("injected failure at store operation {index}"),
            ));
        }
        Ok(())
    }
}

impl Txn for Faulty<'_> {
    fn promise(&self, id: &str) -> TxnResult<Option<Promise>> {
        self.check()?;
        self.inner.promise(id)
    }
    fn task(&self, id: &str) -> TxnResult<Option<Task>> {
        self.check()?;
        self.inner.task(id)
    }
    fn callback(&self, awaited: &str, awaiter: &str) -> TxnResult<Option<Callback>> {
        self.check()?;
        self.inner.callback(awaited, awaiter)
    }
    fn callbacks_on(&self, awaited: &str) -> TxnResult<Vec<Callback>> {
        self.check()?;
        self.inner.callbacks_on(awaited)
    }
    fn listeners(&self, promise_id: &str) -> TxnResult<Vec<String>> {
        self.check()?;
        self.inner.listeners(promise_id)
    }
    fn branch_promises(&self, branch: &str) -> TxnResult<Vec<Promise>> {
        self.check()?;
        self.inner.branch_promises(branch)
    }
    fn expired_promises(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Promise>> {
        self.check()?;
        self.inner.expired_promises(now, limit)
    }
    fn due_tasks(&self, kind: TimerKind, now: Timestamp, limit: usize) -> TxnResult<Vec<Task>> {
        self.check()?;
        self.inner.due_tasks(kind, now, limit)
    }
    fn schedule(&self, id: &str) -> TxnResult<Option<Schedule>> {
        self.check()?;
        self.inner.schedule(id)
    }
    fn due_schedules(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Schedule>> {
        self.check()?;
        self.inner.due_schedules(now, limit)
    }
    fn search_promises(&self, query: &PromiseQuery) -> TxnResult<Vec<Promise>> {
        self.check()?;
        self.inner.search_promises(query)
    }
    fn search_tasks(&self, query: &TaskQuery) -> TxnResult<Vec<Task>> {
        self.check()?;
        self.inner.search_tasks(query)
    }
    fn search_schedules(&self, query: &ScheduleQuery) -> TxnResult<Vec<Schedule>> {
        self.check()?;
        self.inner.search_schedules(query)
    }
    fn due_messages(
        &self,
        now: Timestamp,
        limit: usize,
        lanes: &resolute_core::command::DueFilter,
    ) -> TxnResult<Vec<Message>> {
        self.check()?;
        self.inner.due_messages(now, limit, lanes)
    }
    fn message(&self, key: &MessageKey) -> TxnResult<Option<Message>> {
        self.check()?;
        self.inner.message(key)
    }
    fn lane_backlogs(&self, limit: usize) -> TxnResult<Vec<LaneBacklog>> {
        self.check()?;
        self.inner.lane_backlogs(limit)
    }
    fn snapshot(&self) -> TxnResult<Snapshot> {
        self.check()?;
        self.inner.snapshot()
    }
    fn write(&mut self, write: Write) -> TxnResult<()> {
        self.check()?;
        self.inner.write(write)
    }
}
