//! Supervision of every background loop: each iteration runs as its own task under a deadline,
//! its start and completion are recorded, a panic or an overrun restarts the loop with back-off,
//! and each episode is logged once. Liveness is judged on *completed* iterations.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::Clock;

/// How a loop is run.
#[derive(Clone, Debug)]
pub struct LoopSpec {
    pub name: &'static str,
    /// Pause between iterations (an iteration may also be started early by its wake-up).
    pub interval: Duration,
    /// An iteration still running after this long is abandoned (its future dropped).
    pub deadline: Duration,
}

impl LoopSpec {
    /// A loop is stale when it has not completed an iteration for max(60 s, 10 × interval).
    pub fn stale_after(&self) -> Duration {
        (self.interval * 10).max(Duration::from_secs(60))
    }
}

/// Back-off after a failed iteration: doubles from 100 ms up to 10 s.
const RESTART_BACKOFF_MIN: Duration = Duration::from_millis(100);
const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Live figures of one loop, shared with health, metrics and the dashboard.
#[derive(Debug)]
pub struct LoopState {
    pub spec: LoopSpec,
    /// Wall-clock ms of the last iteration start / completion; 0 = never.
    pub last_started_at_ms: AtomicI64,
    pub last_completed_at_ms: AtomicI64,
    pub iterations: AtomicU64,
    pub panics: AtomicU64,
    pub overruns: AtomicU64,
    /// Set while an episode (consecutive failures) is under way, so it is logged once.
    failing: AtomicBool,
}

/// A copy of a loop's figures at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopReport {
    pub name: &'static str,
    pub last_started_at_ms: Option<i64>,
    pub last_completed_at_ms: Option<i64>,
    pub iterations: u64,
    pub restarts: u64,
    pub stale: bool,
}

impl LoopState {
    fn new(spec: LoopSpec) -> LoopState {
        LoopState {
            spec,
            last_started_at_ms: AtomicI64::new(0),
            last_completed_at_ms: AtomicI64::new(0),
            iterations: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        }
    }

    /// Stale: nothing completed within `stale_after` of now (counting from `born_at_ms` if the loop
    /// has never completed an iteration).
    pub fn report(&self, now_ms: i64, born_at_ms: i64) -> LoopReport {
        let started = self.last_started_at_ms.load(Ordering::Acquire);
        let completed = self.last_completed_at_ms.load(Ordering::Acquire);
        let reference = if completed == 0 { born_at_ms } else { completed };
        let stale_ms = i64::try_from(self.spec.stale_after().as_millis()).unwrap_or(i64::MAX);
        LoopReport {
            name: self.spec.name,
            last_started_at_ms: (started != 0).then_some(started),
            last_completed_at_ms: (completed != 0).then_some(completed),
            iterations: self.iterations.load(Ordering::Relaxed),
            restarts: self.panics.load(Ordering::Relaxed) + self.overruns.load(Ordering::Relaxed),
            stale: now_ms.saturating_sub(reference) > stale_ms,
        }
    }
}

/// Owns the loops and their figures.
pub struct Supervisor {
    clock: Arc<dyn Clock>,
    born_at_ms: i64,
    loops: Mutex<Vec<Arc<LoopState>>>,
}

impl Supervisor {
    pub fn new(clock: Arc<dyn Clock>) -> Supervisor {
        let born_at_ms = clock.now().ms();
        Supervisor { clock, born_at_ms, loops: Mutex::new(Vec::new()) }
    }

    /// Figures of every loop, in start order.
    pub fn reports(&self) -> Vec<LoopReport> {
        let now_ms = self.clock.now().ms();
        let loops = self.loops.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loops.iter().map(|state| state.report(now_ms, self.born_at_ms)).collect()
    }

    pub fn states(&self) -> Vec<Arc<LoopState>> {
        self.loops.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Starts a supervised loop. `iteration` builds one iteration's future; `wake` resolves when
    /// the loop should run before its interval is over. Stops when `shutdown` turns true.
    pub fn spawn<I, IF, W, WF>(
        &self,
        spec: LoopSpec,
        iteration: I,
        wake: W,
        shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()>
    where
        I: Fn() -> IF + Send + Sync + 'static,
        IF: Future<Output = ()> + Send + 'static,
        W: Fn() -> WF + Send + Sync + 'static,
        WF: Future<Output = ()> + Send + 'static,
    {
        let state = Arc::new(LoopState::new(spec));
        self.loops.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(state.clone());
        let clock = self.clock.clone();
        tokio::spawn(run_loop(state, clock, iteration, wake, shutdown))
    }
}

async fn run_loop<I, IF, W, WF>(
    state: Arc<LoopState>,
    clock: Arc<dyn Clock>,
    iteration: I,
    wake: W,
    mut shutdown: watch::Receiver<bool>,
) where
    I: Fn() -> IF + Send + Sync + 'static,
    IF: Future<Output = ()> + Send + 'static,
    W: Fn() -> WF + Send + Sync + 'static,
    WF: Future<Output = ()> + Send + 'static,
{
    let mut backoff = RESTART_BACKOFF_MIN;
    let mut pause = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = wake(), if pause > Duration::ZERO => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        state.last_started_at_ms.store(clock.now().ms(), Ordering::Release);
        let outcome = run_iteration(&state, iteration()).await;
        pause = match outcome {
            Ok(()) => {
                state.last_completed_at_ms.store(clock.now().ms(), Ordering::Release);
                state.iterations.fetch_add(1, Ordering::Relaxed);
                if state.failing.swap(false, Ordering::AcqRel) {
                    tracing::info!(target: "resolute::supervisor", loop_name = state.spec.name, "loop recovered");
                }
                backoff = RESTART_BACKOFF_MIN;
                state.spec.interval
            }
            Err(()) => {
                let delay = backoff;
                backoff = (backoff * 2).min(RESTART_BACKOFF_MAX);
                delay
            }
        };
    }
}

/// Runs one iteration as its own task so that a panic is contained and an overrun can be cut off.
async fn run_iteration(
    state: &LoopState,
    future: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ()> {
    let mut task = tokio::spawn(future);
    let failure = match tokio::time::timeout(state.spec.deadline, &mut task).await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(join_error)) => {
            state.panics.fetch_add(1, Ordering::Relaxed);
            format!("iteration panicked: {join_error}")
        }
        Err(_) => {
            task.abort();
            state.overruns.fetch_add(1, Ordering::Relaxed);
            format!("iteration overran its deadline of {:?}; abandoned", state.spec.deadline)
        }
    };
    if !state.failing.swap(true, Ordering::AcqRel) {
        tracing::error!(target: "resolute::supervisor", loop_name = state.spec.name, %failure, "loop restarting");
    }
    Err(())
}

#[cfg(test)]
mod tests;
