//! `POST /` served straight from the connection, past the router and its tower layers.
//!
//! Every SDK call is a `POST /`, so this is the request path. Through the axum router it cost
//! about 8 µs of CPU per request for routing, boxed services and four layers (profiled at 8
//! clients: a third of the time on the request threads went to `Router::oneshot`, half of it
//! outside the handler). The same limits are kept here, in the same order and with the same
//! answers: a ceiling on requests in flight (503 envelope, shed at once), a deadline covering body
//! and handler (503 envelope), the body limit (413, plain text, like the reference), and a panic
//! becoming a 500 envelope for that request only. Every other path still goes to the router.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::Semaphore;

use crate::app::App;

/// What the reference answers for an oversize body (protocol §1.2).
const TOO_LARGE: &str = "Failed to buffer the request body: length limit exceeded";

pub struct RpcEndpoint {
    app: App,
    in_flight: Arc<Semaphore>,
    timeout: Duration,
    body_limit: usize,
}

impl RpcEndpoint {
    pub fn new(app: App) -> Arc<RpcEndpoint> {
        let config = app.config();
        Arc::new(RpcEndpoint {
            in_flight: Arc::new(Semaphore::new(config.rpc_in_flight_max.max(1))),
            timeout: config.rpc_timeout.max(Duration::from_millis(1)),
            body_limit: config.body_limit_bytes,
            app,
        })
    }

    /// Whether `request` is an RPC (anything else goes to the router).
    pub fn takes<B>(request: &Request<B>) -> bool {
        request.method() == Method::POST && request.uri().path() == "/"
    }

    pub async fn serve<B>(self: Arc<Self>, request: Request<B>) -> Response
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Ok(_permit) = self.in_flight.clone().try_acquire_owned() else {
            return super::limits::rejected_with(
                "Server busy: too many requests in flight; retry shortly",
            );
        };
        let answer = async {
            match self.read_body(request.into_body()).await {
                Ok(body) => super::rpc::handle(&self.app, body).await,
                Err(response) => response,
            }
        };
        match tokio::time::timeout(self.timeout, AssertUnwindSafe(answer).catch_unwind()).await {
            Ok(Ok(response)) => response,
            Ok(Err(panic)) => super::panic::into_response(panic),
            Err(_) => super::limits::rejected_with("Request timed out"),
        }
    }

    async fn read_body<B>(&self, body: B) -> Result<Bytes, Response>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        match Limited::new(body, self.body_limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(error) if error.is::<LengthLimitError>() => {
                Err(plain(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE.to_owned()))
            }
            Err(error) => Err(plain(
                StatusCode::BAD_REQUEST,
                format!("Failed to buffer the request body: {error}"),
            )),
        }
    }
}

fn plain(status: StatusCode, text: String) -> Response {
    let headers = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    (status, headers, Body::from(text)).into_response()
}

#[cfg(test)]
mod tests;
