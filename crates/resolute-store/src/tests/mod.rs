//! The store test suites: one conformance suite for every backend, a differential run of the
//! kernel on MemStore against SQLite, durability and migrations, WAL bounds, lease times, and group commit.

mod checkpoint;
mod commit_claims;
mod conformance;
mod differential;
mod durability;
mod inline;
mod leases;
mod requeue;
mod writer;
