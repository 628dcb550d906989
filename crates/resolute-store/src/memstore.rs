//! `MemStore`: `MemState` behind a mutex, with all-or-nothing commands. For tests and simulation.

use std::sync::{Mutex, MutexGuard};

use resolute_core::reply::Snapshot;
use resolute_core::txn::TxnResult;
use resolute_core::{Command, KernelConfig, Timestamp, Txn};

use crate::error::StoreError;
use crate::facade::{retry_conflicts, run_command, Executed, Store, StoreFuture};
use crate::mem::MemState;

#[derive(Debug, Default)]
pub struct MemStore {
    state: Mutex<MemState>,
    config: KernelConfig,
}

impl MemStore {
    pub fn new(config: KernelConfig) -> MemStore {
        MemStore { state: Mutex::new(MemState::default()), config }
    }

    fn lock(&self) -> MutexGuard<'_, MemState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs one command synchronously: on failure the state is left exactly as before.
    pub fn execute_now(&self, command: &Command, now: Timestamp) -> TxnResult<Executed> {
        retry_conflicts(|| self.transaction(|txn| run_command(txn, command, now, &self.config)))
    }

    /// Runs `f` against the state inside a transaction that is kept only if `f` succeeds.
    ///
    /// This is also the fault-injection seam: a caller (the simulator) wraps the `Txn` it is given
    /// in a decorator that fails a chosen read or write, and the whole command leaves no trace.
    pub fn transaction<T>(&self, f: impl FnOnce(&mut dyn Txn) -> TxnResult<T>) -> TxnResult<T> {
        let mut state = self.lock();
        let mut working = state.clone();
        let result = f(&mut working)?;
        *state = working;
        Ok(result)
    }

    pub fn snapshot(&self) -> Snapshot {
        self.lock().snapshot().unwrap_or_default()
    }
}

impl Store for MemStore {
    fn execute(&self, command: Command, now: Timestamp) -> StoreFuture<'_, Executed> {
        let result = self.execute_now(&command, now).map_err(StoreError::from);
        Box::pin(async move { result })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}
