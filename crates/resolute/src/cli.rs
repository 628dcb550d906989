//! Command-line flags, named as Resonate names them so existing deployment scripts keep working.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use resolute_core::KernelConfig;
use resolute_server::auth::Verifier;
use resolute_server::config::ListenerLimits;
use resolute_server::dispatch::backlog::{BacklogConfig, PER_POLL_WORKER};
use resolute_server::dispatch::push::{load_roots, PushConfig, Pusher};
use resolute_server::dispatch::PUSH_SLOTS_PER_TARGET;
use resolute_server::poll::RegistryConfig;
use resolute_server::ServerConfig;

mod resonate_flags;

pub use resonate_flags::{IgnoredArgs, TransportArgs};

fn to_usize(value: u32) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// The `--log-format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// The `--storage-sqlite-synchronous` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SynchronousArg {
    Normal,
    Full,
}

impl From<SynchronousArg> for resolute_store::sqlite::Synchronous {
    fn from(value: SynchronousArg) -> Self {
        match value {
            SynchronousArg::Normal => resolute_store::sqlite::Synchronous::Normal,
            SynchronousArg::Full => resolute_store::sqlite::Synchronous::Full,
        }
    }
}

#[derive(Debug, Parser)]
#[command(name = "resolute", version, about = "A durable promise and task-dispatch server")]
pub struct Cli {
    /// TOML config file (default: ./resolute.toml or ./resonate.toml if present). Precedence:
    /// defaults < file < RESONATE_* environment < flags.
    #[arg(long, global = true)]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (embedded SQLite by default).
    Serve(ServeArgs),
    /// Run a development server: debug operations on, a local `resolute-dev.db` unless
    /// `--storage-sqlite-path` says otherwise, and a summary of where everything is.
    Dev(ServeArgs),
    /// Promises on a running server.
    #[command(subcommand, alias = "promise")]
    Promises(crate::client::PromiseCommand),
    /// Tasks on a running server.
    #[command(subcommand, alias = "task")]
    Tasks(crate::client::TaskCommand),
    /// Schedules on a running server.
    #[command(subcommand, alias = "schedule")]
    Schedules(crate::client::ScheduleCommand),
    /// Is dispatch healthy? Exits non-zero when a loop is wedged or work is stuck.
    Doctor(crate::client::Connection),
    /// Why a promise or task is where it is, and what happens next.
    Explain {
        id: String,
        #[command(flatten)]
        connection: crate::client::Connection,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port of the API listener.
    #[arg(long, env = "RESONATE_SERVER__PORT", default_value_t = 8001)]
    pub server_port: u16,
    /// Address the API listener binds.
    #[arg(long, env = "RESONATE_SERVER__BIND", default_value = "0.0.0.0")]
    pub server_bind: IpAddr,
    /// Host used to build the default server URL.
    #[arg(long, env = "RESONATE_SERVER__HOST", default_value = "localhost")]
    pub server_host: String,
    /// URL workers are told to call back (`serverUrl` in execute messages).
    #[arg(long, env = "RESONATE_SERVER__URL")]
    pub server_url: Option<String>,
    /// Connections the API listener keeps open at once (SSE streams count); past it a new
    /// connection is answered 503 and closed.
    #[arg(long, env = "RESONATE_SERVER__MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub server_max_connections: u32,
    /// Threads that serve requests. 1 (the default): one thread runs the API, the background loops
    /// and, with `--storage-sqlite-synchronous normal`, the SQLite writer, so a request goes from
    /// its socket through the commit to its reply without a hand-off between threads (the fastest
    /// on a small machine). More: that many runtime threads (0: one per core), the writer on a
    /// thread of its own. Reads, checkpoints and PostgreSQL connections have their own threads
    /// either way.
    #[arg(long, env = "RESOLUTE_SERVER_THREADS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub server_threads: u16,
    /// Milliseconds the runtime may run no task at all (a call blocking its thread) before the
    /// process ends itself (exit status 70) so that its manager starts a fresh one; a stall is
    /// logged and counted from one second on. 0: never end.
    #[arg(long, env = "RESOLUTE_SERVER_STALL_EXIT_MS", default_value_t = 60_000)]
    pub server_stall_exit_ms: u64,
    /// Milliseconds a client may take to send a request's head (from accept, or from the first
    /// byte on a kept-alive connection) before it is disconnected: the slowloris bound.
    #[arg(long, env = "RESONATE_SERVER__HEADER_READ_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub server_header_read_timeout_ms: u64,
    /// Milliseconds a kept-alive connection may wait for its next request before it is closed;
    /// a streaming response (SSE) is never idle.
    #[arg(long, env = "RESONATE_SERVER__IDLE_TIMEOUT_MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub server_idle_timeout_ms: u64,
    /// Port of the Prometheus `/metrics` listener; 0 disables it.
    #[arg(long, env = "RESONATE_OBSERVABILITY__METRICS_PORT", default_value_t = 9090)]
    pub observability_metrics_port: u16,
    /// Storage backend.
    #[arg(long, env = "RESONATE_STORAGE__TYPE", default_value = "sqlite")]
    pub storage_type: String,
    /// SQLite database file (`:memory:` keeps nothing).
    #[arg(long, env = "RESONATE_STORAGE__SQLITE__PATH", default_value = "resolute.db")]
    pub storage_sqlite_path: PathBuf,
    /// PostgreSQL connection URL (required with `--storage-type postgres`; it does not by itself
    /// switch the type, as in Resonate).
    #[arg(long, env = "RESONATE_STORAGE__POSTGRES__URL")]
    pub storage_postgres_url: Option<String>,
    /// PostgreSQL connections this node opens.
    #[arg(long, env = "RESONATE_STORAGE__POSTGRES__POOL_SIZE", default_value_t = 10,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub storage_postgres_pool_size: u16,
    /// SQLite durability: `normal` survives kill -9 of the server, `full` also survives power loss.
    #[arg(long, env = "RESONATE_STORAGE__SQLITE__SYNCHRONOUS", default_value = "normal")]
    pub storage_sqlite_synchronous: SynchronousArg,
    /// Enables the debug operations and `resonate:debug_time`.
    #[arg(long, env = "RESONATE_DEBUG")]
    pub debug: bool,
    /// Log level (overridden by RUST_LOG).
    #[arg(long, env = "RESONATE_LEVEL", default_value = "info")]
    pub level: String,
    /// Log format: `human` (default) or `json` (one object per line, for log shippers).
    #[arg(long, env = "RESOLUTE_LOG_FORMAT", default_value = "human")]
    pub log_format: LogFormat,
    /// Milliseconds before a pending task's execute is sent again.
    #[arg(long, env = "RESONATE_TASKS__RETRY_TIMEOUT", default_value_t = 30_000)]
    pub tasks_retry_timeout: u64,
    /// HTTP pushes in flight at once to one target origin; every origin has its own, so a slow or
    /// hung target cannot take another's (Resonate's flag, which there bounds all targets
    /// together).
    #[arg(long, env = "RESONATE_TRANSPORTS__HTTP_PUSH__CONCURRENCY", default_value_t = PUSH_SLOTS_PER_TARGET as u32,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub transports_http_push_concurrency: u32,
    /// Origin browsers may call the API from (repeatable; `*` allows any). Without it CORS is off.
    #[arg(long, env = "RESONATE_SERVER__CORS__ALLOW_ORIGINS")]
    pub server_cors_allow_origin: Vec<String>,
    /// Milliseconds shutdown waits for in-flight requests and loops before exiting anyway.
    #[arg(long, env = "RESONATE_SERVER__SHUTDOWN_TIMEOUT", default_value_t = 10_000)]
    pub server_shutdown_timeout: u64,
    #[command(flatten)]
    pub transports: TransportArgs,
    /// PEM file of certificates to trust for `https://` push targets besides the bundled public
    /// roots (an internal CA, say). Certificates are always verified.
    #[arg(long, env = "RESOLUTE_TRANSPORTS__HTTP_PUSH__CA_FILE")]
    pub transports_http_push_ca_file: Option<PathBuf>,
    /// Unacquired executes each poll worker may hold before creates for its group wait (at most
    /// --dispatch-hold-max-ms) for it to catch up; 0 turns this back-pressure off. Default 32
    /// on SQLite and 0 on PostgreSQL, where acquires made through other nodes are not seen.
    #[arg(long, env = "RESOLUTE_DISPATCH_BACKLOG_PER_WORKER",
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub dispatch_backlog_per_worker: Option<u32>,
    /// Longest a create waits for room at its lane's workers before it goes ahead anyway.
    #[arg(long, env = "RESOLUTE_DISPATCH_HOLD_MAX_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub dispatch_hold_max_ms: u64,
    /// Milliseconds after which a lane with undelivered work and nothing able to take it is
    /// reported STUCK (log, /health, /metrics).
    #[arg(long, env = "RESOLUTE_STUCK_AFTER_MS", default_value_t = 30_000)]
    pub stuck_after_ms: u64,
    /// Milliseconds between timeout passes.
    #[arg(long, env = "RESONATE_TIMEOUTS__POLL_INTERVAL", default_value_t = 1_000)]
    pub timeouts_poll_interval: u64,
    /// PEM public key (RSA, EC P-256/P-384 or Ed25519) that request tokens must be signed with;
    /// `none` checks tokens without verifying signatures. Absent: authentication is off.
    #[arg(long, env = "RESONATE_AUTH__PUBLICKEY")]
    pub auth_publickey: Option<String>,
    /// Required `iss` claim of request tokens (only with --auth-publickey).
    #[arg(long, env = "RESONATE_AUTH__ISS")]
    pub auth_iss: Option<String>,
    /// Audience request tokens must list in their `aud` array (only with --auth-publickey).
    #[arg(long, env = "RESONATE_AUTH__AUD")]
    pub auth_aud: Option<String>,
    /// Last: its help heading applies to the flags after it.
    #[command(flatten)]
    pub ignored: IgnoredArgs,
}

impl ServeArgs {
    /// Maps the flags onto the server's typed configuration, rejecting nonsense early.
    pub fn server_config(&self) -> anyhow::Result<ServerConfig> {
        anyhow::ensure!(self.tasks_retry_timeout >= 1, "--tasks-retry-timeout must be at least 1");
        anyhow::ensure!(
            self.timeouts_poll_interval >= 1,
            "--timeouts-poll-interval must be at least 1"
        );
        self.ignored.check()?;
        let server_url = self
            .server_url
            .clone()
            .unwrap_or_else(|| format!("http://{}:{}", self.server_host, self.server_port));
        let metrics_listen = (self.observability_metrics_port != 0)
            .then(|| SocketAddr::from(([0, 0, 0, 0], self.observability_metrics_port)));
        Ok(ServerConfig {
            listen: SocketAddr::new(self.server_bind, self.server_port),
            server_url,
            metrics_listen,
            debug: self.debug,
            kernel: KernelConfig {
                retry_timeout_ms: i64::try_from(self.tasks_retry_timeout).unwrap_or(i64::MAX),
            },
            timeouts_interval: Duration::from_millis(self.timeouts_poll_interval),
            stuck_after: Duration::from_millis(self.stuck_after_ms),
            auth: self.auth()?,
            listener: ListenerLimits {
                max_connections: to_usize(self.server_max_connections),
                header_read_timeout: Duration::from_millis(self.server_header_read_timeout_ms),
                idle_timeout: Duration::from_millis(self.server_idle_timeout_ms),
            },
            push_concurrency_per_target: to_usize(self.transports_http_push_concurrency),
            worker_backlog: self.worker_backlog(),
            push: self.push_config()?,
            transports: self.transports.transports(),
            poll: RegistryConfig {
                connections_max: to_usize(self.transports.transports_http_poll_max_connections),
                buffer: to_usize(self.transports.transports_http_poll_buffer_size),
            },
            shutdown_grace: Duration::from_millis(self.server_shutdown_timeout),
            cors_allow_origins: self.cors_origins()?,
            stall_exit_after: (self.server_stall_exit_ms > 0)
                .then(|| Duration::from_millis(self.server_stall_exit_ms)),
            ..ServerConfig::default()
        })
    }

