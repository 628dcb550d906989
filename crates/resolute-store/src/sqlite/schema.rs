//! Connection settings and versioned migrations of the SQLite schema.
//!
//! Durability: WAL with `synchronous=FULL` fsyncs the WAL at every commit, and the writer replies
//! only after `COMMIT` returns, so an acknowledged write survives `kill -9` of the server and a
//! power loss of the machine. Group commit (many requests per transaction) pays one fsync per batch.

use rusqlite::Connection;

use crate::error::StoreError;

/// Every migration in order; the database's `user_version` counts how many were applied.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/sqlite/0001_init.sql")];

pub(crate) fn configure(connection: &Connection) -> Result<(), StoreError> {
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -16000;",
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
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        let transaction = connection.transaction().map_err(unavailable)?;
        transaction.execute_batch(migration).map_err(unavailable)?;
        transaction
            .pragma_update(None, "user_version", index + 1)
            .map_err(unavailable)?;
        transaction.commit().map_err(unavailable)?;
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
