//! `debug.*` requests. Only `debug.tick` reads its data: a `time`, which must agree with the head's
//! `resonate:debug_time` when both are given.

use serde_json::{Map, Value};

use crate::error::BadRequest;
use crate::wire::parse;

const TIME_INVALID: &str = "Missing or invalid 'time' field";

/// The tick time of `debug.tick`.
pub(crate) fn tick_time(data: &str, debug_time: Option<i64>) -> Result<i64, BadRequest> {
    let data: Map<String, Value> = parse(data)?;
    let time = data.get("time").and_then(Value::as_i64).ok_or(BadRequest::from(TIME_INVALID))?;
    match debug_time {
        Some(debug_time) if debug_time != time => {
            Err("resonate:debug_time must equal data.time".into())
        }
        _ => Ok(time),
    }
}
