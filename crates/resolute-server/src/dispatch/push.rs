//! HTTP push: POST a message to a worker URL, with a deadline on every part of the exchange.

use std::sync::Arc;
use std::time::Duration;

/// Limits of one push.
#[derive(Clone, Copy, Debug)]
pub struct PushConfig {
    /// DNS resolution plus TCP (and TLS) connect.
    pub connect_timeout: Duration,
    /// The whole exchange: connect, send, response headers and body.
    pub request_timeout: Duration,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a push failed; every failure is retried with back-off by the dispatcher.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("target answered {0}")]
    Status(u16),
    #[error("request failed: {0}")]
    Request(String),
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
}

/// A shared HTTP client for push deliveries.
#[derive(Clone)]
pub struct Pusher {
    client: reqwest::Client,
    config: PushConfig,
}

/// Response bodies are read (so connections can be reused) but never kept beyond this size.
const RESPONSE_BODY_MAX: usize = 64 * 1024;

impl Pusher {
    pub fn new(config: PushConfig) -> Result<Pusher, PushError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| PushError::Request(error.to_string()))?;
        Ok(Pusher { client, config })
    }

    /// POSTs `body` as JSON to `url`; any 2xx is success. The outer timeout is a second fence in
    /// case a part of the client ever ignores its own deadline.
    pub async fn push(&self, url: &reqwest::Url, body: Arc<str>) -> Result<(), PushError> {
        let deadline = self.config.request_timeout + Duration::from_secs(1);
        match tokio::time::timeout(deadline, self.exchange(url, body)).await {
            Ok(result) => result,
            Err(_) => Err(PushError::TimedOut(deadline)),
        }
    }

    async fn exchange(&self, url: &reqwest::Url, body: Arc<str>) -> Result<(), PushError> {
        let mut response = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|error| PushError::Request(error.to_string()))?;
        let status = response.status();
        let mut read = 0;
        while let Ok(Some(chunk)) = response.chunk().await {
            read += chunk.len();
            if read > RESPONSE_BODY_MAX {
                break;
            }
        }
        if status.is_success() {
            Ok(())
        } else {
            Err(PushError::Status(status.as_u16()))
        }
    }
}
