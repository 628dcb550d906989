//! The listener probe: an HTTP round trip to our own API every few seconds, on a new connection
//! each time. The accept loop reports its own failures (`listener.rs`); the probe measures what a
//! client sees, whatever the cause (a wedged runtime, say); a dead listener turns health red on
//! the metrics port, which stays reachable.

use std::net::SocketAddr;
use std::time::Duration;

use crate::app::App;

/// Longest a probe may take before the listener counts as unresponsive.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// One probe. Success clears a failure episode; failure starts one (logged once).
pub async fn iteration(app: App, client: reqwest::Client, address: SocketAddr) {
    let url = format!("http://{address}/health");
    let answered = matches!(client.get(&url).timeout(PROBE_TIMEOUT).send().await, Ok(response) if response.status().as_u16() < 500 || response.status().as_u16() == 503);
    let now = app.now();
    match (answered, app.listener_failing_since()) {
        (true, Some(since)) => {
            tracing::info!(down_ms = now.ms() - since.ms(), "listener answers again");
            app.set_listener_failing_since(None);
        }
        (false, None) => {
            tracing::error!(%address, "listener does not answer its own probe");
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
