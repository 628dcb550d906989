//! The async edge of resolute: the HTTP API (axum), the background loops and the clock.
//!
//! Everything here is I/O and scheduling; every protocol decision is made by `resolute-core`
//! through a `resolute-store` backend.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod dispatch;
pub mod explain;
pub mod http;
pub mod listener;
pub mod loops;
pub mod metrics;
pub mod poll;
pub mod process;
pub mod runtime_watch;
pub mod supervisor;

use std::sync::Arc;

use resolute_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use app::App;
pub use clock::{Clock, SystemClock};
pub use config::ServerConfig;

/// Serves the API on `listener` until `shutdown` resolves, with the background loops running.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = App::new(store.clone(), Arc::new(SystemClock::default()), config);
    let watch = runtime_watch::start(app.config().stall_exit_after)?;
    app.set_runtime_watch(watch.clone());
    if store.is_shared() {
        // Other nodes' leases are live attempts: they expire on their own if their node died.
        let woken = app.clone();
        store.on_remote_change(Box::new(move || woken.wake_dispatcher()));
    } else if let Err(error) = app.execute(resolute_core::Command::ReleaseLeases, app.now()).await {
        // A single node owns every lease: attempts from before a restart are dead, so their
        // messages are due again at once instead of after their leases expire.
        tracing::warn!(%error, "could not release leases left by the previous run");
    }
    let (stop_loops, loops_stopped) = watch::channel(false);
    if let Some(address) = app.config().metrics_listen {
        spawn_metrics_listener(app.clone(), address, loops_stopped.clone());
    }
    let mut loops = loops::start(&app, loops_stopped.clone());
    if let Ok(local) = listener.local_addr() {
        loops.extend(loops::start_probe(&app, local, loops_stopped));
    }
    let (stop_accepting, accepting) = watch::channel(false);
    let registry = app.registry().clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections; SSE streams closed; draining requests");
        // Open SSE streams would hold graceful shutdown for ever: end them (their undelivered
        // messages stay in the outbox for the next start).
        registry.close_all();
        let _ = stop_accepting.send(true);
    };
    let spec = listener::Spec { name: "api", limits: app.config().listener, reports_health: true };
    let server = listener::run(listener, http::router(app.clone()), app.clone(), spec, accepting);
    let grace = app.config().shutdown_grace;
    tokio::select! {
        () = server => {}
        () = async { signal.await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "requests still in flight after the grace period; stopping anyway");
        }
    }
    let _ = stop_loops.send(true);
    for handle in loops {
        let _ = tokio::time::timeout(grace, handle).await;
    }
    watch.stop();
    // The store outlives this function (the dispatcher it claims for holds the app, which holds
    // the store), so it is closed here rather than dropped.
    store.close();
    Ok(())
}

/// Connections the metrics listener allows: scrapers and probes, not clients.
const METRICS_MAX_CONNECTIONS: usize = 64;

/// Serves `/metrics`; a bind failure is logged and the API keeps running, like the reference.
fn spawn_metrics_listener(app: App, address: std::net::SocketAddr, stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let listener = match TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%address, %error, "metrics listener could not bind; continuing without it");
                return;
            }
        };
        let limits = config::ListenerLimits {
            max_connections: METRICS_MAX_CONNECTIONS,
            ..app.config().listener
        };
        let spec = listener::Spec { name: "metrics", limits, reports_health: false };
        listener::run(listener, http::metrics_router(app.clone()), app, spec, stop).await;
    });
}
