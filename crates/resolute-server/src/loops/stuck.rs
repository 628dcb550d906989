//! Stuck-queue detection: a lane whose oldest undelivered message is older than a threshold while
//! nothing can take it (no worker connected, target failing, lane full). Logged once as `STUCK`
//! when it starts and once as `RESUMED` when it ends, never every tick; the same figures go to
//! `/health` and `/metrics`.

use std::collections::BTreeMap;
use std::sync::Arc;

use resolute_core::{Command, Reply};

use crate::app::{App, StuckLane};
use crate::dispatch::Dispatcher;

/// Lanes examined per pass (oldest backlog first).
const LANES_PER_PASS_MAX: usize = 100;

/// One pass: read the backlog per lane, judge each lane, report transitions.
pub async fn iteration(app: App, dispatcher: Arc<Dispatcher>) {
    let now = app.now();
    let limit = LANES_PER_PASS_MAX;
    let backlogs = match app.execute(Command::OutboxBacklog { limit }, now).await {
        Ok(Reply::OutboxBacklog(backlogs)) => backlogs,
        Ok(_) => return,
        Err(error) => {
            tracing::warn!(%error, "stuck detection could not read the outbox");
            return;
        }
    };
    let threshold_ms = i64::try_from(app.config().stuck_after.as_millis()).unwrap_or(i64::MAX);
    let mut stuck = Vec::new();
    for backlog in backlogs {
        let age_ms = now.ms().saturating_sub(backlog.oldest_queued_at.ms());
        if age_ms <= threshold_ms {
            continue;
        }
        if let Some(reason) = dispatcher.blockage(&backlog.lane, &backlog.address) {
            stuck.push(StuckLane {
                lane: backlog.lane,
                pending: backlog.pending,
                oldest_age_ms: age_ms,
                reason,
            });
        }
    }
    report_transitions(&app, &app.stuck_lanes(), &stuck);
    app.set_stuck_lanes(stuck);
}

fn report_transitions(app: &App, before: &[StuckLane], after: &[StuckLane]) {
    let was: BTreeMap<&str, &StuckLane> = before.iter().map(|s| (s.lane.as_str(), s)).collect();
    let is: BTreeMap<&str, &StuckLane> = after.iter().map(|s| (s.lane.as_str(), s)).collect();
    for (lane, now) in &is {
        if !was.contains_key(lane) {
            app.metrics().lane_episode("stuck");
            tracing::warn!(
                lane,
                pending = now.pending,
                oldest_age_ms = now.oldest_age_ms,
                reason = now.reason,
                "STUCK: work is ready and nothing can take it"
            );
        }
    }
    for lane in was.keys().filter(|lane| !is.contains_key(*lane)) {
        app.metrics().lane_episode("resumed");
        tracing::info!(lane, "RESUMED: lane is moving again");
    }
}
