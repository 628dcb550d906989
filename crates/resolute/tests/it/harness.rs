//! Starts a real resolute process on loopback and talks the protocol to it over HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A resolute server process owned by one test; killed (by PID, it is our child) on drop.
pub struct Server {
    child: Child,
    pub url: String,
    pub client: reqwest::Client,
    dir: tempfile::TempDir,
    extra: Vec<String>,
    /// A program the server runs under (`prlimit …`), which must exec it (same PID).
    wrapper: Vec<String>,
    /// Where the server's stderr goes when the test reads it; else `RESOLUTE_TEST_LOGS` decides.
    log: Option<std::path::PathBuf>,
}

/// How long a freshly spawned server may take to print its listening line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

impl Server {
    /// A debug-mode server on a fresh SQLite file with a random loopback port.
    pub fn start() -> Server {
        Server::start_with(&["--debug"])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        Server::start_wrapped(&[], extra)
    }

    /// Starts the server under `wrapper` (e.g. `prlimit --nofile=64:64`), which must exec it so
    /// the PID stays the server's.
    pub fn start_wrapped(wrapper: &[&str], extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let extra = extra.iter().map(|flag| flag.to_string()).collect();
        let wrapper = wrapper.iter().map(|word| word.to_string()).collect();
        Server::spawn(dir, extra, wrapper, None)
    }

    /// Starts the server with its database in `dir` (on a filesystem the test controls) and its
    /// stderr appended to `log`, for a test that reads what the server said.
    pub fn start_in(dir: tempfile::TempDir, extra: &[&str], log: std::path::PathBuf) -> Server {
        let extra = extra.iter().map(|flag| flag.to_string()).collect();
        Server::spawn(dir, extra, Vec::new(), Some(log))
    }

    /// Kills the process with SIGKILL (no shutdown at all) and starts a new one on the same
    /// database file, as a crash and a restart would.
    pub fn crash_and_restart(mut self) -> Server {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        let extra = std::mem::take(&mut self.extra);
        let wrapper = std::mem::take(&mut self.wrapper);
        let log = self.log.take();
        Server::spawn(dir, extra, wrapper, log)
    }

    /// The SQLite file this server runs on.
    pub fn database(&self) -> std::path::PathBuf {
        self.dir.path().join("test.db")
    }

    /// The server's process id (for /proc figures).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM to the server (our child, by PID) and waits up to `wait` for it to exit.
    pub fn terminate(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn spawn(
        dir: tempfile::TempDir,
        extra: Vec<String>,
        wrapper: Vec<String>,
        log: Option<std::path::PathBuf>,
    ) -> Server {
        let db = dir.path().join("test.db");
        let binary = env!("CARGO_BIN_EXE_resolute");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command.args(["serve", "--server-port", "0", "--server-bind", "127.0.0.1"]);
        // A test that wants the metrics listener passes its own port.
        if !extra.iter().any(|flag| flag == "--observability-metrics-port") {
            command.args(["--observability-metrics-port", "0"]);
        }
        let mut child = command
            .arg("--storage-sqlite-path")
            .arg(&db)
            .args(&extra)
            .env(
                "RUST_LOG",
                std::env::var("RESOLUTE_TEST_RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(log.as_deref().map_or_else(server_log, append_to))
            .spawn()
            .expect("spawn resolute");
        let url = read_listen_url(&mut child);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        Server { child, url, client, dir, extra, wrapper, log }
    }

    /// Sends one envelope; returns the HTTP status and the parsed body.
    pub async fn rpc(&self, kind: &str, data: Value) -> (u16, Value) {
        self.send(json!({"kind": kind, "head": head(None), "data": data})).await
    }

    /// Sends one envelope at a given debug time.
    pub async fn rpc_at(&self, time: i64, kind: &str, data: Value) -> (u16, Value) {
        self.send(json!({"kind": kind, "head": head(Some(time)), "data": data})).await
    }

    pub async fn send(&self, envelope: Value) -> (u16, Value) {
        self.post_raw(envelope.to_string().into_bytes()).await
    }

    pub async fn post_raw(&self, body: Vec<u8>) -> (u16, Value) {
        let response = self.client.post(&self.url).body(body).send().await.expect("post");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self.client.get(format!("{}{}", self.url, path)).send().await.expect("get");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Server logs go to `$RESOLUTE_TEST_LOGS/<n>.log` when that variable names a directory.
fn server_log() -> Stdio {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let Some(dir) = std::env::var_os("RESOLUTE_TEST_LOGS") else {
        return Stdio::null();
    };
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::path::Path::new(&dir).join(format!("{}-{n}.log", std::process::id()));
    std::fs::File::create(path).map(Stdio::from).unwrap_or_else(|_| Stdio::null())
}

fn append_to(path: &std::path::Path) -> Stdio {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
    Stdio::from(file.expect("open the server's log file"))
}

pub fn head(time: Option<i64>) -> Value {
    let mut head = json!({"corrId": "it", "version": "2026-04-01"});
    if let Some(time) = time {
        head["resonate:debug_time"] = json!(time);
    }
    head
}

/// Reads stdout until the server announces its address, with a deadline.
fn read_listen_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.split("listening on ").nth(1) {
                let _ = sender.send(url.trim().to_owned());
            }
        }
    });
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    receiver
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .expect("server did not announce its address in time")
}

/// An SSE worker connection: yields the JSON of each `data:` event.
pub struct Worker {
    response: reqwest::Response,
    buffer: String,
}

impl Worker {
    pub async fn connect(server: &Server, group: &str, id: &str) -> Worker {
        let url = format!("{}/poll/{group}/{id}", server.url);
        let client = reqwest::Client::new();
        let response = client.get(url).send().await.expect("connect worker");
        assert_eq!(response.status().as_u16(), 200);
        Worker { response, buffer: String::new() }
    }

