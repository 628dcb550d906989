//! The client subcommands against a real server: create/get/search, explain and doctor.

use std::process::{Command, Output};
use std::time::Duration;

use crate::harness::Server;

fn cli(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resolute"))
        .args(args)
        .args(["-S", &server.url])
        .output()
        .expect("run the CLI")
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[tokio::test]
async fn promises_can_be_created_read_and_searched() {
    let server = Server::start_with(&[]);
    let created =
        cli(&server, &["promises", "create", "cli.1", "--data", "{\"n\":1}", "--tag", "team=x"]);
    assert!(created.status.success(), "{}", text(&created));
    assert!(text(&created).contains("\"state\": \"pending\""), "{}", text(&created));
    let read = cli(&server, &["promise", "get", "cli.1"]);
    assert!(text(&read).contains("eyJuIjoxfQ=="), "{}", text(&read));
    let found = cli(&server, &["promises", "search", "--tag", "team=x"]);
    assert!(text(&found).contains("cli.1"), "{}", text(&found));
    let missing = cli(&server, &["promises", "get", "nope"]);
    assert!(!missing.status.success(), "a 404 must fail the command");
    let settled = cli(&server, &["promises", "settle", "cli.1", "--state", "rejected"]);
    assert!(text(&settled).contains("rejected"), "{}", text(&settled));
}

#[tokio::test]
async fn search_all_follows_every_page_and_reports_progress() {
    let server = Server::start_with(&[]);
    for n in 0..250 {
        let data =
            serde_json::json!({"id": format!("all.{n:03}"), "timeoutAt": 4_000_000_000_000_i64});
        assert_eq!(server.rpc("promise.create", data).await.0, 200);
    }
    let found = cli(&server, &["promises", "search", "--all", "--limit", "100"]);
    assert!(found.status.success(), "{}", text(&found));
    let answer: serde_json::Value = serde_json::from_slice(&found.stdout).expect("JSON answer");
    let ids: Vec<&str> = answer["promises"]
        .as_array()
        .expect("promises")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 250, "every page followed");
    assert_eq!((ids[0], ids[249]), ("all.000", "all.249"));
    let progress = String::from_utf8_lossy(&found.stderr);
    assert!(progress.contains("100 promises in 1 pages…"), "{progress}");
    assert!(progress.contains("250 promises in 3 pages, done"), "{progress}");
}

#[tokio::test]
async fn explain_and_doctor_say_why_work_is_not_moving() {
    let server = Server::start_with(&["--stuck-after-ms", "300"]);
    let doctor = cli(&server, &["doctor"]);
    assert!(doctor.status.success(), "{}", text(&doctor));
    assert!(text(&doctor).contains("dispatch is healthy"), "{}", text(&doctor));
    assert!(
        text(&doctor).contains("✓ runtime: 1 thread, no stall since start"),
        "{}",
        text(&doctor)
    );
    let created = cli(&server, &["promises", "create", "job", "--target", "poll://any@billing"]);
    assert!(created.status.success(), "{}", text(&created));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let explained = cli(&server, &["explain", "job"]);
    assert!(explained.status.success(), "{}", text(&explained));
    assert!(
        text(&explained).contains("no worker connected on lane `poll:billing`"),
        "{}",
        text(&explained)
    );
    let doctor = cli(&server, &["doctor"]);
    assert!(!doctor.status.success(), "a stuck lane must fail doctor: {}", text(&doctor));
    assert!(text(&doctor).contains("lane `poll:billing` is STUCK"), "{}", text(&doctor));
}

#[tokio::test]
async fn doctor_counts_executes_workers_have_not_acquired() {
    let server = Server::start_with(&[]);
    let mut worker = crate::harness::Worker::connect(&server, "billing", "w1").await;
    let created = cli(&server, &["promises", "create", "job", "--target", "poll://any@billing"]);
    assert!(created.status.success(), "{}", text(&created));
    worker.next(Duration::from_secs(5)).await.expect("the execute reached the worker");
    let doctor = cli(&server, &["doctor"]);
    assert!(doctor.status.success(), "{}", text(&doctor));
    assert!(text(&doctor).contains("not acquired yet: 1"), "{}", text(&doctor));
}

#[tokio::test]
async fn a_config_file_sets_what_flags_and_environment_leave_unset() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("resolute.toml");
    std::fs::write(&path, "debug = true\n[tasks]\nretry_timeout = 5000\n").expect("write");
    let server = Server::start_with(&["--config", path.to_str().expect("utf-8 path")]);
    let (status, _) = server.rpc("debug.snap", serde_json::json!({})).await;
    assert_eq!(status, 200, "debug = true in the file enables debug operations");
    std::fs::write(&path, "[server]\nport = \"not a port\"\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_resolute"))
        .args(["serve", "--config", path.to_str().expect("utf-8 path")])
        .output()
        .expect("run");
    assert!(!output.status.success(), "a bad value must stop the start");
    assert!(text(&output).contains("not a port"), "{}", text(&output));
}

/// Runs `command` for at most 10 s (a start that is not refused would serve for ever).
fn output_within_10s(command: &mut Command) -> Output {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().expect("output")
}

#[test]
fn limits_of_zero_stop_the_start_with_the_setting_named() {
    for flag in [
        "--server-max-connections",
        "--server-header-read-timeout-ms",
        "--server-idle-timeout-ms",
        "--transports-http-push-concurrency",
    ] {
        let output = output_within_10s(
            Command::new(env!("CARGO_BIN_EXE_resolute"))
                .args(["serve", "--storage-sqlite-path", ":memory:", "--server-port", "0"])
                .args(["--observability-metrics-port", "0", flag, "0"]),
        );
        assert!(!output.status.success(), "{flag} 0 must stop the start");
        assert!(text(&output).contains(flag), "{flag}: {}", text(&output));
    }
    let output = output_within_10s(
        Command::new(env!("CARGO_BIN_EXE_resolute"))
            .args(["serve", "--storage-sqlite-path", ":memory:", "--server-port", "0"])
            .args(["--observability-metrics-port", "0"])
            .env("RESONATE_SERVER__IDLE_TIMEOUT_MS", "0"),
    );
    assert!(!output.status.success(), "the environment is checked the same way");
}

/// `dev` on port 0 must not print a map of `:0` addresses nobody can open.
#[test]
fn dev_on_a_chosen_port_does_not_print_port_zero() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_resolute"))
        .args(["dev", "--server-port", "0", "--server-bind", "127.0.0.1"])
        .args(["--observability-metrics-port", "0", "--storage-sqlite-path"])
        .arg(dir.path().join("dev.db"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run dev");
    let stdout = child.stdout.take().expect("stdout");
    let mut listening = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut listening)
        .expect("listen line");
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(listening.starts_with("resolute listening on http://127.0.0.1:"), "{listening}");
    assert!(!stderr.contains(":0/"), "{stderr}");
    assert!(stderr.contains("port chosen at start"), "{stderr}");
}
