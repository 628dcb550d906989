//! The server's own view of dispatch delay in a bench run: one `/metrics` scrape at the end of the
//! run, and the quantiles of `resolute_message_handoff_delay_seconds` read from its buckets.
//! Next to loadgen's create→execute figures it tells the server's share from the client's.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const SERIES: &str = "resolute_message_handoff_delay_seconds_bucket{";

/// The metrics page of the server on `port`, or `None` if it does not answer within a second.
pub fn scrape(port: u16) -> Option<String> {
    let limit = Some(Duration::from_secs(1));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(limit).ok()?;
    stream.set_write_timeout(limit).ok()?;
    // HTTP/1.0: the server closes the connection after the answer, so reading to the end is safe.
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut page = String::new();
    stream.take(16 << 20).read_to_string(&mut page).ok()?;
    Some(page)
}

/// Upper bounds, in ms, of the buckets holding the median and the 99th percentile of the hand-off
/// delay (all transports together); `None` when nothing was handed off.
pub fn quantiles(page: &str) -> Option<(f64, f64)> {
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for line in page.lines().filter(|line| line.starts_with(SERIES)) {
        let Some((bound, count)) = bucket(line) else { continue };
        match buckets.iter_mut().find(|(known, _)| *known == bound) {
            Some((_, total)) => *total += count,
            None => buckets.push((bound, count)),
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let at = |share: f64| {
        let (bound, _) = buckets.iter().find(|(_, count)| *count >= share * total)?;
        Some(bound * 1000.0)
    };
    Some((at(0.5)?, at(0.99)?))
}

/// Creates the server held back for room at their workers (`resolute_create_hold_seconds`).
pub fn creates_held(page: &str) -> Option<u64> {
    let line = page.lines().find(|line| line.starts_with("resolute_create_hold_seconds_count "))?;
    line.rsplit(' ').next()?.parse().ok()
}

/// `…{le="0.004",transport="poll"} 26502` → (0.004, 26502); `+Inf` is infinity.
fn bucket(line: &str) -> Option<(f64, f64)> {
    let le = line.split("le=\"").nth(1)?.split('"').next()?;
    let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
    let count = line.rsplit(' ').next()?.parse().ok()?;
    Some((bound, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_cumulative_buckets_of_every_transport() {
        let page = "\
resolute_message_handoff_delay_seconds_bucket{le=\"0.001\",transport=\"poll\"} 40
resolute_message_handoff_delay_seconds_bucket{le=\"0.002\",transport=\"poll\"} 60
resolute_message_handoff_delay_seconds_bucket{le=\"0.004\",transport=\"poll\"} 90
resolute_message_handoff_delay_seconds_bucket{le=\"+Inf\",transport=\"poll\"} 90
resolute_message_handoff_delay_seconds_bucket{le=\"0.001\",transport=\"http\"} 0
resolute_message_handoff_delay_seconds_bucket{le=\"0.002\",transport=\"http\"} 0
resolute_message_handoff_delay_seconds_bucket{le=\"0.004\",transport=\"http\"} 9
resolute_message_handoff_delay_seconds_bucket{le=\"+Inf\",transport=\"http\"} 10
resolute_request_duration_seconds_bucket{le=\"0.001\",kind=\"promise.create\"} 5
";
        // 100 in all, cumulative 40, 60, 99, 100: the median falls in the 2 ms bucket and the
        // 99th in the 4 ms one; other series are not counted.
        assert_eq!(quantiles(page), Some((2.0, 4.0)));
    }

    #[test]
    fn held_creates_are_the_hold_histograms_count() {
        let page = "resolute_create_hold_seconds_sum 1.5\nresolute_create_hold_seconds_count 42\n";
        assert_eq!(creates_held(page), Some(42));
        assert_eq!(creates_held("resolute_requests_total 3\n"), None);
    }

    #[test]
    fn a_run_without_hand_offs_has_no_quantiles() {
        assert_eq!(quantiles("resolute_requests_total{kind=\"promise.create\"} 3\n"), None);
        let empty =
            "resolute_message_handoff_delay_seconds_bucket{le=\"+Inf\",transport=\"poll\"} 0";
        assert_eq!(quantiles(empty), None);
    }
}
