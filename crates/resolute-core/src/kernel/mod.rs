//! The kernel: `execute(command, txn, now, config)` applies one protocol operation.

use crate::command::Command;
use crate::reply::Reply;
use crate::time::Timestamp;
use crate::txn::{Txn, TxnResult};

/// Settings that change protocol behaviour.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    /// How long a pending task waits before its execute is sent again (`tasks.retry_timeout`).
    pub retry_timeout_ms: i64,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig { retry_timeout_ms: 30_000 }
    }
}

/// Runs one command inside an open transaction at time `now`.
pub fn execute(
    command: &Command,
    txn: &mut dyn Txn,
    now: Timestamp,
    config: &KernelConfig,
) -> TxnResult<Reply> {
    let _ = (command, txn, now, config);
    unimplemented!("kernel under construction")
}
