//! resolute-sim: a deterministic simulator in the manner of TigerBeetle's VOPR. One seed decides
//! everything: the real kernel on `MemStore` (and SQLite for some seeds), the real dispatch
//! bookkeeping driven as the server drives it, simulated workers, and the faults. Every invariant
//! is checked after every step; then a fault-free liveness phase must finish all the work.

pub mod backend;
pub mod checker;
pub mod client;
pub mod config;
pub mod dispatcher;
pub mod liveness;
pub mod network;
pub mod peers;
pub mod sim;
pub mod trace;
pub mod workers;
pub mod world;

use std::fmt;

use resolute_core::TaskState;

pub use checker::Violation;
pub use sim::Sim;

/// How long a run is.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Steps of the safety phase.
    pub steps: u64,
    /// Simulated time the liveness phase may take.
    pub liveness_budget_ms: i64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { steps: 2_000, liveness_budget_ms: 600_000 }
    }
}

/// A run that passed.
#[derive(Clone, Debug)]
pub struct Summary {
    pub seed: u64,
    pub steps: u64,
    pub commands: u64,
    pub sqlite: bool,
    pub faults: String,
    /// Simulated time the liveness phase needed.
    pub liveness_ms: i64,
    /// Rows when the liveness phase began: promises, tasks, and tasks not yet finished.
    pub promises: usize,
    pub tasks: usize,
    pub unfinished: usize,
    /// Notable events of the run and how often they happened.
    pub counts: Vec<(&'static str, u64)>,
}

/// A run that found something: everything needed to understand and reproduce it.
#[derive(Clone, Debug)]
pub struct Failure {
    pub seed: u64,
    pub step: u64,
    pub phase: &'static str,
    pub violation: Violation,
    pub settings: String,
    pub trace: Vec<String>,
    pub steps: u64,
}

/// Runs one seed: `options.steps` steps under faults, then the liveness phase.
pub fn run_seed(seed: u64, options: RunOptions) -> Result<Summary, Box<Failure>> {
    let mut sim = Sim::new(seed);
    for _ in 0..options.steps {
        if let Err(violation) = sim.step() {
            return Err(failure(&sim, "safety", violation, options));
        }
    }
    if let Err(violation) = sim.compare_backends() {
        return Err(failure(&sim, "safety", violation, options));
    }
    let promises = sim.prev.promises.len();
    let tasks = sim.prev.tasks.len();
    let unfinished = sim
        .prev
        .tasks
        .iter()
        .filter(|task| !matches!(task.state, TaskState::Fulfilled | TaskState::Halted))
        .count();
    let liveness_ms = match liveness::run(&mut sim, options.liveness_budget_ms) {
        Ok(elapsed) => elapsed,
        Err(violation) => return Err(failure(&sim, "liveness", violation, options)),
    };
    if let Err(violation) = sim.compare_backends() {
        return Err(failure(&sim, "liveness", violation, options));
    }
    Ok(Summary {
        seed,
        steps: options.steps,
        commands: sim.world.commands,
        sqlite: sim.world.backend.has_sqlite(),
        faults: sim.world.config.faults.to_string(),
        liveness_ms,
        promises,
        tasks,
        unfinished,
        counts: sim.world.counts.iter().map(|(name, count)| (*name, *count)).collect(),
    })
}

fn failure(
    sim: &Sim,
    phase: &'static str,
    violation: Violation,
    options: RunOptions,
) -> Box<Failure> {
    let config = &sim.world.config;
    let settings = format!(
        "sqlite={} workers={} retry_timeout={}ms ttl={}ms faults: {}",
        config.sqlite,
        config.workers,
        config.kernel.retry_timeout_ms,
        config.worker_ttl_ms,
        config.faults
    );
    Box::new(Failure {
        seed: config.seed,
        step: sim.world.step,
        phase,
        violation,
        settings,
        trace: sim.world.trace.lines(),
        steps: options.steps,
    })
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulation failed: seed {} step {} ({} phase)",
            self.seed, self.step, self.phase
        )?;
        writeln!(f, "invariant: {}", self.violation.invariant)?;
        writeln!(f, "detail:    {}", self.violation.detail)?;
        writeln!(f, "settings:  {}", self.settings)?;
        writeln!(f, "last {} events:", self.trace.len())?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        write!(f, "reproduce: cargo xtask sim --seed {} --steps {}", self.seed, self.steps)
    }
}

#[cfg(test)]
mod tests;
