//! Tests of the wire format: golden requests per kind, every error message, every reply shape.

mod debug;
mod envelope;
mod garbage;
mod messages;
mod origin;
mod promise;
mod render;
mod schedule;
mod snapshot;
mod task;

use serde_json::{json, Value as Json};

use resolute_core::Command;

use crate::{parse_envelope, ApiError, Operation, Rendered};

/// A well-formed request body for `kind` with `data`.
pub(crate) fn body(kind: &str, data: Json) -> Vec<u8> {
    json!({"kind": kind, "head": {"corrId": "c1", "version": "2026-04-01"}, "data": data})
        .to_string()
        .into_bytes()
}

/// Runs steps 1–9 in debug mode.
pub(crate) fn operation(kind: &str, data: Json) -> Result<Operation, ApiError> {
    parse_envelope(&body(kind, data), true)?.into_operation()
}

/// The command a valid request becomes.
#[track_caller]
pub(crate) fn command(kind: &str, data: Json) -> Command {
    match operation(kind, data) {
        Ok(Operation::Kernel(command)) => command,
        other => panic!("expected a kernel command, got {other:?}"),
    }
}

/// The status and message of a rejected request.
#[track_caller]
pub(crate) fn rejected(kind: &str, data: Json) -> (u16, String) {
    match operation(kind, data) {
        Err(error) => (error.status, error.message),
        Ok(operation) => panic!("expected an error, got {operation:?}"),
    }
}

/// Asserts a request is rejected with status 400 and exactly `message`.
#[track_caller]
pub(crate) fn assert_bad(kind: &str, data: Json, message: &str) {
    assert_eq!(rejected(kind, data), (400, message.to_owned()));
}

/// The rendered body as JSON, with the status checked against `head.status`.
#[track_caller]
pub(crate) fn parsed(rendered: &Rendered) -> Json {
    let body: Json = serde_json::from_slice(&rendered.body).expect("rendered body is JSON");
    assert_eq!(body["head"]["status"], json!(rendered.status));
    body
}
