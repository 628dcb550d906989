//! Versioned migrations of the PostgreSQL schema, safe when several nodes start at once: the
//! whole check-and-apply runs in one transaction holding a transaction-level advisory lock, so a
//! second node waits, then finds the work done.

use postgres::Client;

use crate::error::StoreError;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_lease_progress.sql"),
];

/// Any fixed number unique to resolute's migrations ("resolute" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x7265_736f_6c75_7465;

pub(crate) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(unavailable)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(unavailable)?;
    // Checked first, because `CREATE TABLE IF NOT EXISTS` on an existing table sends a NOTICE
    // that the client library logs at every start of every node.
    let exists: bool = tx
        .query_one("SELECT to_regclass('resolute_migrations') IS NOT NULL", &[])
        .map_err(unavailable)?
        .get(0);
    if !exists {
        tx.batch_execute(
            "CREATE TABLE resolute_migrations \
             (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .map_err(unavailable)?;
    }
    let row = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM resolute_migrations", &[])
        .map_err(unavailable)?;
    let applied: i64 = row.get(0);
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if applied > known {
        return Err(StoreError::Corrupt(format!(
            "database schema version {applied} is newer than this resolute supports ({known})"
        )));
    }
    for (version, migration) in
        (1_i64..).zip(MIGRATIONS).skip(usize::try_from(applied).unwrap_or(0))
    {
        tx.batch_execute(migration).map_err(unavailable)?;
        tx.execute("INSERT INTO resolute_migrations (version) VALUES ($1)", &[&version])
            .map_err(unavailable)?;
    }
    tx.commit().map_err(unavailable)
}

pub(crate) fn unavailable(error: postgres::Error) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// The number of migrations this build knows.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}
