//! Every metric resolute exports, in one place. Names follow `resolute_<noun>_<verb>_<unit>`;
//! the Resonate server's own five series come alongside (`resonate`).

mod resonate;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::supervisor::LoopReport;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub kind: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub transport: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabels {
    pub transport: &'static str,
}

/// A lane episode that was logged: `stuck`, `resumed` (STUCK/RESUMED) or `blocked` (`dispatch
/// blocked`). Counted where the line is logged, so the count is the number of lines.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EpisodeLabels {
    pub event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoopLabels {
    pub name: &'static str,
}

pub fn kind_label(kind: &str) -> &'static str {
    resolute_api::known_kind(kind).unwrap_or("unknown")
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<KindLabels, Histogram>,
    pub deliveries: Family<DeliveryLabels, Counter>,
    /// From a message's first queueing (its creating commit) to its hand-off to a worker or
    /// webhook: the dispatch delay users feel, retries included.
    pub handoff_delay_seconds: Family<TransportLabels, Histogram>,
    pub backpressure: BackPressureMetrics,
    pub messages_dropped: Counter,
    /// Messages a poll connection took shortly before it ended, queued again because still owed.
    pub messages_requeued: Counter,
    pub slots_reclaimed: Counter,
    /// Messages leased by the transaction that queued them (the dispatcher's fast path).
    pub commit_claims: Counter,
    pub lane_episodes: Family<EpisodeLabels, Counter>,
    pub poll_connections: Gauge,
    pub listeners: ListenerMetrics,
    loops: LoopMetrics,
    stuck_oldest_ms: Family<LaneLabels, Gauge>,
    scrape: ScrapeMetrics,
    /// The reference server's series, under its names.
    pub resonate: resonate::ResonateMetrics,
}

/// What one scrape reads besides the counters: the outbox per lane, the process, the runtime.
pub struct Scrape {
    pub now_ms: i64,
    /// `None` when the store did not answer in time (the lane gauges keep their last values).
    pub backlogs: Option<Vec<resolute_core::reply::LaneBacklog>>,
    pub resident_bytes: u64,
    pub open_fds: u64,
    pub alive_tasks: usize,
    /// Stalls of the runtime seen from outside it, and the longest that ended (ms).
    pub runtime_stalls: u64,
    pub runtime_longest_stall_ms: u64,
}

/// Point-in-time gauges refreshed from a [`Scrape`].
struct ScrapeMetrics {
    loop_ms_since_completion: Family<LoopLabels, Gauge>,
    lane_pending: Family<LaneLabels, Gauge>,
    lane_oldest_pending_ms: Family<LaneLabels, Gauge>,
    resident_bytes: Gauge,
    open_fds: Gauge,
    alive_tasks: Gauge,
    runtime_stalls: Counter,
    runtime_longest_stall_ms: Gauge,
}

impl ScrapeMetrics {
    fn register(r: &mut Registry) -> ScrapeMetrics {
        ScrapeMetrics {
            loop_ms_since_completion: registered(
                r,
                "loop_ms_since_last_completion",
                "Milliseconds since each loop last completed an iteration",
                Family::default(),
            ),
            lane_pending: registered(
                r,
                "lane_pending_messages",
                "Undelivered messages per lane (the oldest 100 lanes)",
                Family::default(),
            ),
            lane_oldest_pending_ms: registered(
                r,
                "lane_oldest_pending_age_ms",
                "Age of each lane's oldest undelivered message",
                Family::default(),
            ),
            resident_bytes: registered(r, "process_resident_bytes", "RSS", Gauge::default()),
            open_fds: registered(r, "process_open_fds", "Open file descriptors", Gauge::default()),
            alive_tasks: registered(r, "runtime_alive_tasks", "Tokio tasks", Gauge::default()),
            runtime_stalls: registered(
                r,
                "runtime_stalls",
                "Times the runtime ran no task for a second or more (a blocking call on it)",
                Counter::default(),
            ),
            runtime_longest_stall_ms: registered(
                r,
                "runtime_longest_stall_ms",
                "The longest runtime stall that has ended",
                Gauge::default(),
            ),
        }
    }

