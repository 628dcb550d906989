//! The smoke batch `cargo test` runs: a few dozen seeds of a few hundred steps each, so that it
//! stays within seconds in a debug build. `RESOLUTE_SIM_SMOKE_SEEDS` and
//! `RESOLUTE_SIM_SMOKE_STEPS` make it larger; long runs belong to `cargo xtask sim`.

use crate::{run_seed, RunOptions};

const SMOKE_SEEDS: u64 = 32;
/// Per seed. A debug build checks about 3,000 steps a second, most of it copying and comparing
/// the store's snapshot after every step.
const SMOKE_STEPS: u64 = 500;

fn from_env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|text| text.parse().ok()).unwrap_or(default)
}

#[test]
fn smoke_batch_keeps_every_invariant_and_finishes_all_work() {
    let seeds = from_env("RESOLUTE_SIM_SMOKE_SEEDS", SMOKE_SEEDS);
    let steps = from_env("RESOLUTE_SIM_SMOKE_STEPS", SMOKE_STEPS);
    let options = RunOptions { steps, ..RunOptions::default() };
    for seed in 1..=seeds {
        if let Err(failure) = run_seed(seed, options) {
            panic!("{failure}");
        }
    }
}

#[test]
fn a_seed_replays_exactly() {
    let options = RunOptions { steps: 300, ..RunOptions::default() };
    let first = run_seed(7, options).expect("seed 7 passes");
    let second = run_seed(7, options).expect("seed 7 passes again");
    assert_eq!(first.commands, second.commands);
    assert_eq!(first.liveness_ms, second.liveness_ms);
    assert_eq!(first.counts, second.counts);
}
