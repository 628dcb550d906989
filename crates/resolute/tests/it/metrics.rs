//! `/metrics` on its own port: per-lane queue depth and oldest age, loop freshness, and the
//! process's own figures (RSS, open fds, tokio tasks), as an operator's Prometheus sees them.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::Server;
use crate::listener::free_port;

/// The value of the first sample line starting with `series` (name and labels), if any.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find(|line| line.starts_with(series))?.rsplit(' ').next()?.parse().ok()
}

#[tokio::test]
async fn metrics_show_queues_per_lane_loop_freshness_and_process_figures() {
    let port = free_port();
    let server = Server::start_with(&["--observability-metrics-port", &port]);
    let data = json!({"id": "m.1", "timeoutAt": 4_000_000_000_000_i64,
                      "tags": {"resonate:target": "poll://any@nowhere"}});
    assert_eq!(server.rpc("promise.create", data).await.0, 200);
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = server.client.get(&url).send().await.expect("scrape").text().await.unwrap();
        let lane = r#"resolute_lane_pending_messages{lane="poll:nowhere"}"#;
        let since = r#"resolute_loop_ms_since_last_completion{name="dispatcher"}"#;
        let ready = sample(&text, lane) == Some(1.0) && sample(&text, since).is_some();
        if ready || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let lane = r#"resolute_lane_pending_messages{lane="poll:nowhere"}"#;
    assert_eq!(sample(&text, lane), Some(1.0), "{text}");
    let age = r#"resolute_lane_oldest_pending_age_ms{lane="poll:nowhere"}"#;
    assert!(sample(&text, age).is_some_and(|ms| ms >= 0.0), "{text}");
    let since = r#"resolute_loop_ms_since_last_completion{name="dispatcher"}"#;
    assert!(sample(&text, since).is_some_and(|ms| ms < 10_000.0), "{text}");
    assert!(sample(&text, "resolute_process_resident_bytes").is_some_and(|b| b > 1e6), "{text}");
    assert!(sample(&text, "resolute_process_open_fds").is_some_and(|n| n >= 5.0), "{text}");
    assert!(sample(&text, "resolute_runtime_alive_tasks").is_some_and(|n| n >= 3.0), "{text}");
    assert_eq!(sample(&text, "resolute_runtime_stalls_total"), Some(0.0), "{text}");
    assert_eq!(sample(&text, "resolute_runtime_longest_stall_ms"), Some(0.0), "{text}");
}

/// The Resonate server's five series (protocol §10) come alongside, under its names, so its
/// dashboards keep working: requests, latency with its buckets, messages, push outcomes, and
/// schedule occurrences.
#[tokio::test]
async fn the_reference_servers_series_are_exported_under_its_names() {
    let port = free_port();
    let server = Server::start_with(&["--observability-metrics-port", &port, "--debug"]);
    let (url, _received) = crate::dispatch::receiver(0, false).await;
    let data = json!({"id": "r.1", "timeoutAt": 4_000_000_000_000_i64,
                      "tags": {"resonate:target": url}});
    assert_eq!(server.rpc("promise.create", data).await.0, 200);
    let schedule = json!({"id": "s", "cron": "* * * * *", "promiseId": "{{.id}}.{{.timestamp}}",
                          "promiseTimeout": 60_000,
                          "promiseTags": {"resonate:target": "poll://any@nobody"}});
    let created = server.rpc_at(crate::T0, "schedule.create", schedule).await;
    assert_eq!(created.0, 200, "{}", created.1);
    crate::tick(&server, crate::T0 + 120_000).await;
    let scrape = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = server.client.get(&scrape).send().await.expect("scrape").text().await.unwrap();
        let pushed = sample(&text, r#"resonate_deliveries_total{status="success"}"#);
        if pushed == Some(1.0) || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let created = r#"resonate_request_total{kind="promise.create",status="200"}"#;
    assert_eq!(sample(&text, created), Some(1.0), "{text}");
    let bucket = r#"resonate_request_duration_seconds_bucket{le="0.005",kind="promise.create"}"#;
    assert!(sample(&text, bucket).is_some(), "the reference's buckets: {text}");
    assert_eq!(sample(&text, r#"resonate_messages_total{kind="execute"}"#), Some(1.0), "{text}");
    assert_eq!(sample(&text, r#"resonate_deliveries_total{status="success"}"#), Some(1.0));
    assert!(sample(&text, "resonate_schedule_promises_total").is_some_and(|n| n >= 1.0), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1, "one exposition, one end");
}