    /// The next event's JSON, or `None` if none arrives within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let data = event.lines().find_map(|line| line.strip_prefix("data:"));
                match data {
                    Some(data) => match serde_json::from_str(data.trim()) {
                        Ok(value) => return Some(value),
                        Err(error) => panic!("SSE event is not JSON ({error}): {event:?}"),
                    },
                    None => continue,
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?;
            let bytes = match chunk {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return None,
                Err(error) => panic!("SSE stream failed: {error}"),
            };
            self.buffer.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
}

/// The repository root (the end-to-end suites live in `e2e/` there).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An external tool an end-to-end test needs (`e2e/…/node_modules`, a venv, a browser). Under
/// `RESOLUTE_E2E=1` (set by `cargo xtask test`) a missing tool fails the test; otherwise the test
/// says it was skipped and returns `None`.
pub fn e2e_tool(test: &str, path: std::path::PathBuf) -> Option<std::path::PathBuf> {
    if path.exists() {
        return Some(path);
    }
    if std::env::var("RESOLUTE_E2E").is_ok_and(|value| value == "1") {
        panic!("{test}: {} is missing; `cargo xtask test` installs it", path.display());
    }
    eprintln!("SKIPPED {test}: {} is missing (run `cargo xtask test`)", path.display());
    None
}

/// Runs an end-to-end program (`command args…` in `dir`) under `bound`, killing it (our child, by
/// handle) if it overruns; it must exit 0, else its output is shown.
pub async fn run_e2e_program(
    test: &str,
    dir: &std::path::Path,
    command: &std::path::Path,
    args: &[&str],
    bound: Duration,
) {
    let started = Instant::now();
    let shown = format!("{} {}", command.display(), args.join(" "));
    let child = tokio::process::Command::new(command)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("{test}: could not start {shown}: {error}"));
    let output = match tokio::time::timeout(bound, child.wait_with_output()).await {
        Ok(output) => output.unwrap_or_else(|error| panic!("{test}: waiting failed: {error}")),
        Err(_) => panic!("{test}: still running after {bound:?}; killed"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{test}: {shown} exited with {} after {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status,
        started.elapsed(),
    );
    eprintln!("{test}: passed in {:?}", started.elapsed());
}

/// Starts the server with `extra` flags expecting it to refuse: returns its stderr once it has
/// exited non-zero, within 10 s (a server that does start is stopped, by its PID, and fails the
/// test).
pub fn failed_start(extra: &[&str]) -> String {
    failed_start_on(std::path::Path::new(":memory:"), extra)
}

/// [`failed_start`] on the SQLite database at `database`.
pub fn failed_start_on(database: &std::path::Path, extra: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_resolute"))
        .args(["serve", "--server-port", "0", "--server-bind", "127.0.0.1"])
        .args(["--observability-metrics-port", "0", "--storage-sqlite-path"])
        .arg(database)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run resolute");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with {extra:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "exit status {status}");
    let mut stderr = String::new();
    let mut pipe = child.stderr.take().expect("stderr");
    std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("read stderr");
    stderr
}

/// Serves `app` (which routes `/hook`) on a loopback port; returns the hook's URL.
pub async fn serve_hook(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/hook")
}
