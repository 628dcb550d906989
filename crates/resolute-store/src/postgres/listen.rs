//! The LISTEN connection: other nodes' commits that queue messages wake this node's dispatcher.
//!
//! Notifications are a hint, never the truth (the dispatcher's periodic pass is): a missed one
//! costs latency, not work. A LISTEN connection can die silently (F3/F4 in the field reports), so
//! an idle connection is probed every few seconds; a dead one is logged once, re-established with
//! back-off, and the dispatcher is woken after each reconnect to cover what was missed meanwhile.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fallible_iterator::FallibleIterator;
use postgres::Client;

use super::pool::{connect, CHANNEL};

/// How long the listener waits for a notification before probing its connection.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(5);

pub(crate) fn spawn(
    config: postgres::Config,
    running: Arc<AtomicBool>,
    wake: Box<dyn Fn() + Send + Sync>,
) {
    let spawned = std::thread::Builder::new()
        .name("resolute-pg-listen".into())
        .spawn(move || listen_until_stopped(&config, &running, wake.as_ref()));
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the LISTEN thread; other nodes' work is found by the periodic pass only");
    }
}

fn listen_until_stopped(config: &postgres::Config, running: &AtomicBool, wake: &dyn Fn()) {
    let mut delay = Duration::from_millis(100);
    let mut lost = false;
    while running.load(Ordering::Acquire) {
        match subscribe(config) {
            Ok(mut client) => {
                if lost {
                    tracing::info!("LISTEN connection re-established");
                }
                delay = Duration::from_millis(100);
                wake();
                let error = relay(&mut client, running, wake);
                let Some(error) = error else { return };
                tracing::warn!(%error, "LISTEN connection lost; reconnecting");
                lost = true;
            }
            Err(error) => {
                if !lost {
                    tracing::warn!(%error, "LISTEN connection failed; retrying");
                }
                lost = true;
            }
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(RECONNECT_DELAY_MAX);
    }
}

/// Names the connection, so an operator (or a test) can find it in `pg_stat_activity`.
const APPLICATION_NAME: &str = "resolute-listen";

fn subscribe(config: &postgres::Config) -> Result<Client, String> {
    let mut config = config.clone();
    config.application_name(APPLICATION_NAME);
    let mut client = connect(&config).map_err(|error| error.to_string())?;
    client.batch_execute(&format!("LISTEN {CHANNEL}")).map_err(|error| error.to_string())?;
    Ok(client)
}

/// Passes notifications on until the connection fails (its error) or the store stops (`None`).
fn relay(client: &mut Client, running: &AtomicBool, wake: &dyn Fn()) -> Option<String> {
    while running.load(Ordering::Acquire) {
        let received = {
            let mut notifications = client.notifications();
            let mut waiting = notifications.timeout_iter(PROBE_INTERVAL);
            match waiting.next() {
                Ok(received) => received.is_some(),
                Err(error) => return Some(error.to_string()),
            }
        };
        if received {
            wake();
        } else if let Err(error) = client.simple_query("SELECT 1") {
            return Some(error.to_string());
        }
    }
    None
}
