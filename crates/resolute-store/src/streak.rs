//! A run of consecutive failures of something retried on a timer, and its log lines.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// While failures go on, how often they are logged again.
pub const FAILURE_LOG_EVERY: Duration = Duration::from_secs(60);

/// Consecutive failures, to be logged when the run starts, once a minute while it lasts, and when
/// it ends: a pass that fails every 250 ms must not flood the log, and an operator must still
/// learn that it keeps failing. Time is an argument, so the rule is tested without waiting.
#[derive(Debug)]
pub struct FailureStreak {
    /// What fails, as the log lines name it ("storage writes", "the timeout pass").
    what: &'static str,
    failures: u64,
    started_at: Option<Instant>,
    logged_at: Option<Instant>,
}

impl FailureStreak {
    pub fn new(what: &'static str) -> FailureStreak {
        FailureStreak { what, failures: 0, started_at: None, logged_at: None }
    }

    /// Counts a failure and logs it when due.
    pub fn fail(&mut self, error: &dyn Display, now: Instant) {
        if let Some(failures) = self.failed(now) {
            let what = self.what;
            tracing::warn!(%error, failures, "{what}: failing, retried on its own");
        }
    }

    /// Ends a run of failures, if there was one, with a line saying so.
    pub fn succeed(&mut self, now: Instant) {
        if let Some((failures, lasted)) = self.ended(now) {
            let (what, failing_ms) =
                (self.what, u64::try_from(lasted.as_millis()).unwrap_or(u64::MAX));
            tracing::info!(failures, failing_ms, "{what}: working again");
        }
    }

    /// Counts a failure; returns the run's length when this one is due to be logged.
    pub fn failed(&mut self, now: Instant) -> Option<u64> {
        self.failures += 1;
        self.started_at.get_or_insert(now);
        let due = self.logged_at.is_none_or(|at| now.duration_since(at) >= FAILURE_LOG_EVERY);
        due.then(|| {
            self.logged_at = Some(now);
            self.failures
        })
    }

    /// Ends the run; returns its length and duration when there was one (worth a line).
    pub fn ended(&mut self, now: Instant) -> Option<(u64, Duration)> {
        let ended = self.started_at.map(|at| (self.failures, now.duration_since(at)));
        *self = FailureStreak::new(self.what);
        ended
    }

    /// Whether a run is under way.
    pub fn is_failing(&self) -> bool {
        self.failures > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUARTER_SECOND: Duration = Duration::from_millis(250);

    #[test]
    fn a_failure_streak_is_logged_at_its_start_then_once_a_minute_and_starts_over_after_a_success()
    {
        let start = Instant::now();
        let mut streak = FailureStreak::new("a test");
        assert_eq!(streak.failed(start), Some(1));
        let quarter_seconds = (1..240).map(|n| start + QUARTER_SECOND * n);
        assert!(quarter_seconds.map(|at| streak.failed(at)).all(|logged| logged.is_none()));
        assert_eq!(streak.failed(start + FAILURE_LOG_EVERY), Some(241));
        assert!(streak.is_failing());
        let end = start + FAILURE_LOG_EVERY * 2;
        assert_eq!(streak.ended(end), Some((241, FAILURE_LOG_EVERY * 2)));
        assert!(!streak.is_failing());
        assert_eq!(streak.ended(end), None, "a success after a success is not news");
        assert_eq!(streak.failed(end), Some(1));
    }
}
