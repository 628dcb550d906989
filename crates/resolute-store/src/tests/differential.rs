//! The kernel on MemStore and on SQLite must agree, reply for reply and row for row.

use resolute_core::{Command, KernelConfig, Timestamp};

use crate::workload::Workload;
use crate::{MemStore, SqliteStore};

const SEEDS: u64 = 8;
const STEPS: usize = 400;

#[test]
fn memstore_and_sqlite_agree_on_random_workloads() {
    for seed in 1..=SEEDS {
        let config = KernelConfig { retry_timeout_ms: 30_000 };
        let mem = MemStore::new(config.clone());
        let sqlite = SqliteStore::open(":memory:", config).expect("sqlite");
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
