//! Whether the writer's commits are failing (a full disk, I/O errors): what readiness reports,
//! and the probe write that finds the end of the fault when no request comes to find it.

use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::schema::unavailable;
use crate::error::StoreError;
use crate::streak::FailureStreak;

/// How long readiness reports a failed commit before a probe write may clear it. Without the
/// wait the probe, one small page, can succeed in the WAL's spare room while the disk is still
/// full, and readiness would flip back at once though requests keep failing.
pub(crate) const PROBE_AFTER: Duration = Duration::from_secs(2);

/// The writer's record of failed commits; it lives on the writer, like the connection.
pub(crate) struct WriteHealth {
    streak: FailureStreak,
    /// The latest failure, and when it happened.
    last: Option<(Instant, String)>,
}

impl Default for WriteHealth {
    fn default() -> WriteHealth {
        WriteHealth { streak: FailureStreak::new("storage writes"), last: None }
    }
}

impl WriteHealth {
    /// A batch committed: writes work (again).
    pub(crate) fn committed(&mut self, now: Instant) {
        self.streak.succeed(now);
        self.last = None;
    }

    /// Whether the latest write failed.
    pub(crate) fn is_failing(&self) -> bool {
        self.last.is_some()
    }

    /// A batch could not be committed (nothing of it was kept).
    pub(crate) fn failed(&mut self, error: &StoreError, now: Instant) {
        self.streak.fail(error, now);
        let cause = match error {
            StoreError::Unavailable(cause) | StoreError::Corrupt(cause) => cause.clone(),
            other => other.to_string(),
        };
        self.last = Some((now, cause));
    }

    /// Readiness: `Ok` unless the latest commit failed. Once that failure is `PROBE_AFTER` old,
    /// `probe` (a real commit) decides, so the fault's end is seen without traffic.
    pub(crate) fn ready(
        &mut self,
        now: Instant,
        probe: impl FnOnce() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let Some(at) = self.last.as_ref().map(|(at, _)| *at) else { return Ok(()) };
        if now.duration_since(at) >= PROBE_AFTER {
            match probe() {
                Ok(()) => {
                    self.committed(now);
                    return Ok(());
                }
                Err(error) => self.failed(&error, now),
            }
        }
        let error = self.last.as_ref().map_or("", |(_, error)| error.as_str());
        Err(StoreError::Unavailable(format!("writes failing: {error}")))
    }
}

/// The smallest commit there is: one page, the header's `user_version` rewritten unchanged.
pub(crate) fn probe_write(connection: &Connection) -> Result<(), StoreError> {
    let result = (|| {
        connection.execute_batch("BEGIN IMMEDIATE")?;
        let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        connection.pragma_update(None, "user_version", version)?;
        connection.execute_batch("COMMIT")
    })();
    if result.is_err() && !connection.is_autocommit() {
        // Best effort: a connection that cannot roll back reports that on its next statement.
        let _ = connection.execute_batch("ROLLBACK");
    }
    result.map_err(unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> StoreError {
        StoreError::Unavailable("database or disk is full".into())
    }

    #[test]
    fn readiness_reports_a_failed_commit_then_lets_a_probe_clear_it() {
        let start = Instant::now();
        let mut health = WriteHealth::default();
        assert!(health.ready(start, || panic!("no probe while writes work")).is_ok());
        health.failed(&full(), start);
        let early = health.ready(start + PROBE_AFTER / 2, || panic!("too early to probe"));
        let said = early.map_err(|error| error.to_string());
        assert_eq!(
            said,
            Err("storage unavailable: writes failing: database or disk is full".into())
        );
        let later = start + PROBE_AFTER;
        assert!(health.ready(later, || Err(full())).is_err(), "a failing probe keeps it failing");
        let sooner = health.ready(later + PROBE_AFTER / 2, || panic!("the probe failed just now"));
        assert!(sooner.is_err());
        assert!(health.ready(later + PROBE_AFTER, || Ok(())).is_ok());
        assert!(health.ready(later + PROBE_AFTER, || panic!("writes work again")).is_ok());
    }

    #[test]
    fn a_commit_ends_the_failure_at_once() {
        let start = Instant::now();
        let mut health = WriteHealth::default();
        health.failed(&full(), start);
        health.committed(start);
        assert!(health.ready(start, || panic!("writes work")).is_ok());
    }

    #[test]
    fn the_probe_write_commits_a_page_and_changes_nothing() {
        let connection = Connection::open_in_memory().expect("open");
        connection.pragma_update(None, "user_version", 7).expect("set");
        probe_write(&connection).expect("probe");
        let version: i64 =
            connection.query_row("PRAGMA user_version", [], |row| row.get(0)).expect("read");
        assert_eq!((version, connection.is_autocommit()), (7, true));
    }
}
