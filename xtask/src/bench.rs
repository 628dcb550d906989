//! `cargo xtask bench`: build resolute and the load generator, run loadgen scenarios against a
//! freshly started resolute (one fresh database per run), record peak RSS and the server's own
//! hand-off delay, write a dated table.

mod handoff;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

/// One loadgen run: a label, the scenario and its flags, and which server it measures.
struct Run {
    label: String,
    args: Vec<String>,
    /// The canned-reply reference server instead of resolute (`--scenario ceiling`).
    canned: bool,
}

impl Run {
    fn of_resolute(label: String, args: Vec<String>) -> Run {
        Run { label, args, canned: false }
    }
}

/// Pairs of runs in `--scenario ceiling`: the host's speed drifts within minutes, so the two
/// servers take turns instead of being measured one after the other.
const CEILING_PAIRS: usize = 3;

struct Options {
    loadgen_dir: PathBuf,
    duration_s: u64,
    out: PathBuf,
    scenario: String,
}

const PORT: u16 = 18_937;
const METRICS_PORT: u16 = 18_947;

/// What one run measured: loadgen's JSON, the server's peak RSS and its hand-off delay quantiles.
struct Measured {
    json: Value,
    peak_rss_kib: u64,
    handoff_ms: Option<(f64, f64)>,
    /// Creates the server held back for its workers (back-pressure), from the same scrape.
    creates_held: Option<u64>,
}

const USAGE: &str =
    "usage: cargo xtask bench [--scenario S] [--duration-s N] [--out FILE] [--loadgen-dir DIR]
  --scenario     promises (default), dispatch-poll, dispatch-push, stall-push, late-create, or
                 ceiling: promises at C=8 against a server that stores nothing and answers
                 every request with a canned reply, taking turns with resolute
  --duration-s   seconds per run (default 10, at most 300)
  --out          the markdown file the dated table is appended to (default docs/benchmarks.md)
  --loadgen-dir  where loadgen's sources are (default ../shared/tools/loadgen)
Builds loadgen and resolute (release), starts a fresh server per run on loopback, and prints the
table: rate, latency, the server's hand-off delay, creates held, errors, CPU and peak RSS.";

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let options = parse(root, args)?;
    let loadgen = build(root, &options.loadgen_dir)?;
    let results_dir = root.join("target/bench");
    std::fs::create_dir_all(&results_dir)?;
    let mut lines = Vec::new();
    for run in runs(&options) {
        eprintln!("xtask bench: {} ({})", run.label, run.args.join(" "));
        let measured = run_one(root, &loadgen, &run, &results_dir)?;
        lines.push(row(&run.label, &measured));
    }
    let table = render(&options.scenario, &lines);
    std::fs::write(&options.out, append_section(&options.out, &table)?)?;
    eprintln!("xtask bench: wrote {}", options.out.display());
    println!("{table}");
    Ok(())
}

fn parse(root: &Path, args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        loadgen_dir: root.join("../shared/tools/loadgen"),
        duration_s: 10,
        out: root.join("docs/benchmarks.md"),
        scenario: "promises".into(),
    };
    let mut iter = args.iter();
    while let Some(flag) = iter.next() {
        let value = iter.next().with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--loadgen-dir" => options.loadgen_dir = PathBuf::from(value),
            "--duration-s" => options.duration_s = value.parse()?,
            "--out" => options.out = PathBuf::from(value),
            "--scenario" => options.scenario = value.clone(),
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    Ok(options)
}

fn runs(options: &Options) -> Vec<Run> {
    let duration = options.duration_s.min(300).to_string();
    let base = |scenario: &str, c: &str| {
        let args = ["--duration-s", &duration, "--concurrency", c];
        std::iter::once(scenario).chain(args).map(str::to_owned).collect::<Vec<_>>()
    };
    match options.scenario.as_str() {
        "promises" | "dispatch-poll" | "dispatch-push" => ["1", "8", "64"]
            .iter()
            .map(|c| {
                Run::of_resolute(format!("{}-c{c}", options.scenario), base(&options.scenario, c))
            })
            .collect(),
        "ceiling" => (1..=CEILING_PAIRS)
            .flat_map(|pair| {
                let canned = Run {
                    label: format!("canned-reply-{pair}"),
                    args: base("promises", "8"),
                    canned: true,
                };
                [canned, Run::of_resolute(format!("resolute-{pair}"), base("promises", "8"))]
            })
            .collect(),
        "stall-push" => vec![Run::of_resolute("stall-c8".into(), base("stall-push", "8"))],
        "late-create" => ["poll", "push"]
            .iter()
            .map(|target| {
                let mut args = base("late-create", "8");
                let flags = ["--count", "200", "--deadline-ms", "5000", "--target", target];
                args.extend(flags.map(str::to_owned));
                Run::of_resolute(format!("late-{target}"), args)
            })
            .collect(),
        other => vec![Run::of_resolute(other.into(), base(other, "8"))],
    }
}

