//! HTTP push: POST a message to a worker URL, with a deadline on every part of the exchange.

use std::sync::Arc;
use std::time::Duration;

/// Limits of one push, and whom to trust for `https://` targets.
#[derive(Clone, Debug)]
pub struct PushConfig {
    /// DNS resolution plus TCP (and TLS) connect.
    pub connect_timeout: Duration,
    /// The whole exchange: connect, send, response headers and body.
    pub request_timeout: Duration,
    /// Certificates trusted besides the bundled public roots (an internal CA, say).
    pub extra_roots: Vec<reqwest::Certificate>,
    /// A header sent with every push (Resonate's `bearer` push authentication).
    pub auth: Option<PushAuth>,
}

/// `<header>: Bearer <token>` on every push; the value is marked sensitive so it is never logged.
#[derive(Clone, Debug)]
pub struct PushAuth {
    name: reqwest::header::HeaderName,
    value: reqwest::header::HeaderValue,
}

impl PushAuth {
    pub fn bearer(header: &str, token: &str) -> Result<PushAuth, String> {
        let name = reqwest::header::HeaderName::from_bytes(header.as_bytes())
            .map_err(|_| format!("push auth header {header:?} is not a valid header name"))?;
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "push auth token has characters a header cannot carry".to_owned())?;
        value.set_sensitive(true);
        Ok(PushAuth { name, value })
    }
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            extra_roots: Vec::new(),
            auth: None,
        }
    }
}

/// Reads the PEM certificates in `path` for [`PushConfig::extra_roots`]; a file that cannot be
/// read or holds no certificate is an error, so a typo cannot silently leave a target untrusted.
pub fn load_roots(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem =
        std::fs::read(path).map_err(|error| format!("reading {}: {error}", path.display()))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|error| format!("{}: not PEM certificates: {error}", path.display()))?;
    if roots.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(roots)
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
    /// A client for `http://` and `https://` targets. TLS is rustls with the Mozilla root set
    /// compiled in (so a minimal container needs no CA bundle) plus `extra_roots`; certificates
    /// are always verified.
    pub fn new(config: &PushConfig) -> Result<Pusher, PushError> {
        let mut builder = reqwest::Client::builder();
        for root in &config.extra_roots {
            builder = builder.add_root_certificate(root.clone());
        }
        let client = builder
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| PushError::Request(error.to_string()))?;
        Ok(Pusher { client, config: config.clone() })
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
        let mut request =
            self.client.post(url.clone()).header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(auth) = &self.config.auth {
            request = request.header(auth.name.clone(), auth.value.clone());
        }
        let mut response = request
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