    fn refresh(&self, loops: &[LoopReport], scrape: &Scrape) {
        let clamp = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        for report in loops {
            if let Some(completed) = report.last_completed_at_ms {
                let labels = LoopLabels { name: report.name };
                let since = (scrape.now_ms - completed).max(0);
                self.loop_ms_since_completion.get_or_create(&labels).set(since);
            }
        }
        if let Some(backlogs) = &scrape.backlogs {
            // Lanes drain and disappear: rebuild both families from this scrape's answer.
            self.lane_pending.clear();
            self.lane_oldest_pending_ms.clear();
            for backlog in backlogs {
                let labels = LaneLabels { lane: backlog.lane.clone() };
                self.lane_pending.get_or_create(&labels).set(backlog.pending);
                let age = (scrape.now_ms - backlog.oldest_queued_at.ms()).max(0);
                self.lane_oldest_pending_ms.get_or_create(&labels).set(age);
            }
        }
        self.resident_bytes.set(clamp(scrape.resident_bytes));
        self.open_fds.set(clamp(scrape.open_fds));
        self.alive_tasks.set(i64::try_from(scrape.alive_tasks).unwrap_or(i64::MAX));
        // The watch counts; the counter catches up with it at each scrape.
        self.runtime_stalls.inc_by(scrape.runtime_stalls.saturating_sub(self.runtime_stalls.get()));
        self.runtime_longest_stall_ms.set(clamp(scrape.runtime_longest_stall_ms));
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LaneLabels {
    pub lane: String,
}

/// Registers `metric` under `name` and hands it back, so each metric is one line below.
fn registered<M>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M
where
    M: prometheus_client::registry::Metric + Clone,
{
    registry.register(name, help, metric.clone());
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("resolute");
        let r = &mut registry;
        let latency = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 18))
        });
        let requests =
            registered(r, "requests", "RPC requests by kind and status", Family::default());
        let request_seconds = registered(r, "request_duration_seconds", "RPC latency", latency);
        let deliveries = registered(r, "deliveries", "Deliveries by outcome", Family::default());
        // Queue times are whole milliseconds: buckets from 1 ms to about 65 s.
        let delays = Family::<TransportLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 17))
        });
        let handoff_delay_seconds = registered(
            r,
            "message_handoff_delay_seconds",
            "From queued to handed off, by transport",
            delays,
        );
        let backpressure = BackPressureMetrics::register(r);
        let messages_dropped =
            registered(r, "messages_dropped", "Undeliverable", Counter::default());
        let messages_requeued = registered(
            r,
            "messages_requeued",
            "Messages a dead poll connection took, queued again",
            Counter::default(),
        );
        let slots_reclaimed = registered(r, "slots_reclaimed", "Idle slots", Counter::default());
        let commit_claims = registered(
            r,
            "commit_claims",
            "Messages leased by the commit that queued them",
            Counter::default(),
        );
        let lane_episodes =
            registered(r, "lane_episodes", "STUCK, RESUMED, dispatch blocked", Family::default());
        let poll_connections = registered(r, "poll_connections", "SSE workers", Gauge::default());
        let stuck_oldest_ms = registered(
            r,
            "stuck_lane_oldest_age_ms",
            "Age of the oldest undelivered message of each lane reported stuck",
            Family::default(),
        );
        let loops = LoopMetrics::register(r);
        let listeners = ListenerMetrics::register(r);
        let scrape = ScrapeMetrics::register(r);
        let resonate = resonate::ResonateMetrics::new(&requests);
        Metrics {
            registry,
            requests,
            request_seconds,
            deliveries,
            handoff_delay_seconds,
            backpressure,
            messages_dropped,
            messages_requeued,
            slots_reclaimed,
            commit_claims,
            lane_episodes,
            poll_connections,
            listeners,
            loops,
            stuck_oldest_ms,
            scrape,
            resonate,
        }
    }
}

/// The back-pressure on creates (`dispatch::backlog`).
pub struct BackPressureMetrics {
    /// Creates held back because their lane's workers had their share of unacquired executes,
    /// and how long each waited.
    pub create_hold_seconds: Histogram,
    /// Executes out at workers and not yet acquired (set at each scrape).
    pub executes_unacquired: Gauge,
}

impl BackPressureMetrics {
    fn register(r: &mut Registry) -> BackPressureMetrics {
        BackPressureMetrics {
            create_hold_seconds: registered(
                r,
                "create_hold_seconds",
                "Creates held for room at their lane's workers, and for how long",
                Histogram::new(exponential_buckets(0.001, 2.0, 11)),
            ),
            executes_unacquired: registered(
                r,
                "executes_unacquired",
                "Executes handed to workers and not yet acquired",
                Gauge::default(),
            ),
        }
    }
}

