//! WAL checkpoints, split so that the WAL stays bounded under load without stalling commits.
//!
//! The bulk of a checkpoint (copying WAL frames into the database file, and its fsyncs) runs on a
//! thread of its own, so it never runs inside a commit. But SQLite rewinds the WAL to its start
//! only when a write begins with *every* frame already copied, and a writer that commits all the
//! time always adds frames while the background pass runs: measured under a steady load, the WAL
//! then grew by ~60 MB/s without end (600 MB after 10 s), and every page lookup in its index got
//! slower with it. So after each background pass the writer, between two batches, copies the few
//! frames committed during that pass itself ([`Tail`]); its next transaction then starts the WAL
//! over. The WAL is thereby bounded by what is written in about two checkpoint intervals.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::streak::FailureStreak;
use crate::StoreError;

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

/// Raised by the background pass, taken by the writer: "most frames are copied, finish the rest".
#[derive(Clone, Default)]
pub(crate) struct Tail {
    pending: Arc<AtomicBool>,
}

impl Tail {
    fn raise(&self) {
        self.pending.store(true, Ordering::Release);
    }

    /// Whether a background pass asked for its tail and the writer has not run it yet.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Called by the writer between batches, on its own connection: when a background pass has
    /// completed since the last call, copies what was committed meanwhile so that the next
    /// transaction rewinds the WAL. Cheap: the frames of a few milliseconds and two small fsyncs.
    pub(crate) fn finish_on(&self, writer: &Connection) {
        if self.pending.swap(false, Ordering::AcqRel) {
            // Busy (a reader on an old snapshot) just means the next pass tries again.
            let _ = passive_checkpoint(writer);
        }
    }
}

/// Starts the checkpointer for a file database; `None` for `:memory:` (nothing to checkpoint).
/// Failing to start is an error: without it the WAL would grow without bound, silently.
pub(crate) fn start(path: &Path, tail: Tail) -> Result<Option<Checkpointer>, StoreError> {
    if super::is_memory(path) {
        return Ok(None);
    }
    let connection = Connection::open(path).map_err(super::schema::unavailable)?;
    connection.busy_timeout(Duration::from_secs(1)).map_err(super::schema::unavailable)?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("resolute-sqlite-checkpoint".into())
        .spawn(move || {
            let mut failures = FailureStreak::new("the WAL checkpoint (the WAL grows meanwhile)");
            while !stopped.load(Ordering::Acquire) {
                std::thread::sleep(CHECKPOINT_INTERVAL);
                match passive_checkpoint(&connection) {
                    Ok(frames_in_wal) => {
                        failures.succeed(Instant::now());
                        if frames_in_wal > 0 {
                            tail.raise();
                        }
                    }
                    // A busy database just means "next time".
                    Err(error) if error.to_string().contains("locked") => {}
                    Err(error) => failures.fail(&error, Instant::now()),
                }
            }
        })
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot start the checkpointer: {error}"))
        })?;
    Ok(Some(Checkpointer { stop }))
}

/// Runs a passive checkpoint and returns how many frames the WAL holds.
fn passive_checkpoint(connection: &Connection) -> rusqlite::Result<i64> {
    // Columns: busy, frames in the WAL, frames checkpointed.
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
}
