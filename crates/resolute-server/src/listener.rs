//! Our accept loop, for the API and the metrics listener: an accept error never ends it (it is
//! counted, logged once per episode and retried with back-off), connections are bounded, and each
//! connection's request-head and idle deadlines are kept (`connection.rs`). `axum::serve` offers
//! none of these knobs and keeps accept errors to itself (field reports, incident 4).

mod connection;
pub mod end;
mod reject;

use std::sync::Arc;
use std::time::Duration;

use crate::http::Routes;
use prometheus_client::metrics::counter::Counter;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::config::ListenerLimits;
use crate::metrics::{ListenerLabels, ListenerReasonLabels};

/// First pause after a failed accept; doubled per further failure up to `BACKOFF_MAX`.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause between accept attempts while they fail: recovery is noticed within a second.
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// A failure episode ends once accepts have not failed for this long (longer than the longest
/// back-off), so an accept loop flapping at the fd limit logs one episode, not one per flap.
const EPISODE_QUIET: Duration = Duration::from_secs(2);
/// Rejections (503 answers) in progress at once; past it a connection is closed unanswered, so a
/// flood beyond the limit cannot grow tasks and fds without bound.
const REJECTIONS_AT_ONCE: usize = 64;

/// One listener's identity and bounds.
pub struct Spec {
    /// `api` or `metrics`: the metrics label and the log field.
    pub name: &'static str,
    pub limits: ListenerLimits,
    /// Whether a failing accept turns `/health` red (the API listener's does).
    pub reports_health: bool,
}

