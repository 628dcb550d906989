//! A watch on the runtime from outside it. With one runtime thread (`--server-threads 1`, the
//! default) a call that blocks that thread stops everything at once: requests, the background
//! loops, their supervisor and `/health`, so nothing inside the runtime can notice. A plain thread
//! therefore checks that a task on the runtime keeps beating: a stall is logged at its start and
//! end and counted (`/health`, `/metrics`), and one that lasts past `--server-stall-exit-ms` ends
//! the process, so that its manager starts a fresh one (acknowledged writes are on disk, and the
//! start releases the dead run's leases): a wedged server must not look alive.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the task on the runtime beats.
const BEAT_EVERY: Duration = Duration::from_millis(50);
/// How often the watching thread looks.
const LOOK_EVERY: Duration = Duration::from_millis(200);
/// A runtime that has not beaten for this long is stalled.
pub const STALL_AFTER: Duration = Duration::from_secs(1);

/// The exit status of a process that ended itself over a stall (EX_SOFTWARE).
pub const STALL_EXIT_STATUS: i32 = 70;

/// What one look found.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    Nothing,
    /// The runtime has not beaten for `STALL_AFTER`.
    StallBegan,
    /// It beats again, after a stall this long.
    StallEnded(Duration),
    /// The stall has lasted past the exit bound.
    Exit(Duration),
}

/// The decisions, kept apart from threads and clocks so they can be tested directly.
#[derive(Debug)]
pub struct StallTracker {
    exit_after: Option<Duration>,
    beats_seen: u64,
    /// Time watched without a beat; zero while the runtime beats.
    silent_for: Duration,
    stalled: bool,
}

impl StallTracker {
    pub fn new(exit_after: Option<Duration>) -> StallTracker {
        StallTracker { exit_after, beats_seen: 0, silent_for: Duration::ZERO, stalled: false }
    }

    /// One look: `beats` is the runtime's count now, `elapsed` the time since the last look. A
    /// look much later than planned means the whole process was paused (SIGSTOP, a suspended
    /// machine): that time counts only as two planned intervals, because the runtime could not
    /// have beaten either.
    pub fn look(&mut self, beats: u64, elapsed: Duration) -> Seen {
        if beats != self.beats_seen {
            self.beats_seen = beats;
            let silent = std::mem::take(&mut self.silent_for);
            return match std::mem::take(&mut self.stalled) {
                true => Seen::StallEnded(silent),
                false => Seen::Nothing,
            };
        }
        self.silent_for += elapsed.min(LOOK_EVERY * 2);
        if self.exit_after.is_some_and(|bound| self.silent_for >= bound) {
            return Seen::Exit(self.silent_for);
        }
        if !self.stalled && self.silent_for >= STALL_AFTER {
            self.stalled = true;
            return Seen::StallBegan;
        }
        Seen::Nothing
    }
}

/// Shared figures: beats from the runtime, stalls from the watching thread.
#[derive(Debug, Default)]
pub struct RuntimeWatch {
    beats: AtomicU64,
    stalls: AtomicU64,
    longest_stall_ms: AtomicU64,
    stopped: AtomicBool,
}

impl RuntimeWatch {
    /// Stalls seen since start.
    pub fn stalls(&self) -> u64 {
        self.stalls.load(Ordering::Relaxed)
    }

    /// The longest stall that has ended, in ms.
    pub fn longest_stall_ms(&self) -> u64 {
        self.longest_stall_ms.load(Ordering::Relaxed)
    }

    /// Ends the watching thread at its next look (shutdown: a runtime that is winding down
    /// stops beating and must not be taken for a wedged one).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }
}

/// What ends the process over a stall; it does not return.
fn exit_over_stall(lasted: Duration) {
    tracing::error!(
        lasted_ms = lasted.as_millis() as u64,
        "the runtime has been stalled past --server-stall-exit-ms: exiting so that a fresh \
         process takes over (acknowledged writes are on disk)"
    );
    std::process::exit(STALL_EXIT_STATUS);
}

/// Starts the beat on the current runtime and the thread that watches it.
pub fn start(exit_after: Option<Duration>) -> std::io::Result<Arc<RuntimeWatch>> {
    start_with_exit(exit_after, exit_over_stall)
}

/// [`start`] with what to do when a stall passes `exit_after` (tests watch it happen); the watch
/// ends after calling it.
fn start_with_exit(
    exit_after: Option<Duration>,
    exit: impl Fn(Duration) + Send + 'static,
) -> std::io::Result<Arc<RuntimeWatch>> {
    let watch = Arc::new(RuntimeWatch::default());
    let beating = watch.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(BEAT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !beating.stopped.load(Ordering::Acquire) {
            every.tick().await;
            beating.beats.fetch_add(1, Ordering::Relaxed);
        }
    });
    let watching = watch.clone();
    std::thread::Builder::new()
        .name("resolute-runtime-watch".into())
        .spawn(move || watch_until_stopped(&watching, StallTracker::new(exit_after), exit))?;
    Ok(watch)
}

fn watch_until_stopped(watch: &RuntimeWatch, mut tracker: StallTracker, exit: impl Fn(Duration)) {
    let mut last_look = Instant::now();
    while !watch.stopped.load(Ordering::Acquire) {
        std::thread::sleep(LOOK_EVERY);
        let elapsed = last_look.elapsed();
        last_look = Instant::now();
        match tracker.look(watch.beats.load(Ordering::Relaxed), elapsed) {
            Seen::Nothing => {}
            Seen::StallBegan => {
                watch.stalls.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    after_ms = STALL_AFTER.as_millis() as u64,
                    "the runtime has stopped running tasks (a blocking call on its thread?): \
                     requests, background loops and /health wait until it returns"
                );
            }
            Seen::StallEnded(lasted) => {
                let lasted_ms = u64::try_from(lasted.as_millis()).unwrap_or(u64::MAX);
                watch.longest_stall_ms.fetch_max(lasted_ms, Ordering::Relaxed);
                tracing::warn!(lasted_ms, "the runtime runs tasks again after a stall");
            }
            Seen::Exit(lasted) => {
                if !watch.stopped.load(Ordering::Acquire) {
                    exit(lasted);
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
