//! The shared state of the edge: the store, the clock, the configuration and the wake-ups.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use resolute_core::reply::TickReport;
use resolute_core::{Command, Reply, Timestamp};
use resolute_store::{Executed, Store, StoreError};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::poll::Registry;
use crate::supervisor::Supervisor;

/// Ticks one pass may run before yielding, so a huge backlog cannot monopolise the writer.
const TICK_ROUNDS_PER_PASS_MAX: usize = 64;

/// A lane reported stuck: work older than the threshold and nothing able to take it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StuckLane {
    pub lane: String,
    pub pending: i64,
    pub oldest_age_ms: i64,
    pub reason: &'static str,
}

/// Everything a handler or a loop needs, cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: ServerConfig,
    /// Set by `debug.start`: background passes skip their work until `debug.stop`.
    paused: AtomicBool,
    /// Poked after every commit that queued a message, so delivery does not wait for a tick.
    messages_queued: Notify,
    registry: Arc<Registry>,
    supervisor: Supervisor,
    metrics: Metrics,
    stuck: std::sync::Mutex<Vec<StuckLane>>,
    /// When the API listener stopped accepting or answering its own probe, if it has.
    listener_failing_since: std::sync::Mutex<Option<Timestamp>>,
    /// Set once the loops start; diagnostics ask it why a lane cannot move.
    dispatcher: std::sync::OnceLock<Arc<crate::dispatch::Dispatcher>>,
    /// Set by `serve`: the watch on the runtime from outside it.
    runtime_watch: std::sync::OnceLock<Arc<crate::runtime_watch::RuntimeWatch>>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: ServerConfig) -> App {
        let registry = Arc::new(Registry::new(config.poll));
        let supervisor = Supervisor::new(clock.clone());
        let inner = Inner {
            store,
            clock,
            config,
            paused: AtomicBool::new(false),
            messages_queued: Notify::new(),
            registry,
            supervisor,
            metrics: Metrics::default(),
            stuck: std::sync::Mutex::new(Vec::new()),
            dispatcher: std::sync::OnceLock::new(),
            runtime_watch: std::sync::OnceLock::new(),
            listener_failing_since: std::sync::Mutex::new(None),
        };
        App { inner: Arc::new(inner) }
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn listener_failing_since(&self) -> Option<Timestamp> {
        *self.inner.listener_failing_since.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set_listener_failing_since(&self, since: Option<Timestamp>) {
        *self
            .inner
            .listener_failing_since
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = since;
    }

    pub fn dispatcher(&self) -> Option<&Arc<crate::dispatch::Dispatcher>> {
        self.inner.dispatcher.get()
    }

    pub fn set_dispatcher(&self, dispatcher: Arc<crate::dispatch::Dispatcher>) {
        let _ = self.inner.dispatcher.set(dispatcher);
    }

    pub fn runtime_watch(&self) -> Option<&Arc<crate::runtime_watch::RuntimeWatch>> {
        self.inner.runtime_watch.get()
    }

    pub fn set_runtime_watch(&self, watch: Arc<crate::runtime_watch::RuntimeWatch>) {
        let _ = self.inner.runtime_watch.set(watch);
    }

    /// Lanes currently reported stuck.
    pub fn stuck_lanes(&self) -> Vec<StuckLane> {
        self.inner.stuck.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn set_stuck_lanes(&self, lanes: Vec<StuckLane>) {
        *self.inner.stuck.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = lanes;
    }

    pub fn supervisor(&self) -> &Supervisor {
        &self.inner.supervisor
    }

    pub fn is_paused(&self) -> bool {
        self.inner.paused.load(Ordering::Acquire)
    }

    pub fn set_paused(&self, paused: bool) {
        self.inner.paused.store(paused, Ordering::Release);
    }

    /// Resolves when some commit queued a message since the last call.
    pub async fn messages_queued(&self) {
        self.inner.messages_queued.notified().await
    }

    /// Wakes the dispatcher as a commit that queued messages would (another node's, say).
    pub fn wake_dispatcher(&self) {
        self.inner.messages_queued.notify_one();
    }

    /// Runs one command through the store and wakes the dispatcher if it queued messages.
    pub async fn execute(&self, command: Command, now: Timestamp) -> Result<Reply, StoreError> {
        let Executed { reply, queued_messages } = self.inner.store.execute(command, now).await?;
        if queued_messages {
            self.inner.messages_queued.notify_one();
        }
        Ok(reply)
    }

    /// Runs the timeout pass at `now`: bounded ticks until a tick no longer fills its batch.
    pub async fn run_timeouts(&self, now: Timestamp) -> Result<TickReport, StoreError> {
        self.run_timeouts_within(now, None).await
    }

    /// The timeout pass, starting no new tick once `budget` has passed (the background loop's
    /// iterations must complete inside their deadline however slow the store is; whatever is
    /// left is due again at the next iteration, a second later).
    pub async fn run_timeouts_within(
        &self,
        now: Timestamp,
        budget: Option<std::time::Duration>,
    ) -> Result<TickReport, StoreError> {
        let limit = self.inner.config.tick_batch.max(1);
        let mut total = TickReport::default();
        let started = tokio::time::Instant::now();
        for _ in 0..TICK_ROUNDS_PER_PASS_MAX {
            if budget.is_some_and(|budget| started.elapsed() >= budget) {
                break;
            }
            let Reply::Tick(report) = self.execute(Command::Tick { limit }, now).await? else {
                break;
            };
            total.promises_timed_out += report.promises_timed_out;
            total.retries_sent += report.retries_sent;
            total.leases_expired += report.leases_expired;
            total.schedules_fired += report.schedules_fired;
            self.inner.metrics.resonate.schedules_fired(report.schedules_fired);
            if !report.is_full(limit) {
                break;
            }
        }
        Ok(total)
    }
}
