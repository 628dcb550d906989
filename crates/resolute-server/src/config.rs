//! The server's typed configuration, built and validated by the binary.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use resolute_core::KernelConfig;

use crate::auth::Verifier;

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
            body_limit_bytes: 2 * 1024 * 1024,
            stuck_after: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            rpc_in_flight_max: 4096,
            rpc_timeout: Duration::from_secs(30),
            auth: None,
        }
    }
}
