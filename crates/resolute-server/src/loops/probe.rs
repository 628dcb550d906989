//! The listener probe: an HTTP round trip to our own API every few seconds, on a new connection
//! each time. The accept loop reports its own failures (`listener.rs`); the probe measures what a
//! client sees, whatever the cause (a wedged runtime, say); a dead listener turns health red on
//! the metrics port, which stays reachable.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::app::App;

/// Longest a probe may take before it counts as unanswered. Generous on purpose: a saturated
/// server answers a new connection late (it queues behind the requests already in flight), and
/// saturation is shed by the request limits, not reported as a dead listener; a dead accept loop
/// never answers at all, so it is caught all the same, within two probes.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Consecutive unanswered probes before the listener counts as failing: one slow answer on a
/// machine that is briefly starved of CPU is not a dead listener (seen in a soak run on two cores
/// shared with compilers); two in a row, five seconds apart, are.
pub const PROBE_MISSES_MAX: u32 = 2;

/// One probe. Success clears a failure episode; `PROBE_MISSES_MAX` misses in a row start one
/// (logged once). `misses` carries the count from one iteration to the next.
pub async fn iteration(
    app: App,
    client: reqwest::Client,
    address: SocketAddr,
    misses: Arc<AtomicU32>,
) {
    let url = format!("http://{address}/health");
    let answered = matches!(client.get(&url).timeout(PROBE_TIMEOUT).send().await, Ok(response) if response.status().as_u16() < 500 || response.status().as_u16() == 503);
    let now = app.now();
    let missed = if answered {
        misses.store(0, Ordering::Release);
        0
    } else {
        misses.fetch_add(1, Ordering::AcqRel) + 1
    };
    match (answered, app.listener_failing_since()) {
        (true, Some(since)) => {
            tracing::info!(down_ms = now.ms() - since.ms(), "listener answers again");
            app.set_listener_failing_since(None);
        }
        (false, None) if missed >= PROBE_MISSES_MAX => {
            tracing::error!(%address, missed, "listener does not answer its own probe");
            app.set_listener_failing_since(Some(now));
        }
        _ => {}
    }
}

/// The probe's address: loopback on the listening port when bound to all interfaces.
pub fn probe_address(local: SocketAddr) -> SocketAddr {
    if local.ip().is_unspecified() {
        let loopback = if local.is_ipv4() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            std::net::IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1])
        };
        SocketAddr::new(loopback, local.port())
    } else {
        local
    }
}