/// Accepts and serves connections until `stop` turns true, then stops accepting (the socket is
/// closed, so new connects are refused), lets in-flight requests finish and returns when every
/// connection has closed. The caller bounds that wait.
pub async fn run(
    listener: TcpListener,
    routes: Routes,
    app: App,
    spec: Spec,
    mut stop: watch::Receiver<bool>,
) {
    let mut accept = Acceptor {
        slots: Arc::new(Semaphore::new(spec.limits.max_connections.max(1))),
        rejections: Arc::new(Semaphore::new(REJECTIONS_AT_ONCE)),
        tracker: TaskTracker::new(),
        failing: None,
        rejected_in_episode: 0,
        routes,
        app,
        spec,
        stop: stop.clone(),
    };
    loop {
        let quiet_at = accept.failing.as_ref().map(|failing| failing.last_error + EPISODE_QUIET);
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
            () = sleep_until_some(quiet_at) => {
                accept.recovered();
                continue;
            }
        };
        match accepted {
            Ok((stream, _)) => {
                if let Some(failing) = &mut accept.failing {
                    // Accepting again, maybe only while fds trickle free: retry quickly, but let
                    // the quiet period decide that the episode is over.
                    failing.pause = Duration::ZERO;
                }
                accept.admit(stream);
            }
            Err(error) => {
                let pause = accept.failed(&error);
                tokio::select! {
                    _ = stop.wait_for(|stop| *stop) => break,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
    drop(listener);
    accept.tracker.close();
    accept.tracker.wait().await;
}

/// Sleeps until `at`; never resolves for `None`.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A run of failed accepts: when it started, how many, the last one and the current pause.
struct Failing {
    since: tokio::time::Instant,
    errors: u64,
    last_error: tokio::time::Instant,
    pause: Duration,
}

/// The accept loop's state.
struct Acceptor {
    slots: Arc<Semaphore>,
    rejections: Arc<Semaphore>,
    tracker: TaskTracker,
    failing: Option<Failing>,
    /// Connections refused since the limit was last reached (0: not at the limit).
    rejected_in_episode: u64,
    routes: Routes,
    app: App,
    spec: Spec,
    stop: watch::Receiver<bool>,
}

impl Acceptor {
    fn labels(&self) -> ListenerLabels {
        ListenerLabels { listener: self.spec.name }
    }

    fn reason_counter(
        &self,
        family: &prometheus_client::metrics::family::Family<ListenerReasonLabels, Counter>,
        reason: &'static str,
    ) -> Counter {
        family.get_or_create(&ListenerReasonLabels { listener: self.spec.name, reason }).clone()
    }

    /// Counts a failed accept and returns how long to pause before the next one.
    fn failed(&mut self, error: &std::io::Error) -> Duration {
        let reason = error_reason(error);
        self.reason_counter(&self.app.metrics().listeners.accept_errors, reason).inc();
        if reason == "connection" {
            // That one connection died in the queue; the listener itself is fine.
            tracing::debug!(listener = self.spec.name, %error, "accept: connection gone");
            return Duration::ZERO;
        }
        let failing = self.failing.get_or_insert_with(|| {
            tracing::error!(
                listener = self.spec.name,
                %error,
                reason,
                "accept is failing; retrying with back-off (logged again when it recovers)"
            );
            let now = tokio::time::Instant::now();
            Failing { since: now, errors: 0, last_error: now, pause: Duration::ZERO }
        });
        failing.errors += 1;
        failing.last_error = tokio::time::Instant::now();
        failing.pause = (failing.pause * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
        let pause = failing.pause;
        if self.spec.reports_health && self.app.listener_failing_since().is_none() {
            self.app.set_listener_failing_since(Some(self.app.now()));
        }
        pause
    }

    /// Ends the failure episode after a quiet period without failed accepts.
    fn recovered(&mut self) {
        let Some(failing) = self.failing.take() else {
            return;
        };
        let failed_for = failing.last_error.duration_since(failing.since);
        let failing_ms = u64::try_from(failed_for.as_millis()).unwrap_or(u64::MAX);
        tracing::warn!(
            listener = self.spec.name,
            errors = failing.errors,
            failing_ms,
            "accept works again (no failure for {} s)",
            EPISODE_QUIET.as_secs()
        );
        // The probe sets this too; it sets it again within one period if it still fails.
        if self.spec.reports_health {
            self.app.set_listener_failing_since(None);
        }
    }

    /// Serves `stream` if a slot is free, else answers it 503.
    fn admit(&mut self, stream: TcpStream) {
        // Without it, Nagle's algorithm may hold an SSE frame written right after another until
        // the worker acknowledges the first, which a delayed acknowledgement can make 40 ms.
        // Failing to set it costs latency only, so the connection is served either way.
        let _ = stream.set_nodelay(true);
        give_up_on_unacknowledged_data(&stream);
        let metrics = &self.app.metrics().listeners;
        metrics.accepted.get_or_create(&self.labels()).inc();
        match self.slots.clone().try_acquire_owned() {
            Ok(slot) => {
                if self.rejected_in_episode > 0 {
                    tracing::info!(
                        listener = self.spec.name,
                        rejected = self.rejected_in_episode,
                        "below the connection limit again"
                    );
                    self.rejected_in_episode = 0;
                }
                self.spawn_connection(stream, slot);
            }
            Err(_) => self.reject(stream),
        }
    }

    fn spawn_connection(&self, stream: TcpStream, slot: OwnedSemaphorePermit) {
        let metrics = &self.app.metrics().listeners;
        let open = Open::new(metrics.open.get_or_create(&self.labels()).clone(), slot);
        let header = self.reason_counter(&metrics.timed_out, "header");
        let idle = self.reason_counter(&metrics.timed_out, "idle");
        let (routes, limits, stop) = (self.routes.clone(), self.spec.limits, self.stop.clone());
        let name = self.spec.name;
        self.tracker.spawn(async move {
            let _open = open;
            let outcome = connection::serve(stream, routes, limits, stop).await;
            if let Some(reason) = outcome {
                tracing::debug!(listener = name, reason = reason.label(), "connection cut off");
                match reason {
                    connection::Overstayed::Header => header.inc(),
                    connection::Overstayed::Idle => idle.inc(),
                };
            }
        });
    }

    /// At the limit: answer 503 and close rather than stop accepting. A paused accept leaves new
    /// clients in the kernel's queue with no answer — from outside the same silent stall as a
    /// dead listener (incident 4) — while a 503 is an answer SDKs retry and operators can count.
    fn reject(&mut self, stream: TcpStream) {
        if self.rejected_in_episode == 0 {
            tracing::warn!(
                listener = self.spec.name,
                max_connections = self.spec.limits.max_connections,
                "connection limit reached; new connections get a 503 until one closes"
            );
        }
        self.rejected_in_episode += 1;
        self.app.metrics().listeners.rejected.get_or_create(&self.labels()).inc();
        if let Ok(permit) = self.rejections.clone().try_acquire_owned() {
            self.tracker.spawn(async move {
                reject::reject(stream).await;
                drop(permit);
            });
        }
    }
}

/// An open connection: holds its slot and keeps the open-connections gauge, even on a panic.
struct Open {
    gauge: prometheus_client::metrics::gauge::Gauge,
    _slot: OwnedSemaphorePermit,
}

impl Open {
    fn new(gauge: prometheus_client::metrics::gauge::Gauge, slot: OwnedSemaphorePermit) -> Open {
        gauge.inc();
        Open { gauge, _slot: slot }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// The metrics label of a failed accept. `connection`: that one connection failed (aborted
/// or reset while queued; Linux also reports some network errors here) and accepting may go on
/// at once; `fd_exhausted`: the process or system is out of file descriptors.
fn error_reason(error: &std::io::Error) -> &'static str {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionRefused
            | ErrorKind::Interrupted
            | ErrorKind::WouldBlock
    ) {
        return "connection";
    }
    os_error_reason(error.raw_os_error())
}

#[cfg(unix)]
fn os_error_reason(code: Option<i32>) -> &'static str {
    match code {
        Some(libc::EMFILE | libc::ENFILE) => "fd_exhausted",
        Some(libc::ENOBUFS | libc::ENOMEM) => "memory",
        Some(
            libc::EPROTO | libc::EPERM | libc::ENETDOWN | libc::ENETUNREACH | libc::EHOSTUNREACH,
        ) => "connection",
        _ => "other",
    }
}

#[cfg(not(unix))]
fn os_error_reason(_code: Option<i32>) -> &'static str {
    "other"
}

/// How long sent data may stay unacknowledged before the kernel drops the connection. Without a
/// bound a peer that vanished without a FIN (power loss, a partition, a NAT that forgot it) keeps
/// an SSE stream "alive" for the kernel's default of about fifteen minutes, every write into it
/// succeeding and every message routed to it lost. With it, the keep-alive write that follows
/// fails, the connection unregisters, and what it took lately is queued again (`poll::sse`). The
/// kernel also counts a peer that keeps its receive window shut against it: a worker that has
/// read nothing for 20 s with its buffers full is let go the same way, as if dead.
pub(crate) const UNACKED_DATA_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

#[cfg(target_os = "linux")]
fn give_up_on_unacknowledged_data(stream: &TcpStream) {
    // Failing to set it leaves the kernel's default; the connection is served either way.
    let _ = socket2::SockRef::from(stream).set_tcp_user_timeout(Some(UNACKED_DATA_TIMEOUT));
}

#[cfg(not(target_os = "linux"))]
fn give_up_on_unacknowledged_data(_stream: &TcpStream) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_exhaustion_is_told_apart_from_a_lost_connection() {
        let emfile = std::io::Error::from_raw_os_error(libc::EMFILE);
        assert_eq!(error_reason(&emfile), "fd_exhausted");
        let aborted = std::io::Error::from_raw_os_error(libc::ECONNABORTED);
        assert_eq!(error_reason(&aborted), "connection");
        assert_eq!(error_reason(&std::io::Error::other("?")), "other");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn accepted_connections_give_up_on_data_nobody_acknowledges() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(address).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let socket = socket2::SockRef::from(&accepted);
        assert_eq!(socket.tcp_user_timeout().unwrap(), None, "the kernel's default first");
        give_up_on_unacknowledged_data(&accepted);
        assert_eq!(socket.tcp_user_timeout().unwrap(), Some(UNACKED_DATA_TIMEOUT));
    }
}