    /// The push client's settings, checked by building the client once: a bad CA file or auth
    /// setting stops the start with its reason instead of failing every push later.
    fn push_config(&self) -> anyhow::Result<PushConfig> {
        let mut config = self.transports.push_config()?;
        if let Some(path) = &self.transports_http_push_ca_file {
            config.extra_roots = load_roots(path).map_err(anyhow::Error::msg)?;
            let certificates = config.extra_roots.len();
            tracing::info!(path = %path.display(), certificates, "push CA file loaded");
        }
        Pusher::new(&config).map_err(|error| anyhow::anyhow!("push client: {error}"))?;
        Ok(config)
    }

    /// The CORS origins, each a valid header value (`*` or an origin like `https://app.example`).
    /// A value may hold a list, as a config file or an environment variable gives one: `a,b` or
    /// `["a","b"]` (an origin never contains a comma).
    fn cors_origins(&self) -> anyhow::Result<Vec<String>> {
        let mut origins = Vec::new();
        for value in &self.server_cors_allow_origin {
            origins.extend(origin_list(value)?);
        }
        for origin in &origins {
            anyhow::ensure!(
                reqwest::header::HeaderValue::from_str(origin).is_ok(),
                "invalid --server-cors-allow-origin {origin:?}"
            );
        }
        Ok(origins)
    }

