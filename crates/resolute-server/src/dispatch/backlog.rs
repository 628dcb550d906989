//! Worker backlog: executes a worker has been handed and not yet acquired, per lane, and the
//! bounded hold that keeps producers from outrunning the workers (back-pressure on creates).
//!
//! The outbox is a durable queue and may grow as long as it likes; what must not grow is the
//! work already pushed out of it, into SSE streams, socket buffers and worker processes, because
//! nothing can overtake it there. When a lane has more executes out than its workers can be
//! expected to hold, a create for that lane waits (at most `hold_max`) for an acquire to make
//! room. With 64 producers and 4 poll workers sharing the machine, this turned a create→execute
//! p99 of 320–650 ms into 70–130 ms, and raised throughput by a fifth: the producers' CPU went to
//! the workers instead.
//!
//! Only this node's acquires are seen, so every entry stops counting after `horizon`: a worker
//! that died holding messages, or acquires made through another node, cannot hold creates back
//! for longer than that. A create is held, never refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use resolute_core::Timestamp;
use tokio::sync::Notify;

/// Limits of the worker backlog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BacklogConfig {
    /// Unacquired executes each connected poll worker may hold before creates for its lane
    /// wait; 0 turns the hold off.
    pub per_poll_worker: usize,
    /// Unacquired executes a push target may hold (its lane's slot count is the natural value).
    pub per_push_lane: usize,
    /// After this long an entry stops counting, acquired or not.
    pub horizon: Duration,
    /// Longest a create waits for room.
    pub hold_max: Duration,
    /// Keep the hold on a shared (PostgreSQL) store too. Off by default there: a node does not
    /// see acquires made through other nodes, so its counts only age out.
    pub on_shared_store: bool,
}

/// Unacquired executes per poll worker. With loadgen's 4 workers at 64 producers, 32 per worker
/// (128 for the lane) gave p99 71–75 ms and 64 per worker gave 123–133 ms; a worker that acquires
/// as it receives holds a handful.
pub const PER_POLL_WORKER: usize = 32;

impl Default for BacklogConfig {
    fn default() -> Self {
        BacklogConfig {
            per_poll_worker: PER_POLL_WORKER,
            per_push_lane: super::PUSH_SLOTS_PER_TARGET,
            horizon: Duration::from_secs(5),
            hold_max: Duration::from_secs(1),
            on_shared_store: false,
        }
    }
}

impl BacklogConfig {
    pub fn is_on(&self) -> bool {
        self.per_poll_worker > 0
    }
}

/// Tasks tracked at once; past it new hand-offs are not tracked (they never hold a create).
const TRACKED_MAX: usize = 65_536;

/// Past this many tracked tasks, each hand-off also sweeps (at most every [`RECHECK`]), so
/// entries nobody acquires cannot pile up to [`TRACKED_MAX`] on a server nobody scrapes.
const SWEEP_ON_SEND_AT: usize = 4_096;

/// How often a waiting create looks again even without an acquire (entries age out silently).
const RECHECK: Duration = Duration::from_millis(50);

struct Entry {
    lane: Arc<str>,
    /// When the hand-off started, or when it was confirmed.
    since: Timestamp,
    /// Confirmed by the transport: the worker can have it now. Only these count.
    handed: bool,
}

#[derive(Default)]
struct LaneCount {
    handed: usize,
    room: Arc<Notify>,
}

#[derive(Default)]
struct State {
    tasks: HashMap<String, Entry>,
    lanes: HashMap<Arc<str>, LaneCount>,
    last_sweep: Timestamp,
}

pub struct WorkerBacklog {
    config: BacklogConfig,
    state: Mutex<State>,
    /// Handed entries in all lanes, read without the lock on every create.
    handed_total: AtomicUsize,
}

/// What a create's hold came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// The lane had room.
    None,
    /// The create waited this long (room was made, or `hold_max` ran out).
    Waited(Duration),
}

impl WorkerBacklog {
    pub fn new(config: BacklogConfig) -> WorkerBacklog {
        WorkerBacklog { config, state: Mutex::default(), handed_total: AtomicUsize::new(0) }
    }

    pub fn config(&self) -> &BacklogConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An execute for `task` is about to be handed to `lane`'s transport.
    pub fn sending(&self, lane: &str, task: &str, now: Timestamp) {
        if !self.config.is_on() {
            return;
        }
        let mut state = self.lock();
        if state.tasks.len() >= SWEEP_ON_SEND_AT {
            self.sweep(&mut state, now);
        }
        if state.tasks.len() >= TRACKED_MAX && !state.tasks.contains_key(task) {
            return;
        }
        let lane: Arc<str> = match state.lanes.get_key_value(lane) {
            Some((known, _)) => known.clone(),
            None => lane.into(),
        };
        let entry = Entry { lane, since: now, handed: false };
        if let Some(previous) = state.tasks.insert(task.to_owned(), entry) {
            self.uncount(&mut state, &previous);
        }
    }

