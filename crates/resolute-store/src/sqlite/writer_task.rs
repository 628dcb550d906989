//! The writer as a task on the server's runtime ([`super::writer::WriterHome::Runtime`]).
//!
//! Same batches as the thread (`writer.rs`), gathered differently: woken by the first job, the task
//! yields once. Tokio runs a yielded task only after its next poll of the sockets, so every request
//! that arrived meanwhile is parsed and queued first, and the batch takes them all: group commit
//! without a thread to wake and without waiting on a timer.

use std::sync::{Arc, Mutex};

use super::writer::{gather, lock, run_guarded, Job, Writer, BREATH};

/// Runs batches until the queue is closed (the store was dropped).
pub(super) async fn run(writer: Arc<Mutex<Writer>>, queue: async_channel::Receiver<Job>) {
    while let Ok(first) = queue.recv().await {
        tokio::task::yield_now().await;
        let owed = run_guarded(&writer, gather(first, &queue));
        if owed.breath {
            tokio::time::sleep(BREATH).await;
        }
        if owed.tail {
            finish_tail_off_the_runtime(&writer).await;
        }
    }
}

/// A checkpoint's tail ends with fsyncs, which must not hold up the runtime's sockets: it runs on
/// a blocking thread while this task (and so the next batch) waits for it.
async fn finish_tail_off_the_runtime(writer: &Arc<Mutex<Writer>>) {
    let writer = writer.clone();
    let finished = tokio::task::spawn_blocking(move || lock(&writer).finish_tail()).await;
    if finished.is_err() {
        // The tail is best effort: the next background pass asks again.
        tracing::error!("finishing a WAL checkpoint's tail panicked; the next pass retries it");
    }
}
