//! The cron dialect of the protocol: 5 fields get a seconds field, 6–7 fields and `@daily`-style
//! aliases pass through, day-of-week 1–7 is Sunday–Saturday, everything in UTC.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

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
        // The crate's own answer when it has one; past its range (or for an instant beyond it,
        // such as the next 29 February after 2096) the equivalent years'.
        let next = match start.year() > LAST_CRATE_YEAR {
            true => None,
            false => self.0.after(&start).next(),
        };
        let next = next.or_else(|| self.next_in_equivalent_years(start));
        next.map_or(after.plus_ms(FALLBACK_DELAY_MS), |next| Timestamp(next.timestamp_millis()))
    }

    /// Past 2099 the cron crate finds nothing, so each year from `start`'s on is stood in for by
    /// an equivalent one it knows (same leap status, same weekday on 1 January, hence the same
    /// weekday on every date), and the answer is moved back by the whole weeks between the two.
    /// Nine years cover every expression that fires at all (29 February is at most eight apart).
    fn next_in_equivalent_years(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        for offset in 0..9 {
            let year = start.year().checked_add(offset)?;
            let year_start = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).single()?;
            let from = if offset == 0 { start } else { year_start - Duration::seconds(1) };
            let stand_in = equivalent_year(year)?;
            let shift = year_start - Utc.with_ymd_and_hms(stand_in, 1, 1, 0, 0, 0).single()?;
            let stand_in_end = Utc.with_ymd_and_hms(stand_in + 1, 1, 1, 0, 0, 0).single()?;
            match self.0.after(&(from - shift)).next() {
                Some(next) if next < stand_in_end => return Some(next + shift),
                _ => continue,
            }
        }
        None
    }
}

/// The last year the cron crate computes instants in (its range ends with 2100).
const LAST_CRATE_YEAR: i32 = 2099;

/// A year up to 2099 whose calendar is `year`'s: the same leap status and 1 January on the same
/// weekday. One exists for every year (a 28-year span without a skipped leap year has them all).
fn equivalent_year(year: i32) -> Option<i32> {
    let january_first = |year: i32| NaiveDate::from_ymd_opt(year, 1, 1).map(|date| date.weekday());
    let target = (is_leap(year), january_first(year)?);
    (LAST_CRATE_YEAR - 27..=LAST_CRATE_YEAR).rev().find(|&candidate| {
        (is_leap(candidate), january_first(candidate)) == (target.0, Some(target.1))
    })
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
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

    /// Past 2099 an equivalent year stands in (protocol §6), instead of one minute later.
    #[test]
    fn years_past_2099_fire_on_their_own_calendar() {
        let at = |text: &str| Timestamp(text.parse::<DateTime<Utc>>().unwrap().timestamp_millis());
        let daily = Cron::parse("@daily").unwrap();
        let next = daily.next_after(at("2101-01-01T00:00:05Z"));
        assert_eq!(next, at("2101-01-02T00:00:00Z"));
        let mondays = Cron::parse("0 0 12 * * Mon").unwrap();
        assert_eq!(mondays.next_after(at("2101-01-01T00:00:00Z")), at("2101-01-03T12:00:00Z"));
        let new_year = Cron::parse("0 0 0 1 1 *").unwrap();
        assert_eq!(new_year.next_after(at("2150-06-01T00:00:00Z")), at("2151-01-01T00:00:00Z"));
        // 2100 is not a leap year: the next 29 February is in 2104.
        let leap_day = Cron::parse("0 0 0 29 2 *").unwrap();
        assert_eq!(leap_day.next_after(at("2099-03-01T00:00:00Z")), at("2104-02-29T00:00:00Z"));
        assert_eq!(leap_day.next_after(at("2100-01-01T00:00:00Z")), at("2104-02-29T00:00:00Z"));
    }

    #[test]
    fn every_year_has_an_equivalent_the_crate_knows() {
        for year in 2100..2600 {
            let stand_in = equivalent_year(year).expect("an equivalent year");
            assert!(stand_in <= LAST_CRATE_YEAR);
            assert_eq!(is_leap(stand_in), is_leap(year), "{year}");
        }
    }

    #[test]
    fn unix_sunday_zero_is_rejected_like_the_reference() {
        assert!(Cron::parse("* * * * 0").is_none());
        assert!(Cron::parse("* * * * 1").is_some());
        assert!(Cron::parse("bogus").is_none());
        assert!(Cron::parse("* * *").is_none());
    }
}
