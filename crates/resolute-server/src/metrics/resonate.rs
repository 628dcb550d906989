//! The five series the Resonate server exports (protocol §10), under its names and with its
//! default buckets, so dashboards and alerts built for it keep working after a switch. They are
//! fed at the same points as resolute's own series, which say more (`resolute_*`).
//!
//! One deliberate difference: `kind` is the operation's name only when it is a known one, else
//! `unknown`. The reference labels with whatever string the client sent, which lets any client
//! grow the metrics without bound.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::{registered, KindLabels, RequestLabels};

/// The reference's histogram buckets: Prometheus' defaults, 5 ms to 10 s.
const DEFAULT_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: &'static str,
}

pub struct ResonateMetrics {
    pub(super) registry: Registry,
    /// `resonate_request_duration_seconds{kind}`.
    request_seconds: Family<KindLabels, Histogram>,
    /// `resonate_messages_total{kind}`: messages taken from the outbox for delivery.
    messages: Family<KindLabels, Counter>,
    /// `resonate_deliveries_total{status}`: HTTP push outcomes (poll is not counted there).
    deliveries: Family<StatusLabels, Counter>,
    /// `resonate_schedule_promises_total`: schedule occurrences processed.
    schedule_promises: Counter,
}

impl ResonateMetrics {
    /// `requests` is resolute's own request counter: it counts at the same point with the same
    /// labels, so it is exported a second time as `resonate_request_total` instead of being
    /// counted twice.
    pub fn new(requests: &Family<RequestLabels, Counter>) -> ResonateMetrics {
        let mut registry = Registry::with_prefix("resonate");
        let r = &mut registry;
        registered(r, "request", "Requests by kind and status", requests.clone());
        let latency = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(DEFAULT_BUCKETS)
        });
        ResonateMetrics {
            request_seconds: registered(r, "request_duration_seconds", "Request latency", latency),
            messages: registered(r, "messages", "Messages taken for delivery", Family::default()),
            deliveries: registered(r, "deliveries", "HTTP push outcomes", Family::default()),
            schedule_promises: registered(
                r,
                "schedule_promises",
                "Schedule occurrences processed",
                Counter::default(),
            ),
            registry,
        }
    }

    /// One request's latency in the reference's buckets (its count is `requests`'s).
    pub fn request_took(&self, kind: &'static str, seconds: f64) {
        self.request_seconds.get_or_create(&KindLabels { kind }).observe(seconds);
    }

    /// One message taken for delivery: `execute` or `unblock`.
    pub fn message(&self, kind: &'static str) {
        self.messages.get_or_create(&KindLabels { kind }).inc();
    }

    /// One HTTP push outcome: `success`, `error` or `dropped`.
    pub fn push_delivery(&self, status: &'static str) {
        self.deliveries.get_or_create(&StatusLabels { status }).inc();
    }

    pub fn schedules_fired(&self, count: usize) {
        self.schedule_promises.inc_by(count as u64);
    }
}
