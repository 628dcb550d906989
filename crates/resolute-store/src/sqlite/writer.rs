//! The writer thread: drains the bounded job queue into one transaction per batch.

use std::time::Duration;

use resolute_core::txn::TxnResult;
use resolute_core::{Command, KernelConfig, Timestamp};
use rusqlite::Connection;

use super::SqliteTxn;
use crate::error::StoreError;
use crate::facade::{run_command, Executed};

/// Jobs waiting for the writer; a full queue makes callers wait (back-pressure), never drops.
const QUEUE_CAPACITY: usize = 4096;
/// Commands committed together at most.
const BATCH_MAX: usize = 512;

enum Job {
    Run {
        command: Command,
        now: Timestamp,
        reply: async_channel::Sender<Result<Executed, StoreError>>,
    },
    Ping {
        reply: async_channel::Sender<Result<(), StoreError>>,
    },
}

pub(crate) struct WriterHandle {
    jobs: async_channel::Sender<Job>,
}

pub(crate) fn spawn(
    connection: Connection,
    config: KernelConfig,
) -> Result<WriterHandle, StoreError> {
    let (jobs, queue) = async_channel::bounded(QUEUE_CAPACITY);
    std::thread::Builder::new()
        .name("resolute-sqlite-writer".into())
        .spawn(move || Writer { connection, config, queue }.run())
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot start the writer thread: {error}"))
        })?;
    Ok(WriterHandle { jobs })
}

impl WriterHandle {
    pub(crate) async fn submit(
        &self,
        command: Command,
        now: Timestamp,
    ) -> Result<Executed, StoreError> {
        let (reply, answer) = async_channel::bounded(1);
        self.jobs.send(Job::Run { command, now, reply }).await.map_err(|_| StoreError::Closed)?;
        answer.recv().await.map_err(|_| StoreError::Closed)?
    }

    pub(crate) fn submit_blocking(
        &self,
        command: Command,
        now: Timestamp,
    ) -> Result<Executed, StoreError> {
        let (reply, answer) = async_channel::bounded(1);
        self.jobs
            .send_blocking(Job::Run { command, now, reply })
            .map_err(|_| StoreError::Closed)?;
        answer.recv_blocking().map_err(|_| StoreError::Closed)?
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        let (reply, answer) = async_channel::bounded(1);
        self.jobs.send(Job::Ping { reply }).await.map_err(|_| StoreError::Closed)?;
        answer.recv().await.map_err(|_| StoreError::Closed)?
    }
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        self.jobs.close();
    }
}

struct Writer {
    connection: Connection,
    config: KernelConfig,
    queue: async_channel::Receiver<Job>,
}

/// How many times the writer polls its queue after a batch before parking: requests arriving within
/// microseconds (the next wave of a busy client) are picked up without a thread wake-up.
const SPIN_POLLS: usize = 200;

impl Writer {
    /// The next job: first a short spin on the queue, then a blocking wait.
    fn next_job(&self) -> Option<Job> {
        for _ in 0..SPIN_POLLS {
            match self.queue.try_recv() {
                Ok(job) => return Some(job),
                Err(async_channel::TryRecvError::Closed) => return None,
                Err(async_channel::TryRecvError::Empty) => std::thread::yield_now(),
            }
        }
        self.queue.recv_blocking().ok()
    }

    fn run(mut self) {
        while let Some(first) = self.next_job() {
            let mut batch = vec![first];
            while batch.len() < BATCH_MAX {
                match self.queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.run_batch(batch);
        }
        let _ = self.connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    }

    /// One transaction for the whole batch. If any command fails, the batch is rolled back and
    /// every command re-run in a transaction of its own, so one failure cannot fail its neighbours.
    fn run_batch(&mut self, batch: Vec<Job>) {
        let mut runs = Vec::with_capacity(batch.len());
        let mut pings = Vec::new();
        for job in batch {
            match job {
                Job::Run { command, now, reply } => runs.push((command, now, reply)),
                Job::Ping { reply } => pings.push(reply),
            }
        }
        let ping = self
            .connection
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(super::schema::unavailable);
        for reply in pings {
            let _ = reply.try_send(ping.clone());
        }
        if runs.is_empty() {
            return;
        }
        let commands: Vec<(&Command, Timestamp)> =
            runs.iter().map(|(c, now, _)| (c, *now)).collect();
        let results = match self.transaction(&commands) {
            Ok(results) => results,
            Err(_) if commands.len() > 1 => commands.iter().map(|one| self.single(*one)).collect(),
            Err(error) => vec![Err(error)],
        };
        for ((_, _, reply), result) in runs.into_iter().zip(results) {
            let _ = reply.try_send(result);
        }
    }

    fn single(&mut self, command: (&Command, Timestamp)) -> Result<Executed, StoreError> {
        self.transaction(&[command])
            .and_then(|mut results| results.pop().unwrap_or(Err(StoreError::Closed)))
    }

    fn transaction(
        &mut self,
        commands: &[(&Command, Timestamp)],
    ) -> Result<Vec<Result<Executed, StoreError>>, StoreError> {
        let unavailable = super::schema::unavailable;
        self.connection.execute_batch("BEGIN IMMEDIATE").map_err(unavailable)?;
        let executed: TxnResult<Vec<Executed>> = {
            let mut txn = SqliteTxn { conn: &self.connection };
            commands
                .iter()
                .map(|(command, now)| run_command(&mut txn, command, *now, &self.config))
                .collect()
        };
        match executed {
            Ok(executed) => {
                if let Err(error) = self.connection.execute_batch("COMMIT") {
                    let _ = self.connection.execute_batch("ROLLBACK");
                    std::thread::sleep(Duration::from_millis(1));
                    return Err(unavailable(error));
                }
                Ok(executed.into_iter().map(Ok).collect())
            }
            Err(error) => {
                let _ = self.connection.execute_batch("ROLLBACK");
                Err(StoreError::from(error))
            }
        }
    }
}
