//! How a connection ended, for a handler that must know after its response is gone. An SSE
//! stream whose peer closed cleanly (FIN) was read to its end; one that was reset, or that the
//! kernel gave up on, may have taken messages nobody read.

use std::time::Duration;

use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The peer closed (or the response finished): everything written reached it.
    Clean,
    /// Reset, timed out or failed: what was written last may be lost.
    Broken,
}

/// A request's view of its connection's end (a request extension set by the listener).
#[derive(Clone, Debug)]
pub struct ConnectionEnd(watch::Receiver<Option<End>>);

/// The listener's half: says how the connection ended, once.
pub(crate) struct EndReport(watch::Sender<Option<End>>);

pub(crate) fn channel() -> (EndReport, ConnectionEnd) {
    let (sender, receiver) = watch::channel(None);
    (EndReport(sender), ConnectionEnd(receiver))
}

impl EndReport {
    /// hyper reports a peer that closes in the middle of a streamed response as an incomplete
    /// message: that is the clean end of an SSE stream. Any other error is a broken one.
    pub(crate) fn report(&self, result: &Result<(), hyper::Error>) {
        let end = match result {
            Ok(()) => End::Clean,
            Err(error) if error.is_incomplete_message() => End::Clean,
            Err(_) => End::Broken,
        };
        self.0.send_replace(Some(end));
    }
}

impl Drop for EndReport {
    /// A connection dropped without a report (cut off by a deadline) ended broken.
    fn drop(&mut self) {
        self.0.send_if_modified(|end| {
            let unset = end.is_none();
            if unset {
                *end = Some(End::Broken);
            }
            unset
        });
    }
}

impl ConnectionEnd {
    /// How the connection ended, waiting at most `wait` for it; `None` if it is still open.
    pub async fn ended(mut self, wait: Duration) -> Option<End> {
        match tokio::time::timeout(wait, self.0.wait_for(Option::is_some)).await {
            Ok(Ok(end)) => *end,
            Ok(Err(_)) => Some(End::Broken),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_end_is_told_once_and_an_unreported_end_is_broken() {
        let (report, end) = channel();
        assert_eq!(end.clone().ended(Duration::from_millis(10)).await, None, "still open");
        report.report(&Ok(()));
        drop(report);
        assert_eq!(end.ended(Duration::from_millis(10)).await, Some(End::Clean));
        let (report, end) = channel();
        drop(report);
        assert_eq!(end.ended(Duration::from_millis(10)).await, Some(End::Broken));
    }
}
