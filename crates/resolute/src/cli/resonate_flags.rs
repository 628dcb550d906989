//! The rest of Resonate's `serve` flags (protocol.md §9), so that its deployment scripts and
//! config files start resolute unchanged: the transport limits and push authentication mean here
//! what they mean there; flags for parts resolute does not have are accepted with a warning that
//! says why they change nothing, and the two that cannot be honoured (MySQL, Google ID tokens)
//! stop the start with the reason instead of letting work go to the wrong place or to a 403 loop.

use std::time::Duration;

use clap::Args;
use resolute_server::config::Transports;
use resolute_server::dispatch::push::{PushAuth, PushConfig};

/// Transport limits and push authentication.
#[derive(Debug, Args)]
pub struct TransportArgs {
    /// Milliseconds a push may take to resolve and connect (TLS included).
    #[arg(long, env = "RESONATE_TRANSPORTS__HTTP_PUSH__CONNECT_TIMEOUT", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub transports_http_push_connect_timeout: u64,
    /// Milliseconds a whole push exchange may take (Resonate's default is 180000).
    #[arg(long, env = "RESONATE_TRANSPORTS__HTTP_PUSH__REQUEST_TIMEOUT", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub transports_http_push_request_timeout: u64,
    /// Push authentication: `none`, or `bearer` (sends `<header>: Bearer <token>`).
    #[arg(long, env = "RESONATE_TRANSPORTS__HTTP_PUSH__AUTH__MODE")]
    pub transports_http_push_auth_mode: Option<String>,
    /// The bearer token of `--transports-http-push-auth-mode bearer`.
    #[arg(long, env = "RESONATE_TRANSPORTS__HTTP_PUSH__AUTH__TOKEN")]
    pub transports_http_push_auth_token: Option<String>,
    /// Header that carries the push token.
    #[arg(
        long,
        env = "RESONATE_TRANSPORTS__HTTP_PUSH__AUTH__HEADER",
        default_value = "Authorization"
    )]
    pub transports_http_push_auth_header: String,
    /// Audience of Google ID tokens (mode `gcp`, which resolute does not support).
    #[arg(long, env = "RESONATE_TRANSPORTS__HTTP_PUSH__AUTH__AUDIENCE")]
    pub transports_http_push_auth_aud: Option<String>,
    /// SSE workers connected at once, all groups together.
    #[arg(long, env = "RESONATE_TRANSPORTS__HTTP_POLL__MAX_CONNECTIONS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub transports_http_poll_max_connections: u32,
    /// Messages queued per SSE connection before it counts as full.
    #[arg(long, env = "RESONATE_TRANSPORTS__HTTP_POLL__BUFFER_SIZE", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub transports_http_poll_buffer_size: u32,
    /// `false` turns HTTP push off: messages to http(s) addresses are dropped, logged and counted.
    #[arg(long, env = "RESONATE_TRANSPORTS__HTTP_PUSH__ENABLED", num_args = 0..=1,
          default_value = "true", default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub transports_http_push_enabled: bool,
    /// `false` turns poll (SSE) delivery off: messages to poll addresses are dropped the same way.
    #[arg(long, env = "RESONATE_TRANSPORTS__HTTP_POLL__ENABLED", num_args = 0..=1,
          default_value = "true", default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub transports_http_poll_enabled: bool,
}

impl TransportArgs {
    /// The transports turned on; a warning at start names each one turned off.
    pub fn transports(&self) -> Transports {
        let transports = Transports {
            push: self.transports_http_push_enabled,
            poll: self.transports_http_poll_enabled,
        };
        for (name, on) in [("http push", transports.push), ("poll", transports.poll)] {
            if !on {
                tracing::warn!(transport = name, "turned off: its messages are dropped");
            }
        }
        transports
    }

    /// The push client's settings; `extra_roots` are filled in by the caller.
    pub fn push_config(&self) -> anyhow::Result<PushConfig> {
        Ok(PushConfig {
            connect_timeout: Duration::from_millis(self.transports_http_push_connect_timeout),
            request_timeout: Duration::from_millis(self.transports_http_push_request_timeout),
            auth: self.push_auth()?,
            ..PushConfig::default()
        })
    }

