//! The cron dialect of the protocol: 5 fields get a seconds field, 6–7 fields and `@daily`-style
//! aliases pass through, day-of-week 1–7 is Sunday–Saturday, everything in UTC.

use std::str::FromStr;

use chrono::{TimeZone, Utc};

use crate::time::Timestamp;

/// A parsed cron expression.
#[derive(Clone, Debug)]
pub struct Cron(cron::Schedule);

/// If no next instant can be computed, the protocol falls back to one minute later.
const FALLBACK_DELAY_MS: i64 = 60_000;

impl Cron {
    /// Parses an expression; `None` when the protocol answers "Invalid cron expression".
    pub fn parse(expression: &str) -> Option<Cron> {
        let trimmed = expression.trim();
        let fields = trimmed.split_whitespace().count();
        let normalized = if fields == 5 { format!("0 {trimmed}") } else { trimmed.to_owned() };
        if !(trimmed.starts_with('@') || fields == 5 || fields == 6 || fields == 7) {
            return None;
        }
        cron::Schedule::from_str(&normalized).ok().map(Cron)
    }

    /// The first instant strictly after the whole second containing `after`.
    pub fn next_after(&self, after: Timestamp) -> Timestamp {
        let seconds = after.ms().div_euclid(1000);
        let Some(start) = Utc.timestamp_opt(seconds, 0).single() else {
            return after.plus_ms(FALLBACK_DELAY_MS);
        };
        match self.0.after(&start).next() {
            Some(next) => Timestamp(next.timestamp_millis()),
            None => after.plus_ms(FALLBACK_DELAY_MS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_fire_on_the_minute() {
        let cron = Cron::parse("* * * * *").unwrap();
        assert_eq!(cron.next_after(Timestamp(1_700_000_000_500)), Timestamp(1_700_000_040_000));
    }

    #[test]
    fn six_fields_and_aliases_pass_through() {
        let cron = Cron::parse("*/10 * * * * *").unwrap();
        assert_eq!(cron.next_after(Timestamp(1_700_000_000_000)), Timestamp(1_700_000_010_000));
        assert!(Cron::parse("@daily").is_some());
    }

    #[test]
    fn unix_sunday_zero_is_rejected_like_the_reference() {
        assert!(Cron::parse("* * * * 0").is_none());
        assert!(Cron::parse("* * * * 1").is_some());
        assert!(Cron::parse("bogus").is_none());
        assert!(Cron::parse("* * *").is_none());
    }
}
