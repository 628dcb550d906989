//! One dispatch pass and the deliveries it starts.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use resolute_core::address::{Address, Cast};
use resolute_core::command::{DeliveryOutcome, DueFilter, Handed};
use resolute_core::lanes::{retry_delay_ms, Lanes, Ticket};
use resolute_core::model::Message;
use resolute_core::planner::{Planner, Route};
use resolute_core::reply::{ClaimedBody, ClaimedMessage};
use resolute_core::{Command, Reply, Timestamp};
use resolute_store::streak::FailureStreak;
use tokio::sync::{oneshot, Notify};

use crate::app::App;
use crate::dispatch::backlog::{BacklogConfig, Hold, WorkerBacklog};
use crate::dispatch::push::{PushConfig, Pusher};
use crate::metrics::{DeliveryLabels, TransportLabels};
use crate::poll::Delivery;

/// Tuning of the dispatcher.
#[derive(Clone, Debug)]
pub struct DispatchConfig {
    /// Messages read per pass round; rounds repeat while a round comes back full.
    pub batch: usize,
    /// Concurrent pushes per target origin.
    pub push_slots_per_lane: usize,
    pub push: PushConfig,
    /// How long a poll worker may take to take a message off its stream.
    pub poll_write_timeout: Duration,
    /// How long a message waits when its lane is full or its poll group has no worker; a slot
    /// freeing or a worker connecting wakes it sooner.
    pub park: Duration,
    /// First retry delay after a failed delivery and the cap of the exponential back-off.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Unblock deliveries given up after this many attempts (executes are retried by the task's
    /// own retry timer for as long as the task is pending).
    pub unblock_attempts_max: i64,
    /// A delivery slot with no progress for this long is reclaimed.
    pub slot_ceiling: Duration,
    /// How many unacquired executes workers may hold before creates for their lane wait.
    pub backlog: BacklogConfig,
    /// Which transports deliver; messages for the others are dropped.
    pub transports: crate::config::Transports,
}

/// Default of `push_slots_per_lane`. It is the ceiling of one target's delivery rate (slots over
/// its response time), so it must not be what limits a healthy target: with 64, loadgen
/// `dispatch-push` at 64 producers found the lane always full and built a backlog of 10 s
/// (create→execute p99) within a 10 s run; with 256 the same run kept p99 at 64 ms. A hung target
/// still holds only its own lane. Resonate's `--transports-http-push-concurrency` defaults to the
/// same 256, for all targets together.
pub const PUSH_SLOTS_PER_TARGET: usize = 256;

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            batch: 256,
            push_slots_per_lane: PUSH_SLOTS_PER_TARGET,
            push: PushConfig::default(),
            poll_write_timeout: Duration::from_secs(10),
            park: Duration::from_secs(2),
            retry_base: Duration::from_millis(250),
            retry_max: Duration::from_secs(30),
            unblock_attempts_max: 50,
            slot_ceiling: Duration::from_secs(60),
            backlog: BacklogConfig::default(),
            transports: crate::config::Transports::default(),
        }
    }
}

/// Rounds one pass may run before yielding to the next wake-up.
const ROUNDS_PER_PASS_MAX: usize = 32;

/// Time after which a pass starts no new round. Under heavy load each store round trip waits
/// behind client requests, and 32 rounds once outlasted the iteration deadline (30 s) again and
/// again in a soak: every pass was abandoned and health went stale although work was moving.
const PASS_BUDGET: Duration = Duration::from_secs(5);

