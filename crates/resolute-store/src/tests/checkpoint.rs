//! The WAL stays bounded while the writer never pauses: a steady load must not grow it forever.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use resolute_core::command::CreatePromise;
use resolute_core::{Command, KernelConfig, Timestamp, Value};

use crate::{SqliteStore, Store};

/// Each promise carries this many bytes, so every create appends at least as much to the WAL.
const PARAM_BYTES: usize = 1500;
const WRITERS: usize = 4;
/// Several checkpoint intervals (250 ms) of uninterrupted commits.
const LOAD: Duration = Duration::from_millis(1500);

fn create(id: String) -> Command {
    let param = Value { headers: None, data: Some("x".repeat(PARAM_BYTES)) };
    Command::PromiseCreate(CreatePromise {
        id,
        timeout_at: Timestamp(i64::MAX),
        param,
        tags: Default::default(),
    })
}

#[test]
fn the_wal_is_rewound_under_a_load_that_never_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let store = Arc::new(SqliteStore::open(&path, KernelConfig::default()).unwrap());
    let (stop, created) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (store, stop, created) = (store.clone(), stop.clone(), created.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    store.execute_blocking(create(format!("w{writer}-{n}")), Timestamp(1)).unwrap();
                    created.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(LOAD);
    stop.store(true, Ordering::Relaxed);
    writers.into_iter().for_each(|writer| writer.join().unwrap());
    assert_rewound(&path, created.load(Ordering::Relaxed));
}

/// The same with the writer as a task on a current-thread runtime, which the load shares.
#[test]
fn the_wal_is_rewound_under_a_load_that_never_pauses_with_the_writer_on_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let home = crate::sqlite::WriterHome::Runtime(runtime.handle().clone());
    let normal = crate::sqlite::Synchronous::Normal;
    let store =
        Arc::new(SqliteStore::open_homed(&path, KernelConfig::default(), normal, home).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let created = runtime.block_on(async {
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (store, stop) = (store.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let command = create(format!("w{writer}-{n}"));
                        store.execute(command, Timestamp(1)).await.unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        tokio::time::sleep(LOAD).await;
        stop.store(true, Ordering::Relaxed);
        let mut created = 0;
        for writer in writers {
            created += writer.await.unwrap();
        }
        created
    });
    assert_rewound(&path, created);
}

fn assert_rewound(path: &std::path::Path, created: u64) {
    let written = created * PARAM_BYTES as u64;
    assert!(written > 2_000_000, "too little load to tell: {written} bytes");
    let rewinds = wal_checkpoint_sequence(path);
    assert!(rewinds >= 2, "the WAL was rewound {rewinds} times in {LOAD:?} of steady writes");
}

/// The WAL header's checkpoint sequence number: SQLite adds one each time it starts the WAL over.
fn wal_checkpoint_sequence(database: &std::path::Path) -> u32 {
    use std::io::Read;
    let mut header = [0u8; 16];
    let mut wal = std::fs::File::open(format!("{}-wal", database.display())).unwrap();
    wal.read_exact(&mut header).unwrap();
    u32::from_be_bytes([header[12], header[13], header[14], header[15]])
}
