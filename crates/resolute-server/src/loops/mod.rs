//! Background loops of the edge, each started under the supervisor.

pub mod probe;
pub mod stuck;
pub mod timeouts;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use resolute_store::streak::FailureStreak;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::dispatch::{DispatchConfig, Dispatcher};
use crate::supervisor::LoopSpec;

/// A timeout pass drains bounded batches; anything slower than this is wedged.
const TIMEOUTS_DEADLINE: Duration = Duration::from_secs(30);

/// The dispatcher's reconciliation pass runs at least this often, whatever the wake-ups did.
const DISPATCH_INTERVAL: Duration = Duration::from_secs(1);
/// A dispatch pass only reads, claims and spawns deliveries; it never awaits a delivery.
const DISPATCH_DEADLINE: Duration = Duration::from_secs(30);

/// The dispatcher's settings from the server's. A push may legitimately take its whole request
/// timeout, so its slot is not reclaimed (and the message sent again) before that has run out.
/// On a `shared` store the worker backlog's hold is off unless asked for.
pub(crate) fn dispatch_config(
    server: &crate::config::ServerConfig,
    shared: bool,
) -> DispatchConfig {
    let defaults = DispatchConfig::default();
    let push = server.push.clone();
    let slot_ceiling = defaults.slot_ceiling.max(push.request_timeout + Duration::from_secs(5));
    let mut backlog = server.worker_backlog;
    if shared && !backlog.on_shared_store {
        backlog.per_poll_worker = 0;
    }
    DispatchConfig {
        batch: server.dispatch_batch.max(1),
        push_slots_per_lane: server.push_concurrency_per_target.max(1),
        backlog,
        push,
        slot_ceiling,
        transports: server.transports,
        ..defaults
    }
}

/// Starts the listener probe for the API bound at `local`.
pub fn start_probe(
    app: &App,
    local: std::net::SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    // No pooled connections: a kept-alive connection would be answered by a listener whose
    // accept loop had died, which is exactly what the probe must notice.
    let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(0).build().ok()?;
    let address = probe::probe_address(local);
    let spec = LoopSpec {
        name: "listener-probe",
        interval: Duration::from_secs(5),
        deadline: probe::PROBE_TIMEOUT * 2,
    };
    let probe_app = app.clone();
    let misses = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    Some(app.supervisor().spawn(
        spec,
        move || probe::iteration(probe_app.clone(), client.clone(), address, misses.clone()),
        std::future::pending::<()>,
        shutdown,
    ))
}

/// Starts every background loop; they stop when `shutdown` turns true.
pub fn start(app: &App, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let timeouts = LoopSpec {
        name: "timeouts",
        interval: app.config().timeouts_interval,
        deadline: TIMEOUTS_DEADLINE,
    };
    let pass_app = app.clone();
    let failures = Arc::new(Mutex::new(FailureStreak::new("the timeout pass")));
    let timeouts = app.supervisor().spawn(
        timeouts,
        move || timeouts::iteration(pass_app.clone(), Arc::clone(&failures)),
        std::future::pending::<()>,
        shutdown.clone(),
    );
    let config = dispatch_config(app.config(), app.store().is_shared());
    let dispatcher = Dispatcher::new(app.clone(), config);
    app.set_dispatcher(dispatcher.clone());
    dispatcher.claim_on_commit();
    let dispatch =
        LoopSpec { name: "dispatcher", interval: DISPATCH_INTERVAL, deadline: DISPATCH_DEADLINE };
    let stuck = start_stuck_watch(app, dispatcher.clone(), shutdown.clone());
    let (pass, wake) = (dispatcher.clone(), dispatcher);
    let dispatch = app.supervisor().spawn(
        dispatch,
        move || pass.clone().pass(),
        move || {
            let wake = wake.clone();
            async move { wake.wake().await }
        },
        shutdown,
    );
    vec![timeouts, dispatch, stuck]
}

/// Lanes are checked four times per stuck threshold, between 100 ms and 5 s apart.
fn stuck_interval(stuck_after: Duration) -> Duration {
    (stuck_after / 4).clamp(Duration::from_millis(100), Duration::from_secs(5))
}

fn start_stuck_watch(
    app: &App,
    dispatcher: std::sync::Arc<Dispatcher>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let interval = stuck_interval(app.config().stuck_after);
    let spec = LoopSpec { name: "stuck-watch", interval, deadline: TIMEOUTS_DEADLINE };
    let watch_app = app.clone();
    app.supervisor().spawn(
        spec,
        move || stuck::iteration(watch_app.clone(), dispatcher.clone()),
        std::future::pending::<()>,
        shutdown,
    )
}

#[cfg(test)]
mod tests;
