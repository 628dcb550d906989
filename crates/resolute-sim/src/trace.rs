//! The event trace: one compact line per event, the last few hundred kept for failure reports.

use std::collections::VecDeque;

use resolute_core::Timestamp;

/// How many lines a failure report shows.
pub const TRACE_LINES_MAX: usize = 200;

/// A ring buffer of formatted events. Formatting costs time, so a run that never fails could skip
/// it; the simulator keeps it on because a report without its trace is of little use.
#[derive(Debug)]
pub struct Trace {
    lines: VecDeque<String>,
    start: Timestamp,
}

impl Trace {
    pub fn new(start: Timestamp) -> Trace {
        Trace { lines: VecDeque::with_capacity(TRACE_LINES_MAX + 1), start }
    }

    /// Records one event at simulated time `now` during `step`.
    pub fn event(&mut self, step: u64, now: Timestamp, who: &str, what: String) {
        if self.lines.len() == TRACE_LINES_MAX {
            self.lines.pop_front();
        }
        let offset = now.ms() - self.start.ms();
        self.lines.push_back(format!("{step:>7} t+{offset:>9} {who:<6} {what}"));
    }

    /// The retained lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }
}
