//! `GET /poll/{group}/{id}`: an SSE stream of `execute`/`unblock` messages for one worker.
//!
//! Each event is a single `data:` line and a blank line (`\n\n`: the Python SDK splits on that
//! only). Keep-alive comments every few seconds make writes to dead peers fail, which drops the
//! stream and unregisters the connection, so half-open sockets cannot keep swallowing messages.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use resolute_core::command::Handed;
use resolute_core::{Command, Reply};
use tokio::sync::mpsc;

use crate::app::App;
use crate::listener::end::{ConnectionEnd, End};
use crate::poll::registry::{Delivery, RegisterError, Registration};

/// How often an idle stream sends a comment line.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);

pub async fn connect(
    State(app): State<App>,
    Path((group, id)): Path<(String, String)>,
    headers: HeaderMap,
    end: Option<Extension<ConnectionEnd>>,
) -> Response {
    // Both segments are mandatory (protocol §1.7); the router matches `/poll//x` with an empty
    // group, which would register a worker no address can name.
    if group.is_empty() || id.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    // Authentication only: a poll path names no resource the prefix rule covers (protocol §1.7).
    if let Some(verifier) = &app.config().auth {
        if crate::auth::check_bearer(verifier, &headers, app.now().0).is_err() {
            return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
        }
    }
    match app.registry().register(&group, &id) {
        Ok((registration, receiver)) => {
            tracing::debug!(%group, %id, "poll worker connected");
            let keep_alive = KeepAlive::new().interval(KEEP_ALIVE_INTERVAL).text("keep-alive");
            Sse::new(events(Taken::new(app.clone(), end.map(|end| end.0)), registration, receiver))
                .keep_alive(keep_alive)
                .into_response()
        }
        Err(RegisterError::AtCapacity) => {
            (StatusCode::SERVICE_UNAVAILABLE, "Poll registration at capacity").into_response()
        }
    }
}

/// Turns queued deliveries into SSE events. A delivery is acknowledged when the stream is polled
/// for the *next* event, i.e. once hyper has taken the previous frame, not merely produced it. The
/// registration lives inside the stream, so the connection unregisters when hyper drops it.
fn events(
    taken: Taken,
    registration: Registration,
    receiver: mpsc::Receiver<Delivery>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = (registration, receiver, None::<Delivery>, taken);
    stream::unfold(state, |(registration, mut receiver, previous, mut taken)| async move {
        if let Some(mut previous) = previous {
            previous.mark_written();
            taken.note(previous.handed.take());
        }
        let delivery = receiver.recv().await?;
        let event = Event::default().data(&*delivery.payload);
        Some((Ok(event), (registration, receiver, Some(delivery), taken)))
    })
}

/// How long a written message stays at risk. A peer that vanished is found out at the first
/// keep-alive write (every `KEEP_ALIVE_INTERVAL`) after the kernel has given up on its
/// unacknowledged data (`listener::UNACKED_DATA_TIMEOUT`): 30 s at most, and a margin.
const TAKEN_WINDOW: Duration = Duration::from_secs(45);

/// Messages remembered per connection (about 25 KiB at most); past it a worker's oldest ones are
/// left to the task retry timer, as before.
const TAKEN_MAX: usize = 256;

/// How long a stream's requeue waits to learn how its connection ended.
const END_WAIT: Duration = Duration::from_secs(2);

/// What this connection wrote lately. A write "succeeds" once the bytes are in the socket's send
/// buffer, so a worker that crashed with unread messages (its kernel answers with a reset), or
/// vanished without a FIN, takes them with it. When the connection ends, the kernel queues again
/// those still owed:
/// - executes, however it ended, whose task is still pending at that version: a worker that left
///   without acquiring one has not started it (a redelivery it already had costs it one 409);
/// - unblocks only when the connection broke. After a clean close the client read them, and one
///   queued again for a process that is gone would wait for its id for ever.
struct Taken {
    app: App,
    end: Option<ConnectionEnd>,
    recent: VecDeque<(Instant, Handed)>,
}

impl Taken {
    fn new(app: App, end: Option<ConnectionEnd>) -> Taken {
        Taken { app, end, recent: VecDeque::new() }
    }

    fn note(&mut self, handed: Option<Handed>) {
        let Some(handed) = handed else { return };
        let now = Instant::now();
        while self.recent.front().is_some_and(|(at, _)| now.duration_since(*at) > TAKEN_WINDOW) {
            self.recent.pop_front();
        }
        if self.recent.len() >= TAKEN_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back((now, handed));
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        let now = Instant::now();
        let handed: Vec<Handed> = std::mem::take(&mut self.recent)
            .into_iter()
            .filter(|(at, _)| now.duration_since(*at) <= TAKEN_WINDOW)
            .map(|(_, handed)| handed)
            .collect();
        if handed.is_empty() {
            return;
        }
        // Streams live inside hyper's connection tasks, so this holds outside unit tests.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(requeue_once_ended(self.app.clone(), self.end.take(), handed));
    }
}

/// Learns how the connection ended, keeps what that leaves owed, and has the kernel queue it.
async fn requeue_once_ended(app: App, end: Option<ConnectionEnd>, handed: Vec<Handed>) {
    let broken = match end {
        Some(end) => end.ended(END_WAIT).await == Some(End::Broken),
        None => false,
    };
    let handed: Vec<Handed> = match broken {
        true => handed,
        false => handed.into_iter().filter(|h| matches!(h, Handed::Execute { .. })).collect(),
    };
    if handed.is_empty() {
        return;
    }
    let count = handed.len();
    match app.execute(Command::RequeueHanded { handed }, app.now()).await {
        Ok(Reply::Requeued(requeued)) if requeued > 0 => {
            app.metrics().messages_requeued.inc_by(requeued as u64);
            tracing::info!(requeued, "poll connection ended holding messages; queued again");
        }
        Ok(_) => tracing::debug!(count, "poll connection ended; nothing it took is owed"),
        Err(error) => tracing::warn!(
            count,
            %error,
            "poll connection ended; its recent messages are left to their retry timers"
        ),
    }
}
