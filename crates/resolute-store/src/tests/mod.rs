//! The store test suites: one conformance suite for every backend, and a differential run of the
//! kernel on MemStore against SQLite.

mod conformance;
mod differential;
mod durability;
