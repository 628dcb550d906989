//! Per-operation reading of `data`: typed parse, field rules, struct rules, then the command.

pub(crate) mod debug;
pub(crate) mod promise;
pub(crate) mod schedule;
pub(crate) mod task;
