//! Per-seed settings: kernel and dispatch tuning, the action mix and the enabled faults.
//!
//! Swarm testing: each seed turns on a random subset of the faults, each at a random rate, so that
//! some seeds hammer one fault while others see a quiet system with a rare twist. A fixed mix of
//! every fault at once tends to mask the corner each fault alone would reach.

use std::fmt;

use resolute_core::KernelConfig;
use resolute_store::workload::Rng;

/// Dispatcher tuning, the simulated twin of the server's `DispatchConfig` (all in ms).
#[derive(Clone, Debug)]
pub struct DispatchSettings {
    /// Messages read per round; small so that full batches and extra rounds happen.
    pub batch: usize,
    /// Concurrent pushes per push lane.
    pub push_slots: usize,
    /// Deliveries one poll connection may have in flight.
    pub poll_buffer: usize,
    pub park_ms: i64,
    pub retry_base_ms: i64,
    pub retry_max_ms: i64,
    pub unblock_attempts_max: i64,
    /// How long a delivery may take before the dispatcher calls it failed.
    pub delivery_timeout_ms: i64,
    /// How long a claimed row stays leased (as the server: the delivery timeout plus a margin).
    pub claim_lease_ms: i64,
    /// A slot with no progress for this long is reclaimed.
    pub slot_ceiling_ms: i64,
}

/// Fault rates in per mille; zero means the fault is off for this seed.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// A delivery is written but never reaches the worker (the dispatcher thinks it did).
    pub delivery_drop: u64,
    /// A delivery reaches the worker long after the dispatcher recorded it.
    pub delivery_delay: u64,
    /// A delivery reaches the worker twice.
    pub delivery_dup: u64,
    /// A delivery fails (push error status, poll write timeout).
    pub delivery_fail: u64,
    /// The target never answers; the dispatcher gives up at its delivery timeout.
    pub delivery_stall: u64,
    /// A command fails inside its transaction and rolls back.
    pub store_error: u64,
    /// A command commits but its caller never learns the outcome.
    pub reply_lost: u64,
    /// Per step: the clock leaps forward past leases and retry timers.
    pub clock_jump: u64,
    /// Per step: the server process restarts (dispatcher state lost, leases released).
    pub restart: u64,
    /// Per pass round: the dispatcher claims and then abandons its deliveries.
    pub wedge: u64,
    /// Per step: a worker crashes and forgets its leases.
    pub worker_crash: u64,
    /// Per step: a worker stops answering for a while, then carries on with what it held.
    pub worker_stall: u64,
    /// Per worker turn: a zombie replays an operation with a version it no longer holds.
    pub worker_stale: u64,
}

/// Relative weights of the step kinds.
#[derive(Clone, Debug)]
pub struct Mix {
    pub client: u64,
    pub tick: u64,
    pub pass: u64,
    pub network: u64,
    pub worker: u64,
    pub advance: u64,
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub kernel: KernelConfig,
    pub dispatch: DispatchSettings,
    /// The lease ttl simulated workers ask for.
    pub worker_ttl_ms: i64,
    /// Simulated poll workers in group `w` (ids 1..=n).
    pub workers: usize,
    pub faults: Faults,
    pub mix: Mix,
    /// Run every command on SQLite `:memory:` too and compare.
    pub sqlite: bool,
}

/// The longest lease any client of the workload asks for (its ttl draw is below 30 s).
pub const CLIENT_TTL_MS_MAX: i64 = 30_000;

impl SimConfig {
    /// Everything about a run that the seed decides before the first step.
    pub fn from_seed(seed: u64) -> SimConfig {
        let mut rng = Rng::new(seed ^ 0x5EED_C0F1_6000_0000);
        let kernel = KernelConfig { retry_timeout_ms: range(&mut rng, 1_000, 30_000) };
        let delivery_timeout_ms = range(&mut rng, 500, 10_000);
        let dispatch = DispatchSettings {
            batch: range(&mut rng, 1, 8) as usize,
            push_slots: range(&mut rng, 1, 4) as usize,
            poll_buffer: range(&mut rng, 1, 3) as usize,
            park_ms: range(&mut rng, 200, 3_000),
            retry_base_ms: range(&mut rng, 50, 500),
            retry_max_ms: range(&mut rng, 1_000, 10_000),
            unblock_attempts_max: range(&mut rng, 2, 10),
            delivery_timeout_ms,
            claim_lease_ms: delivery_timeout_ms + 5_000,
            slot_ceiling_ms: range(&mut rng, 2_000, 60_000),
        };
        let mix = Mix {
            client: range(&mut rng, 5, 40) as u64,
            tick: range(&mut rng, 5, 20) as u64,
            pass: range(&mut rng, 10, 30) as u64,
            network: range(&mut rng, 10, 30) as u64,
            worker: range(&mut rng, 20, 50) as u64,
            advance: range(&mut rng, 5, 20) as u64,
        };
        SimConfig {
            seed,
            kernel,
            dispatch,
            worker_ttl_ms: range(&mut rng, 1_000, 20_000),
            workers: range(&mut rng, 1, 3) as usize,
            faults: Faults::swarm(&mut rng),
            mix,
            // About a quarter of the seeds, spread rather than every fourth seed.
            sqlite: rng.chance(25),
        }
    }

    /// The latest a lease may end, relative to now.
    pub fn lease_horizon_ms(&self) -> i64 {
        self.worker_ttl_ms.max(CLIENT_TTL_MS_MAX)
    }
}

impl Faults {
    /// Each fault is on with probability one half, at a rate drawn up to its own ceiling.
    fn swarm(rng: &mut Rng) -> Faults {
        let mut rate = |ceiling: u64| -> u64 {
            if rng.chance(50) {
                1 + rng.below(ceiling)
            } else {
                0
            }
        };
        Faults {
            delivery_drop: rate(200),
            delivery_delay: rate(200),
            delivery_dup: rate(200),
            delivery_fail: rate(300),
            delivery_stall: rate(100),
            store_error: rate(100),
            reply_lost: rate(50),
            clock_jump: rate(10),
            restart: rate(5),
            wedge: rate(100),
            worker_crash: rate(10),
            worker_stall: rate(10),
            worker_stale: rate(100),
        }
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named = [
            ("drop", self.delivery_drop),
            ("delay", self.delivery_delay),
            ("dup", self.delivery_dup),
            ("fail", self.delivery_fail),
            ("stall", self.delivery_stall),
            ("store", self.store_error),
            ("lost", self.reply_lost),
            ("jump", self.clock_jump),
            ("restart", self.restart),
            ("wedge", self.wedge),
            ("crash", self.worker_crash),
            ("wstall", self.worker_stall),
            ("stale", self.worker_stale),
        ];
        let on: Vec<String> = named
            .iter()
            .filter(|(_, rate)| *rate > 0)
            .map(|(name, rate)| format!("{name}={rate}"))
            .collect();
        if on.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&on.join(","))
        }
    }
}

/// A number in `low..=high`.
pub fn range(rng: &mut Rng, low: i64, high: i64) -> i64 {
    low + rng.below((high - low + 1) as u64) as i64
}

/// True with probability `per_mille` / 1000.
pub fn hit(rng: &mut Rng, per_mille: u64) -> bool {
    per_mille > 0 && rng.below(1000) < per_mille
}