pub struct Dispatcher {
    app: App,
    config: DispatchConfig,
    pusher: Pusher,
    /// Lane slots and parked lanes: the planning state shared with the simulator.
    planner: Mutex<Planner>,
    /// Poked when a delivery ends, so a lane that was full gets its next message promptly.
    slot_freed: Notify,
    /// When each lane last logged `dispatch blocked`.
    blocked_warned: Mutex<BTreeMap<String, Timestamp>>,
    /// Consecutive failed rounds (the store failing), logged once per run and then each minute.
    round_failures: Mutex<FailureStreak>,
    /// Consecutive failed deliveries per lane (cleared by a success), for stuck diagnostics.
    failing: Mutex<BTreeMap<String, u32>>,
    random: Mutex<u64>,
    /// Executes out at workers and not yet acquired, per lane: the back-pressure on creates.
    backlog: WorkerBacklog,
    /// Where deliveries run: also reached from the store's writer thread (`on_commit`).
    runtime: tokio::runtime::Handle,
}

/// Lane slots taken by a plan whose claim has not come back yet; dropped, it frees them.
struct PlannedSlots<'a> {
    dispatcher: &'a Dispatcher,
    tickets: Vec<Ticket>,
}

impl PlannedSlots<'_> {
    /// The claim came back: its deliveries take the slots over.
    fn keep(mut self) -> Vec<Ticket> {
        std::mem::take(&mut self.tickets)
    }
}

impl Drop for PlannedSlots<'_> {
    fn drop(&mut self) {
        self.dispatcher.give_back(&self.tickets);
    }
}

/// A full lane says so at most this often.
const BLOCKED_WARN_INTERVAL_MS: i64 = 10_000;

/// Lanes remembered for warnings and failure streaks, at most.
const LANES_REMEMBERED_MAX: usize = 10_000;

