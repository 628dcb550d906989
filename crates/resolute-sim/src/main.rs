//! The simulator's command line: one seed, a batch of seeds, or seeds until one fails.
//!
//! `cargo xtask sim --seed 42` replays one seed; `--seeds 1000` runs seeds 1..=1000 (or from
//! `--first`); `--until-failure` keeps going until a seed fails, bounded by `--max-seeds` and
//! `--max-seconds`. Progress goes to stderr; a failure prints its seed, invariant and trace.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use resolute_sim::{run_seed, RunOptions};

#[derive(Debug, Parser)]
#[command(name = "resolute-sim", about = "Deterministic simulation of resolute under faults")]
struct Args {
    /// Run exactly this seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Safety-phase steps per seed.
    #[arg(long, default_value_t = 2_000)]
    steps: u64,
    /// How many seeds to run (from --first).
    #[arg(long, default_value_t = 32)]
    seeds: u64,
    /// The first seed of a batch.
    #[arg(long, default_value_t = 1)]
    first: u64,
    /// Keep running seeds until one fails (bounded by --max-seeds and --max-seconds).
    #[arg(long)]
    until_failure: bool,
    #[arg(long, default_value_t = u64::MAX)]
    max_seeds: u64,
    /// Stop starting new seeds after this many seconds.
    #[arg(long)]
    max_seconds: Option<u64>,
    /// Simulated milliseconds the liveness phase may take.
    #[arg(long, default_value_t = 600_000)]
    liveness_budget_ms: i64,
    /// Report every seed, not every hundredth.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = RunOptions { steps: args.steps, liveness_budget_ms: args.liveness_budget_ms };
    let (first, count) = match args.seed {
        Some(seed) => (seed, 1),
        None if args.until_failure => (args.first, args.max_seeds),
        None => (args.first, args.seeds.min(args.max_seeds)),
    };
    let elapsed = start_stopwatch();
    let mut totals = Totals::default();
    for seed in first..first.saturating_add(count) {
        if args.max_seconds.is_some_and(|max| elapsed.load(Ordering::Relaxed) >= max) {
            eprintln!("sim: time budget reached");
            break;
        }
        match run_seed(seed, options) {
            Ok(summary) => {
                totals.add(summary.steps, summary.commands, summary.sqlite);
                if args.seed.is_some() || args.verbose || totals.seeds % 100 == 0 {
                    let note = format!(
                        "{} promises, {} tasks ({} unfinished), liveness {} ms; faults {}",
                        summary.promises,
                        summary.tasks,
                        summary.unfinished,
                        summary.liveness_ms,
                        summary.faults
                    );
                    totals.report(&elapsed, seed, &note);
                }
                if args.verbose {
                    let counts: Vec<String> =
                        summary.counts.iter().map(|(name, n)| format!("{name}={n}")).collect();
                    eprintln!("    {}", counts.join(", "));
                }
            }
            Err(failure) => {
                println!("{failure}");
                totals.report(&elapsed, seed, "FAILED");
                return ExitCode::FAILURE;
            }
        }
    }
    totals.report(&elapsed, first + totals.seeds.saturating_sub(1), "done");
    ExitCode::SUCCESS
}

/// Whole seconds since start, counted by a sleeping thread: the simulator never reads a clock,
/// and this is only a budget for the driver, never an input to a run.
fn start_stopwatch() -> Arc<AtomicU64> {
    let seconds = Arc::new(AtomicU64::new(0));
    let counter = seconds.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        counter.fetch_add(1, Ordering::Relaxed);
    });
    seconds
}

#[derive(Default)]
struct Totals {
    seeds: u64,
    steps: u64,
    commands: u64,
    sqlite_seeds: u64,
}

impl Totals {
    fn add(&mut self, steps: u64, commands: u64, sqlite: bool) {
        self.seeds += 1;
        self.steps += steps;
        self.commands += commands;
        self.sqlite_seeds += u64::from(sqlite);
    }

    fn report(&self, elapsed: &AtomicU64, seed: u64, note: &str) {
        eprintln!(
            "sim: {} seeds ({} with sqlite), {} steps, {} commands, ~{}s; seed {seed}: {note}",
            self.seeds,
            self.sqlite_seeds,
            self.steps,
            self.commands,
            elapsed.load(Ordering::Relaxed)
        );
    }
}
