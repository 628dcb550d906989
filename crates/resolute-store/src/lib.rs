//! Storage for resolute: dumb backends behind the kernel's `Txn` trait, and the async `Store`
//! facade the edge calls. No protocol rule lives here: reads filter and sort, each `Write` is one
//! statement.

mod error;
mod facade;
mod mem;
mod memstore;
#[cfg(feature = "postgres")]
pub mod postgres;
mod read_cache;
mod reply;
pub mod sqlite;
pub mod streak;
pub mod workload;

pub use error::StoreError;
pub use facade::{
    retry_conflicts, run_command, run_command_noting, ClaimOnCommit, CommitClaims, Executed,
    StartClaimed, Store, StoreFuture, CONFLICT_ATTEMPTS_MAX,
};
pub use mem::MemState;
pub use memstore::MemStore;
#[cfg(feature = "postgres")]
pub use postgres::{PgConfig, PgStore};
pub use sqlite::SqliteStore;

#[cfg(test)]
mod tests;