fn build(root: &Path, loadgen_dir: &Path) -> anyhow::Result<PathBuf> {
    let cargo = env!("CARGO");
    // Two builds: `--example` selects that target alone, so the binary needs a build of its own.
    for targets in
        [&["-p", "resolute"][..], &["-p", "resolute-server", "--example", "canned_reply"]]
    {
        let status = Command::new(cargo)
            .args(["build", "--release"])
            .args(targets)
            .current_dir(root)
            .status()?;
        if !status.success() {
            bail!("building {} failed", targets.join(" "));
        }
    }
    let target = root.join("target/loadgen");
    let status = Command::new(cargo)
        .args(["build", "--release"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(loadgen_dir)
        .status()
        .with_context(|| format!("building loadgen in {}", loadgen_dir.display()))?;
    if !status.success() {
        bail!("building loadgen failed");
    }
    Ok(target.join("release/loadgen"))
}

/// Starts resolute (ours to stop, by PID), runs loadgen against it, reads peak RSS and scrapes the
/// hand-off delay before stopping.
/// `late-create` restarts the server itself, so there loadgen starts it (`--server-cmd`).
fn run_one(root: &Path, loadgen: &Path, run: &Run, dir: &Path) -> anyhow::Result<Measured> {
    let db = dir.join(format!("{}.db", run.label));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    if run.args.first().map(String::as_str) == Some("late-create") {
        return run_with_server_cmd(root, loadgen, run, dir, &db);
    }
    let log = dir.join(format!("{}.log", run.label));
    let mut server =
        if run.canned { start_canned_reply(root, &log)? } else { start_server(root, &db, &log)? };
    std::thread::sleep(Duration::from_millis(500));
    let json_out = dir.join(format!("{}.json", run.label));
    let status = Command::new(loadgen)
        .args(&run.args)
        .args(["--url", &format!("http://127.0.0.1:{PORT}"), "--label", &run.label])
        .args(["--server-pid", &server.id().to_string(), "--json-out"])
        .arg(&json_out)
        .stdout(Stdio::inherit())
        .status();
    let peak_rss_kib = peak_rss_kib(server.id()).unwrap_or(0);
    let page = handoff::scrape(METRICS_PORT);
    let handoff_ms = page.as_deref().and_then(handoff::quantiles);
    let creates_held = page.as_deref().and_then(handoff::creates_held);
    stop(&mut server);
    status?;
    let text = std::fs::read_to_string(&json_out)?;
    let json = serde_json::from_str(text.trim())?;
    Ok(Measured { json, peak_rss_kib, handoff_ms, creates_held })
}

fn run_with_server_cmd(
    root: &Path,
    loadgen: &Path,
    run: &Run,
    dir: &Path,
    db: &Path,
) -> anyhow::Result<Measured> {
    let server_cmd = format!(
        "{} serve --server-port {PORT} --server-bind 127.0.0.1 --observability-metrics-port 0 \
         --level warn --storage-sqlite-path {}",
        root.join("target/release/resolute").display(),
        db.display()
    );
    let json_out = dir.join(format!("{}.json", run.label));
    Command::new(loadgen)
        .args(&run.args)
        .args(["--url", &format!("http://127.0.0.1:{PORT}"), "--label", &run.label])
        .args(["--server-cmd", &server_cmd, "--json-out"])
        .arg(&json_out)
        .arg("--server-log")
        .arg(dir.join(format!("{}.log", run.label)))
        .status()?;
    let text = std::fs::read_to_string(&json_out)?;
    let json = serde_json::from_str(text.trim())?;
    Ok(Measured { json, peak_rss_kib: 0, handoff_ms: None, creates_held: None })
}

fn start_server(root: &Path, db: &Path, log: &Path) -> anyhow::Result<Child> {
    let log = std::fs::File::create(log)?;
    let child = Command::new(root.join("target/release/resolute"))
        .args(["serve", "--server-port", &PORT.to_string(), "--server-bind", "127.0.0.1"])
        .args(["--observability-metrics-port", &METRICS_PORT.to_string()])
        .args(["--level", "warn", "--storage-sqlite-path"])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    Ok(child)
}

/// The reference server of `--scenario ceiling` (`crates/resolute-server/examples/canned_reply.rs`).
fn start_canned_reply(root: &Path, log: &Path) -> anyhow::Result<Child> {
    let log = std::fs::File::create(log)?;
    let child = Command::new(root.join("target/release/examples/canned_reply"))
        .arg(PORT.to_string())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    Ok(child)
}

fn stop(server: &mut Child) {
    // SIGTERM by PID (graceful), then make sure.
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    for _ in 0..50 {
        if let Ok(Some(_)) = server.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// Peak resident set size of a process (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One table row. Promise runs report request latency; dispatch runs report create→execute as
/// loadgen saw it and the server's hand-off delay (upper bounds of the buckets holding p50, p99).
fn row(label: &str, measured: &Measured) -> String {
    let Measured { json, peak_rss_kib, handoff_ms, creates_held } = measured;
    let result = &json["result"];
    let triple = |lat: &Value| {
        ["p50", "p99", "max"]
            .map(|key| lat[key].as_f64().map_or("-".to_owned(), |v| format!("{v:.2}")))
            .join(" / ")
    };
    let dispatch = &result["dispatch"];
    let (rate, latency) = if dispatch.is_object() {
        (format!("{} tasks/s", dispatch["tasks_per_s"]), triple(&dispatch["create_to_exec_ms"]))
    } else {
        (
            format!("{} req/s", result["requests_per_s"]),
            triple(&result["ops"]["promise.create"]["lat_ms"]),
        )
    };
    let cpu =
        if result["cpu"].is_object() { &result["cpu"] } else { &result["cpu_during_produce"] };
    let handoff =
        handoff_ms.map_or("-".to_owned(), |(p50, p99)| format!("≤ {p50:.0} / ≤ {p99:.0}"));
    let held = creates_held.map_or("-".to_owned(), |held| held.to_string());
    format!(
        "| {label} | {} | {rate} | {latency} | {handoff} | {held} | {} | {} / {} | {:.1} |",
        json["params"]["concurrency"],
        result["dispatch"]["undelivered"].as_i64().or(result["errors"].as_i64()).unwrap_or(0),
        cpu["server_pct_of_core"],
        cpu["loadgen_pct_of_core"],
        *peak_rss_kib as f64 / 1024.0,
    )
}

fn render(scenario: &str, rows: &[String]) -> String {
    let date = Command::new("date").arg("-u").arg("+%Y-%m-%d %H:%M UTC").output().ok();
    let date =
        date.map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned()).unwrap_or_default();
    let header = "| run | C | rate | latency p50 / p99 / max ms (create, or create→execute) | server hand-off p50 / p99 ms | creates held | errors or undelivered | cpu server / loadgen % | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|";
    format!("### {scenario} — {date}\n\nCommand: `cargo xtask bench --scenario {scenario}`\n\n{header}\n{}\n", rows.join("\n"))
}

fn append_section(out: &Path, table: &str) -> anyhow::Result<String> {
    let existing = std::fs::read_to_string(out).unwrap_or_else(|_| "# Benchmarks\n".to_owned());
    Ok(format!("{}\n{table}", existing.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_scenario_alternates_the_canned_server_and_resolute_at_eight_clients() {
        let options = Options {
            loadgen_dir: PathBuf::new(),
            duration_s: 5,
            out: PathBuf::new(),
            scenario: "ceiling".into(),
        };
        let runs = runs(&options);
        let canned: Vec<bool> = runs.iter().map(|run| run.canned).collect();
        assert_eq!(canned, [true, false].repeat(CEILING_PAIRS));
        for run in &runs {
            assert_eq!(run.args, ["promises", "--duration-s", "5", "--concurrency", "8"]);
        }
        assert_eq!(runs[1].label, "resolute-1");
    }

    #[test]
    fn rows_read_promise_and_dispatch_results() {
        let promises = serde_json::json!({"params": {"concurrency": 8}, "result": {
            "requests_per_s": 11228.0, "errors": 0, "cpu": {"server_pct_of_core": 100.0, "loadgen_pct_of_core": 65.2},
            "ops": {"promise.create": {"lat_ms": {"p50": 0.649, "p99": 1.663, "max": 29.762}}}}});
        let promises =
            Measured { json: promises, peak_rss_kib: 19_763, handoff_ms: None, creates_held: None };
        assert_eq!(
            row("promises-c8", &promises),
            "| promises-c8 | 8 | 11228.0 req/s | 0.65 / 1.66 / 29.76 | - | - | 0 | 100.0 / 65.2 | 19.3 |"
        );
        let dispatch = serde_json::json!({"params": {"concurrency": 8}, "result": {
            "cpu_during_produce": {"server_pct_of_core": 111.0, "loadgen_pct_of_core": 67.0},
            "dispatch": {"tasks_per_s": 2205.7, "undelivered": 0,
                         "create_to_exec_ms": {"p50": 6.972, "p99": 12.944, "max": 20.738}}}});
        let handoff_ms = Some((2.0, 16.0));
        let dispatch =
            Measured { json: dispatch, peak_rss_kib: 0, handoff_ms, creates_held: Some(7) };
        let line = row("poll-c8", &dispatch);
        assert!(
            line.contains("2205.7 tasks/s | 6.97 / 12.94 / 20.74 | ≤ 2 / ≤ 16 | 7 | 0 |"),
            "{line}"
        );
    }
}
