//! Errors answered to the client: a status, the echoed kind and corrId, and a message.

use crate::render::{envelope_bytes, Rendered};

/// A request that ends in an error envelope (`data` is the message as a JSON string).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {message}")]
pub struct ApiError {
    /// The request kind to echo (salvaged, or `"unknown"`, for unparsable envelopes).
    pub kind: String,
    /// The corrId to echo (salvaged, or `"0"`, for unparsable envelopes).
    pub corr_id: String,
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn new(
        kind: impl Into<String>,
        corr_id: impl Into<String>,
        status: u16,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError { kind: kind.into(), corr_id: corr_id.into(), status, message: message.into() }
    }

    /// A storage failure: `500 "Internal error: <text>"`.
    pub fn internal(kind: &str, corr_id: &str, error: &dyn std::fmt::Display) -> ApiError {
        ApiError::new(kind, corr_id, 500, format!("Internal error: {error}"))
    }

    /// The response envelope for this error; the HTTP status equals `status`.
    pub fn render(&self) -> Rendered {
        Rendered {
            status: self.status,
            body: envelope_bytes(&self.kind, &self.corr_id, self.status, &self.message),
        }
    }
}

/// A `400` raised while reading an operation's `data`; the caller adds kind and corrId.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadRequest(pub String);

impl BadRequest {
    /// A typed-parse failure: `"Invalid request: <serde message>"`.
    pub(crate) fn invalid(error: &serde_json::Error) -> BadRequest {
        BadRequest(format!("Invalid request: {}", serde_message(error)))
    }
}

impl From<&str> for BadRequest {
    fn from(message: &str) -> Self {
        BadRequest(message.to_owned())
    }
}

/// The serde message without the " at line L column C" suffix: the reference parsed `data` from an
/// already-parsed value, so its messages carry no position, and clients see the same text.
pub(crate) fn serde_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if error.line() == 0 {
        return text;
    }
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(stripped) => stripped.to_owned(),
        None => text,
    }
}
