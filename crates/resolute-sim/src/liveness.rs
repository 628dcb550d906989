//! The liveness phase (VOPR's second half): faults off, workers cooperative, ticks and the
//! dispatcher running. Within the budget every task must end fulfilled or halted and every
//! promise past its deadline must be settled; the safety invariants keep being checked.

use std::collections::BTreeSet;

use resolute_core::reply::Snapshot;
use resolute_core::{TaskState, Timestamp};

use crate::checker::Violation;
use crate::sim::Sim;
use crate::workers;

/// Simulated time per liveness iteration.
const ITERATION_MS: i64 = 1_000;

/// Pass → network → workers repetitions per iteration, until nothing moves.
const QUIESCE_ROUNDS_MAX: usize = 16;

/// Tasks created this recently may still be on their way; older ones must be done.
const GRACE_MS: i64 = 5_000;

/// Runs the liveness phase; returns the simulated time it took.
pub fn run(sim: &mut Sim, budget_ms: i64) -> Result<i64, Violation> {
    sim.world.faults_on = false;
    sim.world.log("live", "faults off, workers cooperative".to_owned());
    sim.peers.heal();
    let start = sim.world.now;
    let deadline = start.plus_ms(budget_ms);
    let at_start: BTreeSet<String> = sim.prev.tasks.iter().map(|task| task.id.clone()).collect();
    loop {
        sim.world.step += 1;
        sim.world.advance(ITERATION_MS);
        settle_everything(sim);
        sim.check()?;
        let mut left = outstanding(&sim.prev, &at_start, sim.world.now);
        left.extend(undelivered_unblocks(sim));
        if left.is_empty() {
            return Ok(sim.world.now.ms() - start.ms());
        }
        if sim.world.now >= deadline {
            let detail = format!("after {budget_ms} ms still outstanding: {}", left.join("; "));
            return Err(Violation::new("liveness: everything finishes", detail));
        }
    }
}

/// One iteration's worth of background work, driven until it stops producing more.
fn settle_everything(sim: &mut Sim) {
    sim.tick();
    sim.claim_on_commit();
    for _ in 0..QUIESCE_ROUNDS_MAX {
        sim.pass();
        let delivered = sim.deliver(usize::MAX);
        let mut worked = false;
        for index in 0..sim.peers.len() {
            let peer = &mut sim.peers.peers[index];
            if peer.inbox.is_empty() && peer.held.is_empty() {
                continue;
            }
            worked = true;
            workers::turn(&mut sim.world, peer, &sim.prev);
            sim.claim_on_commit();
        }
        if delivered == 0 && !worked {
            break;
        }
    }
}

/// Settled promises with a listener whose unblock neither arrived nor was lost to a fault.
fn undelivered_unblocks(sim: &Sim) -> Vec<String> {
    let world = &sim.world;
    let settled = |id: &String| {
        sim.prev
            .promises
            .binary_search_by(|promise| promise.id.cmp(id))
            .is_ok_and(|index| !sim.prev.promises[index].state.is_pending())
    };
    world
        .listened
        .iter()
        .filter(|id| settled(id))
        .filter(|id| !world.unblocked.contains(*id) && !world.unblocks_excused.contains(*id))
        .take(20)
        .map(|id| format!("unblock for {id} never reached its listener"))
        .collect()
}

/// What still blocks the liveness goal, one description each.
fn outstanding(snapshot: &Snapshot, at_start: &BTreeSet<String>, now: Timestamp) -> Vec<String> {
    let settled_by = now.plus_ms(-GRACE_MS);
    let mut left = Vec::new();
    for task in &snapshot.tasks {
        if matches!(task.state, TaskState::Fulfilled | TaskState::Halted) {
            continue;
        }
        let created_at = snapshot
            .promises
            .binary_search_by(|promise| promise.id.cmp(&task.id))
            .map(|index| snapshot.promises[index].created_at)
            .unwrap_or_default();
        if at_start.contains(&task.id) || created_at <= settled_by {
            left.push(format!("task {} {:?} v{}", task.id, task.state, task.version));
        }
    }
    for promise in &snapshot.promises {
        if promise.state.is_pending() && promise.timeout_at <= now {
            left.push(format!("promise {} pending past {}", promise.id, promise.timeout_at));
        }
    }
    left.truncate(20);
    left
}
