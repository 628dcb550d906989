//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory, `pg_ctl start` on
//! a free loopback port, one fresh database per caller, and a stop when the test process ends.
//!
//! The Debian packages put the server under `/usr/lib/postgresql/<major>/bin` (`RESOLUTE_PG_BIN`
//! overrides). `initdb` refuses to run as root, so as root the cluster runs as the `postgres`
//! user the package creates. Statics are never dropped in a test binary, so a small watchdog shell
//! started with the cluster stops it (`pg_ctl stop`, our own data directory) once the test process
//! is gone, however the process ends.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// A running cluster; `Drop` stops it (the watchdog covers processes that never drop it).
pub struct PgCluster {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
    as_postgres_user: bool,
    databases: AtomicUsize,
}

/// Where the server binaries are, if PostgreSQL is installed.
pub fn server_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("RESOLUTE_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut majors: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    majors.sort_by_key(|bin| {
        let major = bin.parent().and_then(|dir| dir.file_name()).and_then(|name| name.to_str());
        major.and_then(|major| major.parse::<u32>().ok()).unwrap_or(0)
    });
    majors.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|address| address.port()).map_err(|e| e.to_string())
}

impl PgCluster {
    /// One cluster per test process, started on first use.
    pub fn shared() -> Result<&'static PgCluster, String> {
        static SHARED: OnceLock<Result<PgCluster, String>> = OnceLock::new();
        SHARED.get_or_init(PgCluster::start).as_ref().map_err(Clone::clone)
    }

    /// Starts a cluster of its own (for tests that stop or share it deliberately).
    pub fn start() -> Result<PgCluster, String> {
        let bin = server_bin().ok_or("PostgreSQL is not installed (apt-get install postgresql)")?;
        let dir =
            tempfile::Builder::new().prefix("resolute-pg-").tempdir().map_err(|e| e.to_string())?;
        let cluster = PgCluster {
            port: free_port()?,
            bin,
            as_postgres_user: is_root(),
            databases: AtomicUsize::new(0),
            dir,
        };
        if cluster.as_postgres_user {
            run(Command::new("chown").arg("-R").arg("postgres:").arg(cluster.dir.path()))?;
        }
        cluster.pg(&["initdb", "-D", "data", "-U", "postgres", "--auth=trust", "--no-locale"])?;
        cluster.pg_ctl_start()?;
        cluster.watch_test_process()?;
        Ok(cluster)
    }

    /// A connection URL for the cluster's default database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Creates an empty database of its own and returns its URL.
    pub fn fresh_database(&self) -> Result<String, String> {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        let mut client = postgres::Client::connect(&self.admin_url(), postgres::NoTls)
            .map_err(|e| format!("connecting to the test cluster: {e}"))?;
        client.batch_execute(&format!("CREATE DATABASE {name}")).map_err(|e| e.to_string())?;
        Ok(format!("postgres://postgres@127.0.0.1:{}/{name}", self.port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a server binary in the cluster directory, as `postgres` when we are root.
    fn pg(&self, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(args[0]);
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.args(&args[1..]).current_dir(self.dir.path());
        run(&mut command)
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off \
             -c shared_buffers=64MB",
            self.port,
            self.dir.path().display()
        );
        self.pg(&[
            "pg_ctl",
            "-D",
            "data",
            "-l",
            "server.log",
            "-w",
            "-t",
            "30",
            "-o",
            &options,
            "start",
        ])
    }

    /// Stops the cluster once this test process has exited, whichever way it ends.
    fn watch_test_process(&self) -> Result<(), String> {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop}",
            pid = std::process::id(),
            stop = self.stop_command(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|_| ())
            .map_err(|e| format!("starting the cluster watchdog: {e}"))
    }

    fn stop_command(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = format!("{} -D {} -m immediate stop", pg_ctl.display(), self.data().display());
        if self.as_postgres_user {
            format!("runuser -u postgres -- {stop}")
        } else {
            stop
        }
    }

    /// The server log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = Command::new("sh").args(["-c", &self.stop_command()]).output();
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}
