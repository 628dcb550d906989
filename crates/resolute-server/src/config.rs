//! The server's typed configuration, built and validated by the binary.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use resolute_core::KernelConfig;

use crate::auth::Verifier;
use crate::dispatch::backlog::BacklogConfig;
use crate::dispatch::push::PushConfig;
use crate::poll::RegistryConfig;

/// Everything the edge needs to run; the binary maps CLI flags, env and files onto it.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where the API listens.
    pub listen: SocketAddr,
    /// The `serverUrl` put in execute messages.
    pub server_url: String,
    /// Where `/metrics` listens; `None` disables it.
    pub metrics_listen: Option<SocketAddr>,
    /// Enables the debug operations and `resonate:debug_time`.
    pub debug: bool,
    pub kernel: KernelConfig,
    /// Period of the timeout pass (promise timeouts, retries, leases, schedules).
    pub timeouts_interval: Duration,
    /// Rows of each kind handled per tick transaction; the pass repeats until drained.
    pub tick_batch: usize,
    /// Due messages read per dispatch round; rounds repeat while a round comes back full.
    pub dispatch_batch: usize,
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// A lane whose oldest undelivered message is older than this, with nothing able to take it,
    /// is reported as stuck.
    pub stuck_after: Duration,
    /// How long shutdown waits for in-flight requests and loops before exiting anyway.
    pub shutdown_grace: Duration,
    /// RPC requests handled at once; beyond it requests are shed with a 503, never queued.
    pub rpc_in_flight_max: usize,
    /// Longest an RPC request may take before it is answered with a 503.
    pub rpc_timeout: Duration,
    /// Token verification (protocol §8); `None` accepts every request.
    pub auth: Option<Arc<Verifier>>,
    /// Connection bounds of the API listener.
    pub listener: ListenerLimits,
    /// HTTP pushes in flight at once to one target origin (each origin has its own).
    pub push_concurrency_per_target: usize,
    /// Back-pressure on creates while workers hold many unacquired executes.
    pub worker_backlog: BacklogConfig,
    /// Push timeouts, extra trusted roots and authentication.
    pub push: PushConfig,
    /// Limits of the SSE (poll) transport.
    pub poll: RegistryConfig,
    /// Which transports deliver; a message for one turned off is dropped with a log line and
    /// counted, as Resonate does (protocol §5.3).
    pub transports: Transports,
    /// Origins browsers may call from (`*`: any); empty turns CORS off.
    pub cors_allow_origins: Vec<String>,
    /// A runtime stalled this long ends the process (`runtime_watch`); `None`: never.
    pub stall_exit_after: Option<Duration>,
}

/// The transports turned on (`--transports-http-push-enabled`, `--transports-http-poll-enabled`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transports {
    pub push: bool,
    pub poll: bool,
}

impl Default for Transports {
    fn default() -> Self {
        Transports { push: true, poll: true }
    }
}

/// What one listener allows its clients: how many connections, and how long they may dawdle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Connections open at once (SSE streams included); beyond it a connection gets a 503.
    pub max_connections: usize,
    /// Longest a client may take to send a request's head, from accept (first request) or from
    /// its first byte (later requests): a slowloris client is cut off after it.
    pub header_read_timeout: Duration,
    /// Longest a keep-alive connection may wait for its next request. A connection with a
    /// response in progress (an SSE stream, say) is never idle.
    pub idle_timeout: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            // Well under the usual hard fd limits (the binary lifts the soft limit to the hard
            // one), yet ample for thousands of SSE workers plus clients.
            max_connections: 10_000,
            // A real client sends its head in one packet; 10 s tolerates a very slow link.
            header_read_timeout: Duration::from_secs(10),
            // Ample for clients that reuse a connection between calls; an abandoned socket is
            // reclaimed within a minute instead of holding a slot and an fd for ever.
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8001)),
            server_url: "http://localhost:8001".to_owned(),
            metrics_listen: Some(SocketAddr::from(([0, 0, 0, 0], 9090))),
            debug: false,
            kernel: KernelConfig::default(),
            timeouts_interval: Duration::from_millis(1000),
            tick_batch: 256,
            dispatch_batch: 256,
            body_limit_bytes: 2 * 1024 * 1024,
            stuck_after: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            rpc_in_flight_max: 4096,
            rpc_timeout: Duration::from_secs(30),
            auth: None,
            listener: ListenerLimits::default(),
            push_concurrency_per_target: crate::dispatch::PUSH_SLOTS_PER_TARGET,
            worker_backlog: BacklogConfig::default(),
            push: PushConfig::default(),
            poll: RegistryConfig::default(),
            transports: Transports::default(),
            cors_allow_origins: Vec::new(),
            stall_exit_after: Some(Duration::from_secs(60)),
        }
    }
}
