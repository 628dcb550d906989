//! Response envelopes: `{kind, head: {corrId, status, version}, data}`; the HTTP status equals
//! `head.status`.

mod records;
mod reply;
mod snapshot;

use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use resolute_core::reply::Acquired;
use resolute_core::{Promise, Reply};

use crate::PROTOCOL_VERSION;

pub(crate) use records::promise_json;
use records::{PromiseRecord, PromiseRecords, TaskRecord};

/// A rendered response: the HTTP status and the JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Renders a kernel reply for the request `kind`/`corr_id` (success or protocol error alike).
pub fn render(kind: &str, corr_id: &str, reply: &Reply) -> Rendered {
    let (status, data) = reply::status_and_data(corr_id, reply);
    Rendered { status, body: envelope_bytes(kind, corr_id, status, &data) }
}

/// A `200 {}` answer, for the operations without a kernel reply (`debug.start`, `debug.stop`).
pub fn render_empty(kind: &str, corr_id: &str) -> Rendered {
    Rendered { status: 200, body: envelope_bytes(kind, corr_id, 200, &json!({})) }
}

/// The `200 []` answer of `debug.tick`, whatever the pass did (as the reference).
pub fn render_tick(kind: &str, corr_id: &str) -> Rendered {
    Rendered { status: 200, body: envelope_bytes(kind, corr_id, 200, &json!([])) }
}

/// A reply's `data`: the frequent `{"promise": …}` is written straight from the record; the other
/// shapes are composed as JSON values.
pub(crate) enum Data<'a> {
    Json(Value),
    Promise(&'a Promise),
    /// `{"preload": […], "promise": …, "task": …}`, written straight: every dispatched task is
    /// acquired once, and composing it as values cost ~15k instructions of ~475k per task.
    Acquired(&'a Acquired),
}

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Data::Json(value) => value.serialize(serializer),
            Data::Promise(promise) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("promise", &PromiseRecord(promise))?;
                map.end()
            }
            Data::Acquired(acquired) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("preload", &PromiseRecords(&acquired.preload))?;
                map.serialize_entry("promise", &PromiseRecord(&acquired.promise))?;
                map.serialize_entry("task", &TaskRecord(&acquired.task))?;
                map.end()
            }
        }
    }
}

/// `{kind, head: {corrId, status, version}, data}`, fields declared in sorted order: the bytes
/// are those of the same object built as a JSON map (whose keys are sorted).
#[derive(Serialize)]
struct ResponseEnvelope<'a, D> {
    data: D,
    head: ResponseHead<'a>,
    kind: &'a str,
}

#[derive(Serialize)]
struct ResponseHead<'a> {
    #[serde(rename = "corrId")]
    corr_id: &'a str,
    status: u16,
    version: &'static str,
}

fn envelope<'a, D: Serialize>(
    kind: &'a str,
    corr_id: &'a str,
    status: u16,
    data: D,
) -> ResponseEnvelope<'a, D> {
    ResponseEnvelope {
        data,
        head: ResponseHead { corr_id, status, version: PROTOCOL_VERSION },
        kind,
    }
}

/// The envelope as a value; the fenced action's inner envelope has the same shape.
pub(crate) fn envelope_json(kind: &str, corr_id: &str, status: u16, data: &Data<'_>) -> Value {
    serde_json::to_value(envelope(kind, corr_id, status, data)).unwrap_or(Value::Null)
}

/// Bytes of a small reply envelope; most fit without growing the buffer.
const BODY_CAPACITY: usize = 384;

/// Serializes the envelope straight into the body, without an intermediate value or string.
pub(crate) fn envelope_bytes(
    kind: &str,
    corr_id: &str,
    status: u16,
    data: &impl Serialize,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(BODY_CAPACITY);
    // Writing to a `Vec` cannot fail and every map here has string keys, so this error is
    // unreachable; should it ever happen, the client still gets a valid envelope.
    if serde_json::to_writer(&mut body, &envelope(kind, corr_id, status, data)).is_err() {
        body.clear();
        let fallback = envelope(kind, corr_id, 500, "Internal error: reply not serializable");
        body = serde_json::to_vec(&fallback).unwrap_or_default();
    }
    body
}