    fn push_auth(&self) -> anyhow::Result<Option<PushAuth>> {
        match self.transports_http_push_auth_mode.as_deref() {
            None | Some("none") => Ok(None),
            Some("bearer") => {
                let token = self.transports_http_push_auth_token.as_deref().ok_or_else(|| {
                    anyhow::anyhow!("--transports-http-push-auth-mode bearer needs --transports-http-push-auth-token")
                })?;
                let auth = PushAuth::bearer(&self.transports_http_push_auth_header, token)
                    .map_err(anyhow::Error::msg)?;
                Ok(Some(auth))
            }
            Some("gcp") => anyhow::bail!(
                "--transports-http-push-auth-mode gcp: resolute cannot mint Google ID tokens; \
                 use bearer with a token, or none"
            ),
            Some(other) => anyhow::bail!(
                "invalid --transports-http-push-auth-mode {other:?}: expected none or bearer"
            ),
        }
    }
}

/// Resonate flags for parts resolute does not have. Each is accepted; given, it is named in a
/// warning at start with the reason it changes nothing.
#[derive(Debug, Args)]
#[command(next_help_heading = "Accepted for compatibility with Resonate (no effect here)")]
pub struct IgnoredArgs {
    /// Lease of the bash transport's tasks (resolute has no bash transport).
    #[arg(long, env = "RESONATE_TASKS__LEASE_TIMEOUT")]
    pub tasks_lease_timeout: Option<u64>,
    /// Period of Resonate's message loop (resolute dispatches on commit, not on a tick).
    #[arg(long, env = "RESONATE_MESSAGES__POLL_INTERVAL")]
    pub messages_poll_interval: Option<u64>,
    /// Messages per cycle of Resonate's message loop (resolute's passes size their own batches).
    #[arg(long, env = "RESONATE_MESSAGES__BATCH_SIZE")]
    pub messages_batch_size: Option<u64>,
    /// Google Pub/Sub transport (not in resolute: `gcps://` messages are dropped and counted).
    #[arg(long, env = "RESONATE_TRANSPORTS__GCPS__ENABLED", num_args = 0..=1, default_missing_value = "true")]
    pub transports_gcps_enabled: Option<String>,
    #[arg(long, env = "RESONATE_TRANSPORTS__GCPS__PROJECT")]
    pub transports_gcps_project: Option<String>,
    #[arg(long, env = "RESONATE_TRANSPORTS__GCPS__CONCURRENCY")]
    pub transports_gcps_concurrency: Option<u64>,
    #[arg(long, env = "RESONATE_TRANSPORTS__GCPS__TIMEOUT")]
    pub transports_gcps_timeout: Option<u64>,
    /// Bash transport (not in resolute).
    #[arg(long, env = "RESONATE_TRANSPORTS__BASH_EXEC__ENABLED", num_args = 0..=1, default_missing_value = "true")]
    pub transports_bash_exec_enabled: Option<String>,
    /// OpenTelemetry endpoint (stored and unused in Resonate too).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub observability_otlp_endpoint: Option<String>,
    /// MySQL is not supported: given, the start stops (work must not go elsewhere).
    #[arg(long, env = "RESONATE_STORAGE__MYSQL__URL")]
    pub storage_mysql_url: Option<String>,
    #[arg(long, env = "RESONATE_STORAGE__MYSQL__POOL_SIZE")]
    pub storage_mysql_pool_size: Option<u64>,
}

impl IgnoredArgs {
    /// Stops on the flags that cannot be honoured, then warns once per flag given.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.storage_mysql_url.is_none(),
            "--storage-mysql-url: resolute stores in SQLite or PostgreSQL, not MySQL"
        );
        for (flag, given) in self.given() {
            if given {
                tracing::warn!(flag, "accepted for compatibility with Resonate; no effect here");
            }
        }
        Ok(())
    }

    fn given(&self) -> [(&'static str, bool); 10] {
        [
            ("--tasks-lease-timeout", self.tasks_lease_timeout.is_some()),
            ("--messages-poll-interval", self.messages_poll_interval.is_some()),
            ("--messages-batch-size", self.messages_batch_size.is_some()),
            ("--transports-gcps-enabled", self.transports_gcps_enabled.is_some()),
            ("--transports-gcps-project", self.transports_gcps_project.is_some()),
            ("--transports-gcps-concurrency", self.transports_gcps_concurrency.is_some()),
            ("--transports-gcps-timeout", self.transports_gcps_timeout.is_some()),
            ("--transports-bash-exec-enabled", self.transports_bash_exec_enabled.is_some()),
            ("--storage-mysql-pool-size", self.storage_mysql_pool_size.is_some()),
            ("--observability-otlp-endpoint", self.observability_otlp_endpoint.is_some()),
        ]
    }
}