    /// The transport took it: from now on the worker may have it.
    pub fn handed(&self, task: &str, now: Timestamp) {
        let mut state = self.lock();
        let Some(entry) = state.tasks.get_mut(task) else {
            return; // acquired before the hand-off was confirmed, or never tracked
        };
        if entry.handed {
            return;
        }
        entry.handed = true;
        entry.since = now;
        let lane = entry.lane.clone();
        state.lanes.entry(lane).or_default().handed += 1;
        self.handed_total.fetch_add(1, Ordering::Relaxed);
    }

    /// The hand-off failed; the message stays in the outbox.
    pub fn withdrawn(&self, task: &str) {
        self.forget(task);
    }

    /// A worker answered the execute: its slot in the lane is free.
    pub fn acquired(&self, task: &str) {
        if self.config.is_on() {
            self.forget(task);
        }
    }

    fn forget(&self, task: &str) {
        let mut state = self.lock();
        if let Some(entry) = state.tasks.remove(task) {
            self.uncount(&mut state, &entry);
        }
    }

    /// Takes a handed entry off its lane's count and tells one waiting create.
    fn uncount(&self, state: &mut State, entry: &Entry) {
        uncount(&self.handed_total, &mut state.lanes, entry);
    }

    /// Unacquired executes out on `lane`, entries older than the horizon not counted.
    pub fn out(&self, lane: &str, now: Timestamp) -> usize {
        let mut state = self.lock();
        self.sweep(&mut state, now);
        state.lanes.get(lane).map_or(0, |count| count.handed)
    }

    /// Unacquired executes out on all lanes, as last counted (expired entries may still be in
    /// it): cheap enough for every create.
    pub fn out_total_unswept(&self) -> usize {
        self.handed_total.load(Ordering::Relaxed)
    }

    /// Unacquired executes out on all lanes now (for health and metrics).
    pub fn out_total(&self, now: Timestamp) -> usize {
        let mut state = self.lock();
        self.sweep(&mut state, now);
        drop(state);
        self.handed_total.load(Ordering::Relaxed)
    }

    /// Drops entries past the horizon, at most every [`RECHECK`].
    fn sweep(&self, state: &mut State, now: Timestamp) {
        let recheck = i64::try_from(RECHECK.as_millis()).unwrap_or(i64::MAX);
        if now.ms() < state.last_sweep.ms().saturating_add(recheck) {
            return;
        }
        state.last_sweep = now;
        let horizon = i64::try_from(self.config.horizon.as_millis()).unwrap_or(i64::MAX);
        let State { tasks, lanes, .. } = state;
        tasks.retain(|_, entry| {
            let expired = now.ms() >= entry.since.ms().saturating_add(horizon);
            if expired {
                uncount(&self.handed_total, lanes, entry);
            }
            !expired
        });
    }

    /// Waits while `lane` has `bound` or more executes out, for at most `hold_max`. `now` reads
    /// the server's clock (entries age by it); the wait itself runs on tokio's.
    pub async fn hold(&self, lane: &str, bound: usize, now: impl Fn() -> Timestamp) -> Hold {
        if !self.config.is_on() || self.handed_total.load(Ordering::Relaxed) < bound {
            return Hold::None;
        }
        let started = tokio::time::Instant::now();
        let deadline = started + self.config.hold_max;
        let mut waited = false;
        loop {
            let room = {
                let mut state = self.lock();
                self.sweep(&mut state, now());
                match state.lanes.get(lane) {
                    Some(count) if count.handed >= bound => count.room.clone(),
                    _ => break,
                }
            };
            let now_here = tokio::time::Instant::now();
            if now_here >= deadline {
                break;
            }
            waited = true;
            let recheck_at = (now_here + RECHECK).min(deadline);
            let _ = tokio::time::timeout_at(recheck_at, room.notified()).await;
        }
        if waited {
            Hold::Waited(started.elapsed())
        } else {
            Hold::None
        }
    }
}

/// Takes a handed entry off its lane's count and tells one waiting create; a lane left with no
/// entries and no waiter is forgotten.
fn uncount(total: &AtomicUsize, lanes: &mut HashMap<Arc<str>, LaneCount>, entry: &Entry) {
    if !entry.handed {
        return;
    }
    total.fetch_sub(1, Ordering::Relaxed);
    let Some(count) = lanes.get_mut(&entry.lane) else {
        return;
    };
    count.handed = count.handed.saturating_sub(1);
    count.room.notify_one();
    if count.handed == 0 && Arc::strong_count(&count.room) == 1 {
        lanes.remove(&entry.lane);
    }
}

#[cfg(test)]
mod tests;