mod on_commit;

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Dispatcher {
    pub fn new(app: App, config: DispatchConfig) -> Arc<Dispatcher> {
        // The binary builds one at start-up with the same settings, so this cannot fail here.
        let pusher = Pusher::new(&config.push).expect("the push client was checked at start-up");
        let seed = app.now().ms() as u64 | 1;
        Arc::new(Dispatcher {
            backlog: WorkerBacklog::new(config.backlog),
            app,
            config,
            pusher,
            planner: Mutex::new(Planner::default()),
            slot_freed: Notify::new(),
            failing: Mutex::new(BTreeMap::new()),
            round_failures: Mutex::new(FailureStreak::new("the dispatch round")),
            blocked_warned: Mutex::new(BTreeMap::new()),
            random: Mutex::new(seed),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// Lets the store lease new messages in the transaction that queues them (`on_commit`). A
    /// shared store is left alone: there the node with the worker must claim.
    pub fn claim_on_commit(self: &Arc<Self>) {
        if !self.app.store().is_shared() {
            let dispatcher = Arc::downgrade(self);
            self.app.store().claim_on_commit(Arc::new(on_commit::CommitClaimer { dispatcher }));
        }
    }

    /// Frees slots whose deliveries never started; a lane waiting for room is woken.
    fn give_back(&self, tickets: &[Ticket]) {
        if tickets.is_empty() {
            return;
        }
        let parked = {
            let mut planner = self.planner();
            planner.finish_all(tickets);
            planner.has_parked()
        };
        if parked {
            self.slot_freed.notify_one();
        }
    }

    fn planner(&self) -> MutexGuard<'_, Planner> {
        self.planner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Resolves when the dispatcher should run before its interval: new messages, a new worker,
    /// or a freed slot.
    pub async fn wake(&self) {
        tokio::select! {
            _ = self.app.messages_queued() => {}
            _ = self.app.registry().worker_connected() => {}
            _ = self.slot_freed.notified() => {}
        }
    }

    /// One pass: reclaim idle slots, then claim and start deliveries until nothing is due.
    pub async fn pass(self: Arc<Self>) {
        if self.app.is_paused() {
            return;
        }
        self.reclaim_idle_slots();
        if let Err(error) = self.wake_parked_lanes().await {
            tracing::warn!(%error, "waking parked lanes failed; their parks expire on their own");
        }
        let started = tokio::time::Instant::now();
        for _ in 0..ROUNDS_PER_PASS_MAX {
            let round = self.round().await;
            self.note_round(&round);
            match round {
                Ok(true) if started.elapsed() >= PASS_BUDGET => {
                    // More is due, but this pass has had its time: end the iteration (so the
                    // supervisor sees it complete) and run the next one at once.
                    self.app.wake_dispatcher();
                    break;
                }
                Ok(true) => continue,
                Ok(false) => break,
                Err(_) => break,
            }
        }
    }

    /// Logs a run of failed rounds when it starts, each minute while it lasts, and when it ends.
    fn note_round(&self, round: &Result<bool, resolute_store::StoreError>) {
        let mut failures = self.round_failures.lock().unwrap_or_else(PoisonError::into_inner);
        match round {
            Ok(_) => failures.succeed(std::time::Instant::now()),
            Err(error) => failures.fail(error, std::time::Instant::now()),
        }
    }

    /// Makes parked messages due again on lanes that now have room (a worker connected, a slot
    /// freed), so they do not wait for their park to expire.
    async fn wake_parked_lanes(&self) -> Result<(), resolute_store::StoreError> {
        let ready = self.lanes_to_wake();
        if ready.is_empty() {
            return Ok(());
        }
        self.app.execute(Command::WakeLanes { lanes: ready }, self.app.now()).await.map(|_| ())
    }

    /// Parked lanes that gained room. A lane whose target is failing is left out: `WakeLanes`
    /// also makes its back-off rows due, and each failure frees a slot that would wake the lane
    /// again, a hot loop at one instant that defeats the back-off. Its parks expire on their own.
    fn lanes_to_wake(&self) -> Vec<String> {
        let mut ready = self.planner().ready_lanes(|address| self.route_address(address));
        // A worker's lanes may hold messages parked before this process knew them (parked by the
        // process before a restart): wake them too, or they wait out their park.
        for lane in self.app.registry().take_newly_served() {
            if !ready.contains(&lane) {
                ready.push(lane);
            }
        }
        let failing = self.failing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        ready.retain(|lane| failing.get(lane).is_none_or(|streak| *streak == 0));
        ready
    }

    fn reclaim_idle_slots(&self) {
        let now = self.app.now();
        let reclaimed = self.planner().lanes.reclaim_stale(now, ms(self.config.slot_ceiling));
        for slot in &reclaimed {
            self.app.metrics().slots_reclaimed.inc();
            tracing::warn!(
                lane = %slot.ticket.lane,
                idle_ms = slot.idle_ms,
                "delivery slot reclaimed after no progress; its message will be redelivered"
            );
        }
        if !reclaimed.is_empty() {
            self.slot_freed.notify_one();
        }
    }
}

impl Dispatcher {
    /// Reads one batch of due messages, claims what lanes can take, parks the rest. Returns true
    /// when the batch was full, so another round may find more.
    async fn round(self: &Arc<Self>) -> Result<bool, resolute_store::StoreError> {
        let now = self.app.now();
        let limit = self.config.batch;
        let lanes = self.lanes_to_take();
        let Reply::DueMessages(due) =
            self.app.execute(Command::DueMessages { limit, lanes }, now).await?
        else {
            return Ok(false);
        };
        self.claim_and_start(&due, now).await?;
        Ok(due.len() >= limit)
    }

    /// Plans `due` against the lanes, claims and parks in one command, starts the deliveries.
    async fn claim_and_start(
        self: &Arc<Self>,
        due: &[Message],
        now: Timestamp,
    ) -> Result<(), resolute_store::StoreError> {
        let plan = self.plan(due, now);
        if plan.claims.is_empty() && plan.parks.is_empty() && plan.drops.is_empty() {
            // Nothing to record: a writer round trip (a transaction) saved.
            return Ok(());
        }
        // Holds the planned slots until the deliveries start: a failed claim, a panic in the
        // store or a cancelled pass gives them back instead of leaving them taken.
        let slots = PlannedSlots { dispatcher: self, tickets: plan.tickets };
        let command = Command::ClaimMessages {
            claims: plan.claims,
            parks: plan.parks,
            park_until: now.plus_ms(ms(self.config.park)),
            drops: plan.drops.into_iter().map(|(key, _, _)| key).collect(),
            lease_until: now.plus_ms(ms(self.lease())),
        };
        let claimed = match self.app.execute(command, now).await? {
            Reply::ClaimMessages(claimed) => claimed,
            _ => Vec::new(),
        };
        let tickets = slots.keep();
        self.start_deliveries(claimed, tickets);
        Ok(())
    }

    /// Every lane on a single node. With several nodes on one store, poll lanes only where a
    /// worker is connected to this node: the node that can deliver a message claims it.
    fn lanes_to_take(&self) -> DueFilter {
        if self.app.store().is_shared() {
            DueFilter::PollLanesOnly(self.app.registry().served_lanes())
        } else {
            DueFilter::All
        }
    }

    /// A claimed row stays leased this long; after a crash its message becomes due again.
    fn lease(&self) -> Duration {
        self.config.push.request_timeout.max(self.config.poll_write_timeout)
            + Duration::from_secs(5)
    }

    fn plan(&self, due: &[Message], now: Timestamp) -> resolute_core::planner::Plan {
        // Lock order everywhere: planner, then the registry (inside route_address).
        let mut planner = self.planner();
        let plan = planner.plan(due, now, |address| self.route_address(address));
        for (_, address, reason) in &plan.drops {
            self.app.metrics().messages_dropped.inc();
            if address.starts_with("http") {
                self.app.metrics().resonate.push_delivery("dropped");
            }
            tracing::warn!(%address, reason, "message dropped");
        }
        for (lane, limit) in &plan.full_lanes {
            self.warn_lane_blocked(&planner.lanes, lane, *limit, now);
        }
        plan
    }

    fn route_address(&self, address: &str) -> Route {
        match Address::parse(address) {
            None => Route::Drop("unroutable address"),
            Some(Address::Poll { .. }) if !self.config.transports.poll => {
                Route::Drop("poll transport turned off (--transports-http-poll-enabled false)")
            }
            Some(Address::Http { .. }) if !self.config.transports.push => {
                Route::Drop("http push turned off (--transports-http-push-enabled false)")
            }
            Some(Address::Poll { cast: Cast::Unicast, id: None, .. }) => {
                Route::Drop("unicast poll address without a worker id")
            }
            Some(Address::Poll { cast, group, id }) => {
                let connections = self.app.registry().connections(&group, cast, id.as_deref());
                match connections * self.app.registry().buffer() {
                    0 => Route::Park,
                    limit => Route::Lane { limit },
                }
            }
            Some(Address::Http { .. }) => Route::Lane { limit: self.config.push_slots_per_lane },
            Some(Address::Gcps { .. } | Address::Bash { .. }) => {
                Route::Drop("transport not supported by resolute")
            }
        }
    }

    /// The decision point that used to be silent in the field reports: say that a lane is full.
    fn warn_lane_blocked(&self, lanes: &Lanes, lane: &str, limit: usize, now: Timestamp) {
        // `lane` only comes here when a full episode began (the planner reports the first
        // refusal since the lane last had room), however many messages the batch refused.
        let Some(report) = lanes.reports(now).into_iter().find(|report| report.lane == lane) else {
            return;
        };
        // Once per lane per interval: a lane that fills and drains all day must not flood the log.
        let mut warned =
            self.blocked_warned.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let recent =
            warned.get(lane).is_some_and(|at| now.ms() - at.ms() < BLOCKED_WARN_INTERVAL_MS);
        if !recent && (warned.len() < LANES_REMEMBERED_MAX || warned.contains_key(lane)) {
            warned.insert(lane.to_owned(), now);
            self.app.metrics().lane_episode("blocked");
            tracing::warn!(
                lane,
                active = report.active,
                max = limit,
                oldest_active_ms = report.oldest_active_ms.unwrap_or(0),
                "dispatch blocked: lane full; messages parked until a slot frees"
            );
        }
    }

    fn start_deliveries(self: &Arc<Self>, claimed: Vec<ClaimedMessage>, tickets: Vec<Ticket>) {
        // Claims the store found moot (a newer version, a task no longer pending) free their slot.
        let pairs = self.planner().pair(claimed, tickets);
        for (message, ticket) in pairs {
            self.start_delivery(message, ticket);
        }
    }

    fn start_delivery(self: &Arc<Self>, message: ClaimedMessage, ticket: Ticket) {
        let server_url = &self.app.config().server_url;
        let resonate = &self.app.metrics().resonate;
        let payload: Arc<str> = match &message.body {
            ClaimedBody::Execute { task_id, version } => {
                resonate.message("execute");
                self.backlog.sending(&ticket.lane, task_id, self.app.now());
                resolute_api::execute_message(task_id, *version, server_url).into()
            }
            ClaimedBody::Unblock { promise } => {
                resonate.message("unblock");
                resolute_api::unblock_message(promise).into()
            }
        };
        let dispatcher = self.clone();
        self.runtime.spawn(async move {
            // A panic in a transport is a failed attempt, retried with back-off; unsettled, its
            // slot and lease would hold the message back for a minute.
            let delivery = AssertUnwindSafe(dispatcher.deliver(&message, payload));
            let delivered = delivery.catch_unwind().await.unwrap_or_else(|_| {
                tracing::error!(address = %message.address, "delivery panicked; will retry");
                false
            });
            dispatcher.settle(message, ticket, delivered).await;
        });
    }

    /// Hands one message's payload to its transport; true when it was handed off.
    async fn deliver(&self, message: &ClaimedMessage, payload: Arc<str>) -> bool {
        match Address::parse(&message.address) {
            Some(Address::Poll { cast, group, id }) => {
                let (written, was_written) = oneshot::channel();
                let handed = Some(handed_form(message));
                let delivery = Delivery { payload, written: Some(written), handed };
                let handed = self.app.registry().hand_off(&group, cast, id.as_deref(), delivery);
                if handed.is_err() {
                    return false;
                }
                let wait = tokio::time::timeout(self.config.poll_write_timeout, was_written);
                matches!(wait.await, Ok(Ok(())))
            }
            Some(Address::Http { url }) => match self.pusher.push(&url, payload).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::debug!(%url, %error, "push failed; will retry");
                    false
                }
            },
            _ => false,
        }
    }

    /// Records the outcome, unless the slot was reclaimed meanwhile (then the late outcome is
    /// ignored: the message is already due again).
    async fn settle(&self, message: ClaimedMessage, ticket: Ticket, delivered: bool) {
        let now = self.app.now();
        if let ClaimedBody::Execute { task_id, .. } = &message.body {
            // Before the slot check: a late hand-off still reached the worker.
            match delivered {
                true => self.backlog.handed(task_id, now),
                false => self.backlog.withdrawn(task_id),
            }
        }
        let parked = {
            let mut planner = self.planner();
            if !planner.lanes.finish(&ticket) {
                return;
            }
            planner.has_parked()
        };
        // A freed slot matters only to a lane waiting for room; without one, a pass would find
        // nothing (new messages and timed retries wake it their own way).
        if parked {
            self.slot_freed.notify_one();
        }
        self.record_outcome(&ticket.lane, &message, delivered, now);
        let outcome = if delivered {
            DeliveryOutcome::Delivered
        } else if matches!(message.body, ClaimedBody::Unblock { .. })
            && message.attempts >= self.config.unblock_attempts_max
        {
            tracing::error!(address = %message.address, attempts = message.attempts, "unblock abandoned");
            DeliveryOutcome::Abandoned
        } else {
            let delay = retry_delay_ms(
                message.attempts,
                ms(self.config.retry_base),
                ms(self.config.retry_max),
                self.next_random(),
            );
            DeliveryOutcome::RetryAt(now.plus_ms(delay))
        };
        let command = Command::SettleDelivery {
            key: message.key.clone(),
            version: message.version,
            attempts: message.attempts,
            outcome,
        };
        if let Err(error) = self.app.execute(command, now).await {
            tracing::warn!(%error, "recording a delivery outcome failed; the lease will expire");
        }
    }

    /// Counts the outcome in metrics and in the lane's failure streak.
    fn record_outcome(
        &self,
        lane: &str,
        message: &ClaimedMessage,
        delivered: bool,
        now: Timestamp,
    ) {
        let transport = if message.address.starts_with("poll:") { "poll" } else { "http" };
        let outcome = if delivered { "delivered" } else { "failed" };
        let metrics = self.app.metrics();
        metrics.deliveries.get_or_create(&DeliveryLabels { transport, outcome }).inc();
        if transport == "http" {
            metrics.resonate.push_delivery(if delivered { "success" } else { "error" });
        }
        if delivered {
            // A debug-mode clock may run behind the row's time; a negative wait is no wait.
            let waited_ms = (now.ms() - message.queued_at.ms()).max(0);
            let delays =
                metrics.handoff_delay_seconds.get_or_create(&TransportLabels { transport });
            delays.observe(waited_ms as f64 / 1000.0);
        }
        let mut failing = self.failing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if delivered {
            failing.remove(lane);
        } else if failing.len() < LANES_REMEMBERED_MAX || failing.contains_key(lane) {
            *failing.entry(lane.to_owned()).or_default() += 1;
        }
    }

    /// Holds a create whose promise targets `target` while that lane's workers already hold
    /// their share of unacquired executes (see `backlog`); at most the configured `hold_max`.
    pub async fn hold_create(&self, target: &str) -> Hold {
        let config = self.backlog.config();
        // No lane's bound is below this: when fewer are out in all, skip parsing the target.
        let least_bound = config.per_poll_worker.min(config.per_push_lane);
        if !config.is_on() || self.backlog.out_total_unswept() < least_bound {
            return Hold::None;
        }
        let Some(address) = Address::parse(target) else {
            return Hold::None;
        };
        let bound = match &address {
            Address::Poll { cast, group, id } => {
                let workers = self.app.registry().connections(group, *cast, id.as_deref());
                config.per_poll_worker.saturating_mul(workers)
            }
            Address::Http { .. } => config.per_push_lane,
            Address::Gcps { .. } | Address::Bash { .. } => 0,
        };
        if bound == 0 {
            return Hold::None;
        }
        self.backlog.hold(&address.lane(), bound, || self.app.now()).await
    }

    /// A worker answered an execute of `task` (acquired it, or learned it is moot).
    pub fn task_acquired(&self, task: &str) {
        self.backlog.acquired(task);
    }

    /// The worker backlog, for health and metrics.
    pub fn backlog(&self) -> &WorkerBacklog {
        &self.backlog
    }

    /// Why a lane cannot take its messages now, if it cannot: the stuck detector's question,
    /// answered from the dispatcher's own state so the two can never disagree.
    pub fn blockage(&self, lane: &str, address: &str) -> Option<&'static str> {
        let active = self.planner().lanes.active(lane);
        let failing = self.failing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if failing.get(lane).is_some_and(|streak| *streak > 0) {
            return Some("target failing");
        }
        match self.route_address(address) {
            Route::Park => Some("no worker connected"),
            Route::Drop(reason) => Some(reason),
            Route::Lane { limit } if active >= limit => Some("lane full"),
            Route::Lane { .. } => None,
        }
    }

    /// xorshift64: jitter only needs to be spread, not unpredictable.
    fn next_random(&self) -> u64 {
        let mut state = self.random.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }
}

/// What a poll connection must remember of a message to queue it again if it dies holding it.
fn handed_form(message: &ClaimedMessage) -> Handed {
    match &message.body {
        ClaimedBody::Execute { task_id, version } => {
            Handed::Execute { task_id: task_id.clone(), version: *version }
        }
        ClaimedBody::Unblock { promise } => {
            Handed::Unblock { promise_id: promise.id.clone(), address: message.address.clone() }
        }
    }
}
