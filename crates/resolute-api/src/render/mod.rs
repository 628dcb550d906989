//! Response envelopes: `{kind, head: {corrId, status, version}, data}`; the HTTP status equals
//! `head.status`.

mod records;
mod reply;
mod snapshot;

use serde_json::{json, Value};

use resolute_core::Reply;

use crate::PROTOCOL_VERSION;

pub(crate) use records::promise_json;

/// A rendered response: the HTTP status and the JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Renders a kernel reply for the request `kind`/`corr_id` (success or protocol error alike).
pub fn render(kind: &str, corr_id: &str, reply: &Reply) -> Rendered {
    let (status, data) = reply::status_and_data(corr_id, reply);
    Rendered { status, body: envelope_bytes(kind, corr_id, status, data) }
}

/// A `200 {}` answer, for the operations without a kernel reply (`debug.start`, `debug.stop`).
pub fn render_empty(kind: &str, corr_id: &str) -> Rendered {
    Rendered { status: 200, body: envelope_bytes(kind, corr_id, 200, json!({})) }
}

/// The `200 []` answer of `debug.tick`, whatever the pass did (as the reference).
pub fn render_tick(kind: &str, corr_id: &str) -> Rendered {
    Rendered { status: 200, body: envelope_bytes(kind, corr_id, 200, json!([])) }
}

/// The envelope as a value; the fenced action's inner envelope has the same shape.
pub(crate) fn envelope_json(kind: &str, corr_id: &str, status: u16, data: Value) -> Value {
    json!({
        "kind": kind,
        "head": { "corrId": corr_id, "status": status, "version": PROTOCOL_VERSION },
        "data": data,
    })
}

pub(crate) fn envelope_bytes(kind: &str, corr_id: &str, status: u16, data: Value) -> Vec<u8> {
    envelope_json(kind, corr_id, status, data).to_string().into_bytes()
}
