//! Steps 8–9 of the pipeline: select the operation by kind, then read its `data` into a command.

use resolute_core::Command;

use crate::envelope::Envelope;
use crate::error::{ApiError, BadRequest};
use crate::request::{debug, promise, schedule, task};

/// What the edge runs for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// A command for the kernel (every non-debug kind, plus `debug.reset` and `debug.snap`).
    Kernel(Command),
    /// Pause the background loops.
    DebugStart,
    /// Resume the background loops.
    DebugStop,
    /// Run the timeout pass at `time` (the edge repeats bounded ticks until the batch is drained).
    DebugTick { time: i64 },
}

/// Reads one kind's `data` into an operation.
type Reader = fn(&str) -> Result<Command, BadRequest>;

/// Every non-debug kind with its reader.
const KERNEL_KINDS: &[(&str, Reader)] = &[
    ("promise.get", promise::get),
    ("promise.create", promise::create),
    ("promise.settle", promise::settle),
    ("promise.register_callback", promise::register_callback),
    ("promise.register_listener", promise::register_listener),
    ("promise.search", promise::search),
    ("task.get", task::get),
    ("task.create", task::create),
    ("task.acquire", task::acquire),
    ("task.release", task::release),
    ("task.fulfill", task::fulfill),
    ("task.suspend", task::suspend),
    ("task.fence", task::fence),
    ("task.heartbeat", task::heartbeat),
    ("task.halt", task::halt),
    ("task.continue", task::continue_),
    ("task.search", task::search),
    ("schedule.get", schedule::get),
    ("schedule.create", schedule::create),
    ("schedule.delete", schedule::delete),
    ("schedule.search", schedule::search),
];

/// The five debug kinds; they answer 403 unless the server runs in debug mode.
const DEBUG_KINDS: &[&str] =
    &["debug.start", "debug.stop", "debug.reset", "debug.snap", "debug.tick"];

/// Every kind this protocol version knows, kernel and debug.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    KERNEL_KINDS.iter().map(|(kind, _)| *kind).chain(DEBUG_KINDS.iter().copied())
}

/// The static name of a known kind, so a client-chosen string never becomes a metric label.
pub fn known_kind(kind: &str) -> Option<&'static str> {
    kinds().find(|known| *known == kind)
}

impl Envelope {
    /// Dispatches on `kind` and reads `data` (steps 8–9): unknown kinds are 400, debug kinds
    /// outside debug mode 403, and bad data 400 with the protocol's messages.
    pub fn into_operation(self) -> Result<Operation, ApiError> {
        self.read_operation().map_err(|(status, message)| self.reject(status, message))
    }

    fn read_operation(&self) -> Result<Operation, (u16, String)> {
        let data = self.data.get();
        let bad = |BadRequest(message)| (400, message);
        if let Some((_, read)) = KERNEL_KINDS.iter().find(|(kind, _)| *kind == self.kind) {
            return read(data).map(Operation::Kernel).map_err(bad);
        }
        if !DEBUG_KINDS.contains(&self.kind.as_str()) {
            return Err((400, format!("Unknown operation: {}", self.kind)));
        }
        if !self.debug_mode {
            return Err((403, "Debug operations are disabled".to_owned()));
        }
        Ok(match self.kind.as_str() {
            "debug.start" => Operation::DebugStart,
            "debug.stop" => Operation::DebugStop,
            "debug.reset" => Operation::Kernel(Command::DebugReset),
            "debug.snap" => Operation::Kernel(Command::DebugSnap),
            _ => {
                Operation::DebugTick { time: debug::tick_time(data, self.debug_time).map_err(bad)? }
            }
        })
    }
}