    /// The back-pressure on creates. The dispatcher turns it off on a shared database unless
    /// the flag was given.
    fn worker_backlog(&self) -> BacklogConfig {
        BacklogConfig {
            per_poll_worker: self.dispatch_backlog_per_worker.map_or(PER_POLL_WORKER, to_usize),
            per_push_lane: to_usize(self.transports_http_push_concurrency),
            hold_max: Duration::from_millis(self.dispatch_hold_max_ms),
            on_shared_store: self.dispatch_backlog_per_worker.is_some(),
            ..BacklogConfig::default()
        }
    }

    /// Loads the token verifier when `--auth-publickey` is given; a key that cannot be used stops
    /// the start. As in Resonate, `--auth-iss`/`--auth-aud` alone do not turn authentication on.
    fn auth(&self) -> anyhow::Result<Option<Arc<Verifier>>> {
        let Some(publickey) = &self.auth_publickey else {
            if self.auth_iss.is_some() || self.auth_aud.is_some() {
                tracing::warn!(
                    "--auth-iss/--auth-aud ignored: authentication needs --auth-publickey"
                );
            }
            return Ok(None);
        };
        let verifier = Verifier::load(publickey, self.auth_iss.clone(), self.auth_aud.clone())?;
        tracing::info!(
            key = %verifier.key_description(),
            iss = ?self.auth_iss,
            aud = ?self.auth_aud,
            "authentication on"
        );
        Ok(Some(Arc::new(verifier)))
    }
}

/// The origins in one `--server-cors-allow-origin` value: one origin, `a,b`, or a JSON list.
fn origin_list(value: &str) -> anyhow::Result<Vec<String>> {
    let listed: Vec<String> = if value.trim_start().starts_with('[') {
        serde_json::from_str(value)
            .map_err(|_| anyhow::anyhow!("invalid --server-cors-allow-origin list {value:?}"))?
    } else {
        value.split(',').map(str::to_owned).collect()
    };
    Ok(listed
        .iter()
        .map(|origin| origin.trim())
        .filter(|o| !o.is_empty())
        .map(String::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::origin_list;

    #[test]
    fn an_origin_value_may_hold_a_list() {
        assert_eq!(origin_list("*").unwrap(), vec!["*"]);
        assert_eq!(
            origin_list("https://a.test, https://b.test").unwrap(),
            vec!["https://a.test", "https://b.test"]
        );
        assert_eq!(origin_list(r#"["https://a.test","*"]"#).unwrap(), vec!["https://a.test", "*"]);
        assert!(origin_list("[not json").is_err());
    }
}
