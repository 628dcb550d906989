//! Connection settings and versioned migrations of the SQLite schema.
//!
//! Durability: the writer replies only after `COMMIT` returns. With `synchronous=FULL` (this
//! crate's default, [`Synchronous::default`]) SQLite fsyncs the WAL at each commit, so an
//! acknowledged write survives `kill -9`, a kernel crash and a power loss. The fsync costs up to
//! milliseconds, which is why the writer commits a whole batch at once (group commit, `writer.rs`):
//! one fsync serves every request of the batch. `synchronous=NORMAL` skips that fsync: an
//! acknowledged write then survives `kill -9` (the WAL frames are in the operating system's page
//! cache, which outlives the process) but not a power loss. `resolute serve` asks for `NORMAL`
//! unless told otherwise (`--storage-sqlite-synchronous`), as Resonate's server does; the README
//! says what `full` adds.

use rusqlite::Connection;

use crate::error::StoreError;

/// Every migration in order; the database's `user_version` counts how many were applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_outbox_queued_at.sql"),
    include_str!("../../migrations/sqlite/0003_lease_progress.sql"),
    include_str!("../../migrations/sqlite/0004_without_rowid.sql"),
];

const STATEMENT_CACHE_CAPACITY: usize = 128;

/// Page size of a new database file (an existing file keeps its own). Every commit appends each
/// page it dirtied to the WAL, and a promise write dirties a few pages whatever their size, so
/// smaller pages mean fewer bytes written, checkpointed and fsynced per request. Measured with
/// loadgen `promises` at 8 clients (two runs each): 2 KiB pages halved the WAL and the checkpoint
/// I/O wait against SQLite's 4 KiB default and cut the worst request from 23–61 ms to 11–17 ms, at
/// the same throughput; 1 KiB pages went further on both but make every value over ~1 KiB an
/// overflow chain, which costs reads.
const PAGE_SIZE: u32 = 2048;

/// How hard a commit pushes to stable storage before the writer replies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Survives `kill -9` of the server (the OS still holds the WAL), not a power loss.
    Normal,
    /// Also survives power loss: the WAL is fsynced at every commit.
    #[default]
    Full,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// Checkpoints run on their own connection and thread, the tail of each between two batches of the
/// writer (`checkpoint.rs`), never inside a commit.
pub(crate) fn configure(
    connection: &Connection,
    synchronous: Synchronous,
) -> Result<(), StoreError> {
    // About 40 distinct statements (more with search filters); the default cache holds 16, which
    // would re-prepare statements on every command.
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    connection.pragma_update(None, "page_size", PAGE_SIZE).map_err(unavailable)?;
    connection.pragma_update(None, "synchronous", synchronous.pragma()).map_err(unavailable)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA busy_timeout = 5000;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -16000;
             PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(unavailable)
}

/// Applies the migrations this database lacks, in one transaction each.
pub(crate) fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let applied: usize = connection
        .query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
        .map_err(unavailable)?
        .try_into()
        .map_err(|_| StoreError::Corrupt("negative schema version".into()))?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "database schema version {applied} is newer than this resolute supports ({})",
            MIGRATIONS.len()
        )));
    }
    let fresh = applied == 0;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        // Some migrations rebuild tables, which takes a while on a large file: say so, so that a
        // slow start after an upgrade is not mistaken for a hang.
        if !fresh {
            tracing::info!(version = index + 1, "migrating the SQLite schema");
        }
        let transaction = connection.transaction().map_err(unavailable)?;
        transaction.execute_batch(migration).map_err(unavailable)?;
        transaction.pragma_update(None, "user_version", index + 1).map_err(unavailable)?;
        transaction.commit().map_err(unavailable)?;
        if !fresh {
            // The two lines' timestamps tell how long it took (no clock is read below the edge).
            tracing::info!(version = index + 1, "SQLite schema migrated");
        }
    }
    Ok(())
}

pub(crate) fn unavailable(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// The number of migrations this build knows.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}
