//! WAL checkpoints on a thread of their own, so that copying the WAL into the database never runs
//! inside a commit (SQLite's automatic checkpoint would stall the writer and every request waiting
//! on it). A passive checkpoint never blocks the writer; it copies what it can.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

/// How often the WAL is folded back into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Stops the checkpointer when dropped.
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Starts the checkpointer for a file database; `None` for `:memory:` (nothing to checkpoint).
pub(crate) fn start(path: &Path) -> Option<Checkpointer> {
    if super::is_memory(path) {
        return None;
    }
    let connection = Connection::open(path).ok()?;
    connection.busy_timeout(Duration::from_secs(1)).ok()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let spawned =
        std::thread::Builder::new().name("resolute-sqlite-checkpoint".into()).spawn(move || {
            while !stopped.load(Ordering::Acquire) {
                std::thread::sleep(CHECKPOINT_INTERVAL);
                if let Err(error) = connection.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                    // A busy database just means "next time"; anything else is worth a line.
                    if !error.to_string().contains("locked") {
                        eprintln!("resolute: WAL checkpoint failed: {error}");
                    }
                }
            }
        });
    spawned.ok().map(|_| Checkpointer { stop })
}
