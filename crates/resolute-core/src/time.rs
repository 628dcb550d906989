//! Timestamps in milliseconds since the Unix epoch; arithmetic saturates, nothing reads a clock.

/// A point in time, in milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The latest representable instant; used as "never".
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    pub fn ms(self) -> i64 {
        self.0
    }

    /// Adds a duration, saturating so that huge client-supplied ttls cannot wrap into the past.
    pub fn plus_ms(self, duration_ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(duration_ms))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
