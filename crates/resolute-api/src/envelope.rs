//! Steps 1–5 of the request pipeline: the envelope, its head, and what authorization checks.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::ApiError;
use crate::PROTOCOL_VERSION;

/// A request envelope that passed steps 1–5: kind non-empty, data an object, version supported.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub(crate) kind: String,
    pub(crate) corr_id: String,
    auth: Option<String>,
    pub(crate) debug_time: Option<i64>,
    /// `data`, still as JSON text so that the operation's typed parse sees duplicate keys.
    pub(crate) data: Box<RawValue>,
    pub(crate) debug_mode: bool,
}

/// What authorization must check for a request (protocol §8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthResource {
    /// Every id must start with the caller's prefix. An empty list passes: the resource field was
    /// missing or not a string, and validation will reject the request.
    Ids(Vec<String>),
    /// The kind names no resource (searches, debug and unknown kinds): only an empty prefix passes.
    None,
}

impl AuthResource {
    /// Whether a caller restricted to `prefix` may make this request (admins bypass this).
    pub fn permits(&self, prefix: &str) -> bool {
        if prefix.is_empty() {
            return true;
        }
        match self {
            AuthResource::Ids(ids) => ids.iter().all(|id| id.starts_with(prefix)),
            AuthResource::None => false,
        }
    }
}

#[derive(Deserialize)]
#[serde(expecting = "struct Envelope")]
struct RawEnvelope {
    kind: String,
    head: RawHead,
    data: Box<RawValue>,
}

#[derive(Deserialize)]
struct RawHead {
    #[serde(rename = "corrId")]
    corr_id: String,
    version: String,
    #[serde(default)]
    auth: Option<String>,
    #[serde(rename = "resonate:debug_time", default)]
    debug_time: Option<i64>,
}

/// Parses a request body (steps 1–5 of the pipeline). Outside debug mode `resonate:debug_time` is
/// dropped, but a non-integer value is still an envelope error.
pub fn parse_envelope(body: &[u8], debug_mode: bool) -> Result<Envelope, ApiError> {
    let raw: RawEnvelope = match serde_json::from_slice(body) {
        Ok(raw) => raw,
        Err(error) => {
            let (kind, corr_id) = salvage(body);
            return Err(ApiError::new(
                kind,
                corr_id,
                400,
                format!("Invalid request envelope: {error}"),
            ));
        }
    };
    let reject = |message: String| ApiError::new(&raw.kind, &raw.head.corr_id, 400, message);
    if raw.kind.is_empty() {
        return Err(reject("Missing or invalid 'kind' field — must be a non-empty string".into()));
    }
    if !raw.data.get().trim_start().starts_with('{') {
        return Err(reject("Invalid 'data' field — must be an object".into()));
    }
    if raw.head.version != PROTOCOL_VERSION {
        let message = format!(
            "Unsupported protocol version '{}', supported versions: [\"{PROTOCOL_VERSION}\"]",
            raw.head.version
        );
        return Err(reject(message));
    }
    Ok(Envelope {
        kind: raw.kind,
        corr_id: raw.head.corr_id,
        auth: raw.head.auth,
        debug_time: if debug_mode { raw.head.debug_time } else { None },
        data: raw.data,
        debug_mode,
    })
}

/// The kind and corrId to echo for an unparsable envelope: taken from the body when they are
/// strings, so the client can still match the error to its request.
fn salvage(body: &[u8]) -> (String, String) {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let kind = value.get("kind").and_then(|kind| kind.as_str()).unwrap_or("unknown");
    let corr_id = value
        .get("head")
        .and_then(|head| head.get("corrId"))
        .and_then(|corr_id| corr_id.as_str())
        .unwrap_or("0");
    (kind.to_owned(), corr_id.to_owned())
}

impl Envelope {
    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn corr_id(&self) -> &str {
        &self.corr_id
    }

    /// `head.auth`: the RPC token (the HTTP `Authorization` header is not consulted for RPC).
    pub fn auth(&self) -> Option<&str> {
        self.auth.as_deref()
    }

    /// `head["resonate:debug_time"]`, the request's `now`; always `None` outside debug mode.
    pub fn debug_time(&self) -> Option<i64> {
        self.debug_time
    }

    /// The request's `data` as JSON text (always an object).
    pub fn data_json(&self) -> &str {
        self.data.get()
    }

    /// An error answer echoing this request's kind and corrId (e.g. `401 "Unauthorized"`).
    pub fn reject(&self, status: u16, message: impl Into<String>) -> ApiError {
        ApiError::new(&self.kind, &self.corr_id, status, message)
    }

    /// The ids authorization checks against the caller's prefix (protocol §8).
    pub fn auth_resource(&self) -> AuthResource {
        let Ok(data) = serde_json::from_str::<serde_json::Value>(self.data.get()) else {
            return AuthResource::Ids(Vec::new());
        };
        let string_at = |pointer: &str| -> AuthResource {
            let id = data.pointer(pointer).and_then(|value| value.as_str());
            AuthResource::Ids(id.map(str::to_owned).into_iter().collect())
        };
        match self.kind.as_str() {
            "promise.get" | "promise.create" | "promise.settle" | "task.get" | "task.acquire"
            | "task.release" | "task.fulfill" | "task.suspend" | "task.fence" | "task.halt"
            | "task.continue" | "schedule.get" | "schedule.delete" => string_at("/id"),
            "promise.register_callback" | "promise.register_listener" => string_at("/awaited"),
            "schedule.create" => string_at("/promiseId"),
            "task.create" => string_at("/action/data/id"),
            "task.heartbeat" => {
                let tasks = data.get("tasks").and_then(|tasks| tasks.as_array());
                let ids = tasks.into_iter().flatten().filter_map(|task| task.get("id")?.as_str());
                AuthResource::Ids(ids.map(str::to_owned).collect())
            }
            _ => AuthResource::None,
        }
    }
}
