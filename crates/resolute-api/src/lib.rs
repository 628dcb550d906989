//! The JSON wire format of the protocol: request envelopes become commands, replies become response
//! envelopes.
//!
//! This is the only crate that knows JSON. The edge calls [`parse_envelope`] (pipeline steps 1–5 of
//! the protocol), authorizes with [`Envelope::auth_resource`], turns the envelope into an
//! [`Operation`] with [`Envelope::into_operation`] (steps 8–9), runs it, and answers with
//! [`render`] or [`ApiError::render`]. Outgoing `execute`/`unblock` messages are built by
//! [`execute_message`] and [`unblock_message`]. The core types are not `Serialize`: the mirror
//! types live here and are converted by hand, so the wire shape is written down exactly once.

mod envelope;
mod error;
mod message;
mod operation;
mod render;
mod request;
mod rules;
mod wire;

#[cfg(test)]
mod tests;

pub use envelope::{parse_envelope, AuthResource, Envelope};
pub use error::ApiError;
pub use message::{execute_message, unblock_message};
pub use operation::{kinds, known_kind, Operation};
pub use render::{render, render_empty, render_tick, Rendered};
pub use rules::{is_prefixed_by, same_origin};

/// The only protocol version this server speaks.
pub const PROTOCOL_VERSION: &str = "2026-04-01";

/// Body of the `410 Gone` answer to the legacy REST paths (`/promises`, `/tasks`, `/schedules`).
pub const LEGACY_GONE_BODY: &str =
    r#"{"error":"This endpoint is no longer supported. Please update to the latest SDK."}"#;
