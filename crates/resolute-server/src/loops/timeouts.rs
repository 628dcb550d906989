//! The timeout pass as a supervised iteration: promise timeouts, retries, leases, schedules.

use crate::app::App;

/// One iteration: the bounded pass at the current time. A store failure is logged and the next
/// iteration tries again; the supervisor sees the iteration complete, because the loop itself is
/// healthy (readiness reports the storage problem).
pub async fn iteration(app: App) {
    if app.is_paused() {
        return;
    }
    match app.run_timeouts(app.now()).await {
        Ok(report) if report != Default::default() => tracing::debug!(?report, "timeout pass"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "timeout pass failed; retrying next interval"),
    }
}
