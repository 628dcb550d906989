//! The pure kernel of resolute: every protocol rule lives here, once.
//!
//! A command is executed against a [`Txn`] (a transactional, synchronous view of the store) at a
//! time `now` given by the caller: `kernel::execute(&cmd, txn, now, &config) -> Reply`. The kernel
//! reads rows through the trait and emits [`Write`]s as data; it never awaits, never reads the
//! clock, never touches SQL or sockets, and draws no randomness. Given the same store contents, the
//! same command and the same `now`, it always produces the same writes and the same reply, which is
//! what lets the simulator drive it and lets every backend share one rulebook.

pub mod address;
pub mod command;
pub mod cron;
pub mod kernel;
pub mod lanes;
pub mod model;
pub mod planner;
pub mod reply;
pub mod time;
pub mod txn;
pub mod write;

pub use address::Address;
pub use command::Command;
pub use kernel::{execute, KernelConfig};
pub use model::*;
pub use reply::Reply;
pub use time::Timestamp;
pub use txn::{Txn, TxnError, TxnErrorKind};
pub use write::Write;
