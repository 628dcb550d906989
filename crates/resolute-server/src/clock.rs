//! The only place that reads the wall clock; everything below the edge gets time as a value.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use resolute_core::Timestamp;

/// A source of "now" for the edge. Tests and the simulator substitute their own.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// Wall-clock milliseconds, made monotonic per process: it never goes backwards, so a clock
/// step cannot make a lease or a timeout fire "before" an earlier decision.
#[derive(Debug, Default)]
pub struct SystemClock {
    latest_ms: AtomicI64,
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let previous = self.latest_ms.fetch_max(wall_ms, Ordering::AcqRel);
        Timestamp(previous.max(wall_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_never_goes_backwards() {
        let clock = SystemClock::default();
        clock.latest_ms.store(i64::MAX - 1, Ordering::Relaxed);
        assert_eq!(clock.now(), Timestamp(i64::MAX - 1));
    }
}
