//! Every metric resolute exports, in one place. Names follow `resolute_<noun>_<verb>_<unit>`.

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
pub struct LoopLabels {
    pub name: &'static str,
}

/// The kinds a client may send; anything else is counted as `unknown` so labels stay bounded.
const KNOWN_KINDS: &[&str] = &[
    "promise.get",
    "promise.create",
    "promise.settle",
    "promise.register_callback",
    "promise.register_listener",
    "promise.search",
    "task.get",
    "task.create",
    "task.acquire",
    "task.release",
    "task.fulfill",
    "task.suspend",
    "task.fence",
    "task.heartbeat",
    "task.halt",
    "task.continue",
    "task.search",
    "schedule.get",
    "schedule.create",
    "schedule.delete",
    "schedule.search",
    "debug.start",
    "debug.stop",
    "debug.reset",
    "debug.snap",
    "debug.tick",
];

/// Maps a client-supplied kind onto a bounded label value.
pub fn kind_label(kind: &str) -> &'static str {
    KNOWN_KINDS
        .iter()
        .find(|known| **known == kind)
        .copied()
        .unwrap_or("unknown")
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<KindLabels, Histogram>,
    pub deliveries: Family<DeliveryLabels, Counter>,
    pub messages_dropped: Counter,
    pub slots_reclaimed: Counter,
    pub poll_connections: Gauge,
    loop_iterations: Family<LoopLabels, Gauge>,
    loop_restarts: Family<LoopLabels, Gauge>,
    loop_stale: Family<LoopLabels, Gauge>,
    loop_last_completed_ms: Family<LoopLabels, Gauge>,
    stuck_oldest_ms: Family<LaneLabels, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LaneLabels {
    pub lane: String,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("resolute");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "RPC requests by kind and status",
            requests.clone(),
        );
        let request_seconds = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 18))
        });
        registry.register(
            "request_duration_seconds",
            "RPC latency by kind",
            request_seconds.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Delivery attempts by transport and outcome",
            deliveries.clone(),
        );
        let messages_dropped = Counter::default();
        registry.register(
            "messages_dropped",
            "Messages that can never be delivered",
            messages_dropped.clone(),
        );
        let slots_reclaimed = Counter::default();
        registry.register(
            "slots_reclaimed",
            "Delivery slots reclaimed after no progress",
            slots_reclaimed.clone(),
        );
        let poll_connections = Gauge::default();
        registry.register(
            "poll_connections",
            "Open SSE worker connections",
            poll_connections.clone(),
        );
        let loop_iterations = Family::<LoopLabels, Gauge>::default();
        registry.register(
            "loop_iterations",
            "Completed iterations per background loop",
            loop_iterations.clone(),
        );
        let loop_restarts = Family::<LoopLabels, Gauge>::default();
        registry.register(
            "loop_restarts",
            "Panics and overruns per background loop",
            loop_restarts.clone(),
        );
        let loop_stale = Family::<LoopLabels, Gauge>::default();
        registry.register(
            "loop_stale",
            "1 when a loop has not completed an iteration in time",
            loop_stale.clone(),
        );
        let loop_last_completed_ms = Family::<LoopLabels, Gauge>::default();
        registry.register(
            "loop_last_completed_at_ms",
            "Wall-clock ms of each loop's last completed iteration",
            loop_last_completed_ms.clone(),
        );
        let stuck_oldest_ms = Family::<LaneLabels, Gauge>::default();
        registry.register(
            "stuck_lane_oldest_age_ms",
            "Age of the oldest undelivered message of each lane reported stuck",
            stuck_oldest_ms.clone(),
        );
        Metrics {
            stuck_oldest_ms,
            registry,
            requests,
            request_seconds,
            deliveries,
            messages_dropped,
            slots_reclaimed,
            poll_connections,
            loop_iterations,
            loop_restarts,
            loop_stale,
            loop_last_completed_ms,
        }
    }
}

impl Metrics {
    /// Refreshes the point-in-time gauges and renders the Prometheus text format.
    pub fn render(
        &self,
        loops: &[LoopReport],
        poll_connections: usize,
        stuck: &[crate::app::StuckLane],
    ) -> String {
        // Stuck lanes come and go: rebuild the family so resumed lanes disappear.
        self.stuck_oldest_ms.clear();
        for lane in stuck {
            let labels = LaneLabels {
                lane: lane.lane.clone(),
            };
            self.stuck_oldest_ms
                .get_or_create(&labels)
                .set(lane.oldest_age_ms);
        }
        for report in loops {
            let labels = LoopLabels { name: report.name };
            let clamp = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
            self.loop_iterations
                .get_or_create(&labels)
                .set(clamp(report.iterations));
            self.loop_restarts
                .get_or_create(&labels)
                .set(clamp(report.restarts));
            self.loop_stale
                .get_or_create(&labels)
                .set(i64::from(report.stale));
            let completed = report.last_completed_at_ms.unwrap_or(0);
            self.loop_last_completed_ms
                .get_or_create(&labels)
                .set(completed);
        }
        self.poll_connections
            .set(i64::try_from(poll_connections).unwrap_or(i64::MAX));
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
