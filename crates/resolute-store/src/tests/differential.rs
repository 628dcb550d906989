//! The kernel on MemStore and on SQLite must agree, reply for reply and row for row, whether
//! SQLite runs commands one by one, many per group-commit batch, or reads on reader threads.

use resolute_core::{Command, KernelConfig, Timestamp};

use crate::facade::run_command_checking_cache;
use crate::sqlite::{open_connection, writer::run_one_batch, SqliteTxn, Synchronous};
use crate::workload::Workload;
use crate::{MemStore, SqliteStore};

const SEEDS: u64 = 8;
const STEPS: usize = 400;
/// Batches of 1 to this many commands: savepoints must make a batch behave like a sequence.
const BATCH_MAX: u64 = 24;

fn config() -> KernelConfig {
    KernelConfig { retry_timeout_ms: 30_000 }
}

/// Runs the seeded workloads on MemStore and on the SQLite store `open` makes, step by step.
fn agree_one_by_one(seeds: u64, open: impl Fn() -> SqliteStore) {
    for seed in 1..=seeds {
        let mem = MemStore::new(config());
        let sqlite = open();
        let mut workload = Workload::new(seed, Timestamp(1_000_000_000));
        for step in 0..STEPS {
            let command = workload.next_command();
            let now = workload.now;
            let expected = mem.execute_now(&command, now).expect("mem");
            let actual = sqlite.execute_blocking(command.clone(), now).expect("sqlite");
            assert_eq!(actual, expected, "seed {seed} step {step}: {command:?}");
        }
        let snapshot = sqlite.execute_blocking(Command::DebugSnap, workload.now).expect("snap");
        let expected = mem.execute_now(&Command::DebugSnap, workload.now).expect("snap");
        assert_eq!(snapshot.reply, expected.reply, "seed {seed}: final snapshots differ");
    }
}

#[test]
fn memstore_and_sqlite_agree_on_random_workloads() {
    agree_one_by_one(SEEDS, || SqliteStore::open(":memory:", config()).expect("sqlite"));
}

/// On a file, read-only commands are answered by the reader threads: they must see every write
/// acknowledged before them. (NORMAL only to keep the test fast; durability is not checked here.)
#[test]
fn reader_threads_see_every_acknowledged_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = std::cell::Cell::new(0);
    agree_one_by_one(3, || {
        counter.set(counter.get() + 1);
        let path = dir.path().join(format!("d{}.db", counter.get()));
        SqliteStore::open_with(path, config(), Synchronous::Normal).expect("sqlite file")
    });
}

#[test]
fn group_commit_batches_agree_with_memstore_run_one_by_one() {
    for seed in 1..=SEEDS {
        let mem = MemStore::new(config());
        let mut connection =
            open_connection(std::path::Path::new(":memory:"), Default::default()).expect("sqlite");
        let mut workload = Workload::new(seed, Timestamp(1_000_000_000));
        let mut steps = 0;
        while steps < STEPS {
            let size = 1 + workload.rng.below(BATCH_MAX) as usize;
            let batch: Vec<_> =
                (0..size).map(|_| (workload.next_command(), workload.now)).collect();
            let expected: Vec<_> = batch
                .iter()
                .map(|(command, now)| mem.execute_now(command, *now).expect("mem"))
                .collect();
            let (returned, actual) = run_one_batch(connection, config(), batch.clone());
            connection = returned;
            for (index, (actual, expected)) in actual.into_iter().zip(expected).enumerate() {
                let command = &batch[index].0;
                assert_eq!(actual, Ok(expected), "seed {seed} step {}: {command:?}", steps + index);
            }
            steps += size;
        }
        let snap = vec![(Command::DebugSnap, workload.now)];
        let (_, mut actual) = run_one_batch(connection, config(), snap);
        let expected = mem.execute_now(&Command::DebugSnap, workload.now).expect("snap");
        assert_eq!(actual.pop(), Some(Ok(expected)), "seed {seed}: final snapshots differ");
    }
}

/// The facade's read cache must answer exactly what the store would: seeded workloads run with
/// every cached answer compared to a fresh read, on MemStore and on SQLite (whose rows go through
/// encoding, so a promise remembered from its insert must equal the promise read back).
#[test]
fn the_read_cache_answers_what_the_store_would() {
    for seed in 1..=SEEDS * 4 {
        let mem = MemStore::new(config());
        let connection =
            open_connection(std::path::Path::new(":memory:"), Default::default()).expect("sqlite");
        let mut workload = Workload::new(seed, Timestamp(1_000_000_000));
        for step in 0..STEPS {
            let command = workload.next_command();
            let now = workload.now;
            let on_mem = mem
                .transaction(|txn| run_command_checking_cache(txn, &command, now, &config()))
                .expect("mem");
            let on_sqlite = run_command_checking_cache(
                &mut SqliteTxn { conn: &connection },
                &command,
                now,
                &config(),
            )
            .expect("sqlite");
            assert_eq!(on_sqlite, on_mem, "seed {seed} step {step}: {command:?}");
        }
    }
}
