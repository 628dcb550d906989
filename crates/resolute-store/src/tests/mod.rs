//! The store test suites: one conformance suite for every backend, a differential run of the
//! kernel on MemStore against SQLite, durability and migrations, WAL bounds, lease times, and group commit on a
//! thread or on the runtime.

use resolute_core::{Command, KernelConfig, Reply, Timestamp};

use crate::{MemStore, SqliteStore};

mod checkpoint;
mod commit_claims;
mod conformance;
mod differential;
mod durability;
mod inline;
mod leases;
mod requeue;
mod runtime_writer;
mod writer;

/// Runs one command at a time (in ms) against a store, returning its reply.
pub(crate) type Run<'a> = Box<dyn Fn(Command, i64) -> Reply + 'a>;

/// Plays `scenario` on a fresh MemStore, then on a fresh SQLite file: both must pass it.
pub(crate) fn on_mem_and_sqlite(scenario: impl Fn(&str, &Run<'_>)) {
    let mem = MemStore::new(KernelConfig::default());
    let run: Run<'_> =
        Box::new(|command, now| mem.execute_now(&command, Timestamp(now)).expect("mem").reply);
    scenario("mem", &run);
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = SqliteStore::open(dir.path().join("s.db"), KernelConfig::default()).expect("open");
    let run: Run<'_> = Box::new(|command, now| {
        sqlite.execute_blocking(command, Timestamp(now)).expect("sqlite").reply
    });
    scenario("sqlite", &run);
}

/// Creates the targeted promise `job` (and so its task and execute) at time 0.
pub(crate) fn create_targeted_job(run: &Run<'_>) {
    let tags = [(resolute_core::TAG_TARGET.to_owned(), "poll://any@w".to_owned())].into();
    let create = resolute_core::command::CreatePromise {
        id: "job".into(),
        timeout_at: Timestamp(1_000_000),
        param: Default::default(),
        tags,
    };
    run(Command::PromiseCreate(create), 0);
}
