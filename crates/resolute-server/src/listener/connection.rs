//! One admitted connection: HTTP/1.1 served by hyper, plus the two deadlines hyper cannot tell
//! apart. hyper's `header_read_timeout` starts as soon as a connection waits for a request, so it
//! would close an idle keep-alive connection at the (short) header bound. Here a watchdog gives a
//! request head `header_read_timeout` from accept or from its first byte, an idle keep-alive
//! connection `idle_timeout`, and a connection with a response in progress (an SSE stream) no
//! deadline at all: those end on their own (RPC timeout, `Registry::close_all`).

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::ListenerLimits;
use crate::http::{Routes, RpcEndpoint};

/// Where a connection is in its request cycle; every phase but `Busy` has a deadline.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Receiving a request head, begun at `since` (accept, or the first byte after idling).
    Head { since: Instant },
    /// Between requests with no byte of the next one yet, since `since`.
    Idle { since: Instant },
    /// Requests being answered; a response body still streaming counts.
    Busy { requests: usize },
}

/// Written by the socket, the service and the response body, read by the watchdog when it looks.
type PhaseCell = Arc<Mutex<Phase>>;

/// Why the server cut a connection off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overstayed {
    Header,
    Idle,
}

impl Overstayed {
    pub fn label(self) -> &'static str {
        match self {
            Overstayed::Header => "header",
            Overstayed::Idle => "idle",
        }
    }
}

/// Serves `stream` until the client leaves, a deadline passes (returned) or `stop` turns true
/// (then in-flight requests finish and the connection closes).
pub async fn serve(
    stream: TcpStream,
    routes: Routes,
    limits: ListenerLimits,
    mut stop: watch::Receiver<bool>,
) -> Option<Overstayed> {
    let phase: PhaseCell = Arc::new(Mutex::new(Phase::Head { since: Instant::now() }));
    let watched = phase.clone();
    let io = TokioIo::new(Tracked { stream, phase: phase.clone() });
    let (end_report, end) = super::end::channel();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        // hyper calls the service once the head is parsed: from here until the response body
        // is done (or dropped) the connection is busy, not dawdling.
        let busy = Busy::begin(&phase);
        // Only an SSE stream asks how its connection ended (`poll::sse`).
        if request.uri().path().starts_with("/poll/") {
            request.extensions_mut().insert(end.clone());
        }
        let routes = routes.clone();
        async move {
            let response = match routes.rpc {
                Some(rpc) if RpcEndpoint::takes(&request) => rpc.serve(request).await,
                _ => routes.router.oneshot(request).await?,
            };
            Ok::<_, Infallible>(response.map(|body| Guarded { body, _busy: busy }))
        }
    });
    // Our watchdog replaces hyper's header timer (see the module comment).
    let connection = http1::Builder::new().header_read_timeout(None).serve_connection(io, service);
    let watchdog = overstayed(watched, limits);
    tokio::pin!(connection, watchdog);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                end_report.report(&result);
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return None;
            }
            // Only an idle connection or an unfinished head gets here: dropping it loses nothing.
            reason = &mut watchdog => return Some(reason),
            _ = stop.wait_for(|stop| *stop), if !stopping => {
                connection.as_mut().graceful_shutdown();
                stopping = true;
            }
        }
    }
}

/// Resolves when the connection overstays its current phase's deadline, naming which.
///
/// Nobody tells it of phase changes: there are three per request, and a notification for each
/// cost a wake-up and one more poll of the whole connection. It looks again at least every
/// `min(header, idle)` bound instead. Every deadline lies at least that far after the start of its
/// phase, so a phase that began since the last look is still caught exactly at its deadline; a
/// connection that was busy (an SSE stream) costs one look per bound.
async fn overstayed(phase: PhaseCell, limits: ListenerLimits) -> Overstayed {
    // At least a millisecond, so that a zero bound cannot spin.
    let look_every =
        limits.header_read_timeout.min(limits.idle_timeout).max(Duration::from_millis(1));
    loop {
        let now = Instant::now();
        let deadline = match current(&phase) {
            Phase::Head { since } => Some((since + limits.header_read_timeout, Overstayed::Header)),
            Phase::Idle { since } => Some((since + limits.idle_timeout, Overstayed::Idle)),
            Phase::Busy { .. } => None,
        };
        match deadline {
            // Read after every wake-up, so a connection that just turned busy is never cut.
            Some((at, reason)) if now >= at => return reason,
            Some((at, _)) => tokio::time::sleep_until(at.min(now + look_every)).await,
            None => tokio::time::sleep(look_every).await,
        }
    }
}

fn current(phase: &PhaseCell) -> Phase {
    *phase.lock().unwrap_or_else(PoisonError::into_inner)
}

fn update(phase: &PhaseCell, change: impl FnOnce(&mut Phase)) {
    change(&mut phase.lock().unwrap_or_else(PoisonError::into_inner));
}

/// A request being answered; dropping it (response body done or abandoned) ends the busy phase.
struct Busy(PhaseCell);

impl Busy {
    fn begin(phase: &PhaseCell) -> Busy {
        update(phase, |phase| {
            *phase = match *phase {
                Phase::Busy { requests } => Phase::Busy { requests: requests + 1 },
                Phase::Head { .. } | Phase::Idle { .. } => Phase::Busy { requests: 1 },
            }
        });
        Busy(phase.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        update(&self.0, |phase| {
            if let Phase::Busy { requests } = *phase {
                *phase = match requests {
                    0 | 1 => Phase::Idle { since: Instant::now() },
                    more => Phase::Busy { requests: more - 1 },
                };
            }
        });
    }
}

/// A response body that keeps its connection busy until hyper has sent or dropped it.
struct Guarded {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, noticing the first byte of a request that arrives on an idle connection.
struct Tracked {
    stream: TcpStream,
    phase: PhaseCell,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            update(&self.phase, |phase| {
                if let Phase::Idle { .. } = *phase {
                    *phase = Phase::Head { since: Instant::now() };
                }
            });
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
