//! Dispatch: moving outbox messages to workers, per target lane, event-driven with a durable
//! reconciliation pass as the safety net.
//!
//! The outbox table is the truth. A pass reads due messages, takes a lane slot for each one it can
//! deliver now, claims those durably (a lease on the row, never a delete) and parks the rest; a
//! delivery ends by deleting its row (handed off) or scheduling a retry with back-off. Passes run
//! when a commit queued a message, a worker connected or a slot freed, and every second anyway.

pub mod backlog;
mod pass;
pub mod push;

pub use pass::{DispatchConfig, Dispatcher, PUSH_SLOTS_PER_TARGET};

#[cfg(test)]
pub(crate) mod tests;
