//! Serde mirrors of the input shapes shared by several operations, and the typed-parse entry.

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

use resolute_core::{PromiseState, SettleState, TaskState, Value};

use crate::error::BadRequest;

/// Parses an operation's `data` into its typed shape (`400 "Invalid request: …"` on failure).
/// A search filter where `null` means "no filter", as an absent field does: the reference server
/// reads these fields as optional, and a client that writes out its `None`s must not get a 400.
pub(crate) fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

pub(crate) fn parse<T: DeserializeOwned>(data: &str) -> Result<T, BadRequest> {
    serde_json::from_str(data).map_err(|error| BadRequest::invalid(&error))
}

/// A param or value. The members may be absent or null; the object itself may not be null (a
/// non-`Option` field refuses null), which is what the protocol asks of `param` and `value`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "struct Value")]
pub(crate) struct WireValue {
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    data: Option<String>,
}

impl From<WireValue> for Value {
    fn from(value: WireValue) -> Self {
        Value { headers: value.headers, data: value.data }
    }
}

/// The states a client may settle into; anything else is an "unknown variant" parse error.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WireSettleState {
    Resolved,
    Rejected,
    RejectedCanceled,
}

impl From<WireSettleState> for SettleState {
    fn from(state: WireSettleState) -> Self {
        match state {
            WireSettleState::Resolved => SettleState::Resolved,
            WireSettleState::Rejected => SettleState::Rejected,
            WireSettleState::RejectedCanceled => SettleState::RejectedCanceled,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WirePromiseState {
    Pending,
    Resolved,
    Rejected,
    RejectedCanceled,
    RejectedTimedout,
}

impl From<WirePromiseState> for PromiseState {
    fn from(state: WirePromiseState) -> Self {
        match state {
            WirePromiseState::Pending => PromiseState::Pending,
            WirePromiseState::Resolved => PromiseState::Resolved,
            WirePromiseState::Rejected => PromiseState::Rejected,
            WirePromiseState::RejectedCanceled => PromiseState::RejectedCanceled,
            WirePromiseState::RejectedTimedout => PromiseState::RejectedTimedout,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WireTaskState {
    Pending,
    Acquired,
    Suspended,
    Halted,
    Fulfilled,
}

impl From<WireTaskState> for TaskState {
    fn from(state: WireTaskState) -> Self {
        match state {
            WireTaskState::Pending => TaskState::Pending,
            WireTaskState::Acquired => TaskState::Acquired,
            WireTaskState::Suspended => TaskState::Suspended,
            WireTaskState::Halted => TaskState::Halted,
            WireTaskState::Fulfilled => TaskState::Fulfilled,
        }
    }
}

/// A nested `{kind, head, data}` action whose `head` key must be present (any value, null too)
/// and whose `kind` is any string.
#[derive(Debug, Deserialize)]
pub(crate) struct Action<D> {
    // Read only to require them: the protocol checks presence and type, not content.
    #[serde(rename = "kind")]
    _kind: String,
    #[serde(rename = "head")]
    _head: IgnoredAny,
    pub(crate) data: D,
}
