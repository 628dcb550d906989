//! The timeout pass as a supervised iteration: promise timeouts, retries, leases, schedules.

use std::time::Duration;

use crate::app::App;

/// Time after which a pass starts no new tick. In a 15-minute soak, 99k pending tasks whose
/// retry timers fell due together made one pass of ticks outlast the 30 s iteration deadline: the
/// pass was abandoned and health went stale although every tick was making progress.
const PASS_BUDGET: Duration = Duration::from_secs(5);

/// One iteration: the bounded pass at the current time. A store failure is logged and the next
/// iteration tries again; the supervisor sees the iteration complete, because the loop itself is
/// healthy (readiness reports the storage problem).
pub async fn iteration(app: App) {
    if app.is_paused() {
        return;
    }
    match app.run_timeouts_within(app.now(), Some(PASS_BUDGET)).await {
        Ok(report) if report != Default::default() => tracing::debug!(?report, "timeout pass"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "timeout pass failed; retrying next interval"),
    }
}