/// Per-loop liveness gauges, refreshed at every scrape from the supervisor.
struct LoopMetrics {
    iterations: Family<LoopLabels, Gauge>,
    restarts: Family<LoopLabels, Gauge>,
    stale: Family<LoopLabels, Gauge>,
    last_completed_ms: Family<LoopLabels, Gauge>,
}

impl LoopMetrics {
    fn register(r: &mut Registry) -> LoopMetrics {
        LoopMetrics {
            iterations: registered(r, "loop_iterations", "Completed iterations", Family::default()),
            restarts: registered(r, "loop_restarts", "Panics and overruns", Family::default()),
            stale: registered(
                r,
                "loop_stale",
                "1 when a loop is not completing",
                Family::default(),
            ),
            last_completed_ms: registered(
                r,
                "loop_last_completed_at_ms",
                "Wall-clock ms of each loop's last completed iteration",
                Family::default(),
            ),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    /// `api` or `metrics`.
    pub listener: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerReasonLabels {
    pub listener: &'static str,
    pub reason: &'static str,
}

/// What the accept loops and their connections did (`listener/`).
pub struct ListenerMetrics {
    /// Failed `accept` calls by reason (`fd_exhausted`, `connection`, `other`).
    pub accept_errors: Family<ListenerReasonLabels, Counter>,
    pub accepted: Family<ListenerLabels, Counter>,
    /// Connections answered 503 and closed because the listener was at its connection limit.
    pub rejected: Family<ListenerLabels, Counter>,
    /// Connections closed by the server for dawdling (`header` or `idle`).
    pub timed_out: Family<ListenerReasonLabels, Counter>,
    pub open: Family<ListenerLabels, Gauge>,
}

impl ListenerMetrics {
    fn register(r: &mut Registry) -> ListenerMetrics {
        ListenerMetrics {
            accept_errors: registered(
                r,
                "listener_accept_errors",
                "Failed accepts by reason; the loop backs off and keeps accepting",
                Family::default(),
            ),
            accepted: registered(r, "listener_accepted", "Connections accepted", Family::default()),
            rejected: registered(
                r,
                "listener_rejected",
                "Connections refused with a 503 at the connection limit",
                Family::default(),
            ),
            timed_out: registered(
                r,
                "listener_timed_out",
                "Connections closed for a slow request head or idleness",
                Family::default(),
            ),
            open: registered(r, "listener_connections", "Connections open", Family::default()),
        }
    }
}

impl Metrics {
    /// Counts one logged lane episode (`stuck`, `resumed`, `blocked`).
    pub fn lane_episode(&self, event: &'static str) {
        self.lane_episodes.get_or_create(&EpisodeLabels { event }).inc();
    }

    /// How many `event` episodes were logged since start.
    pub fn lane_episodes(&self, event: &'static str) -> u64 {
        self.lane_episodes.get(&EpisodeLabels { event }).map_or(0, |counter| counter.get())
    }

    /// Refreshes the point-in-time gauges and renders the Prometheus text format.
    pub fn render(
        &self,
        loops: &[LoopReport],
        poll_connections: usize,
        stuck: &[crate::app::StuckLane],
        scrape: &Scrape,
    ) -> String {
        self.scrape.refresh(loops, scrape);
        // Stuck lanes come and go: rebuild the family so resumed lanes disappear.
        self.stuck_oldest_ms.clear();
        for lane in stuck {
            let labels = LaneLabels { lane: lane.lane.clone() };
            self.stuck_oldest_ms.get_or_create(&labels).set(lane.oldest_age_ms);
        }
        for report in loops {
            let labels = LoopLabels { name: report.name };
            let clamp = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
            self.loops.iterations.get_or_create(&labels).set(clamp(report.iterations));
            self.loops.restarts.get_or_create(&labels).set(clamp(report.restarts));
            self.loops.stale.get_or_create(&labels).set(i64::from(report.stale));
            let completed = report.last_completed_at_ms.unwrap_or(0);
            self.loops.last_completed_ms.get_or_create(&labels).set(completed);
        }
        self.poll_connections.set(i64::try_from(poll_connections).unwrap_or(i64::MAX));
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut text = String::new();
        let encoded = encode_registry(&mut text, &self.registry)
            .and_then(|()| encode_registry(&mut text, &self.resonate.registry))
            .and_then(|()| encode_eof(&mut text));
        if encoded.is_err() {
            text.clear();
        }
        text
    }
}
