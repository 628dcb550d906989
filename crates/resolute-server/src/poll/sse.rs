//! `GET /poll/{group}/{id}`: an SSE stream of `execute`/`unblock` messages for one worker.
//!
//! Each event is a single `data:` line and a blank line (`\n\n`: the Python SDK splits on that
//! only). Keep-alive comments every few seconds make writes to dead peers fail, which drops the
//! stream and unregisters the connection, so half-open sockets cannot keep swallowing messages.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use tokio::sync::mpsc;

use crate::app::App;
use crate::poll::registry::{Delivery, RegisterError, Registration};

/// How often an idle stream sends a comment line.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);

pub async fn connect(
    State(app): State<App>,
    Path((group, id)): Path<(String, String)>,
    headers: HeaderMap,
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
            Sse::new(events(registration, receiver)).keep_alive(keep_alive).into_response()
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
    registration: Registration,
    receiver: mpsc::Receiver<Delivery>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = (registration, receiver, None::<Delivery>);
    stream::unfold(state, |(registration, mut receiver, previous)| async move {
        if let Some(mut previous) = previous {
            previous.mark_written();
        }
        let delivery = receiver.recv().await?;
        let event = Event::default().data(&*delivery.payload);
        Some((Ok(event), (registration, receiver, Some(delivery))))
    })
}
