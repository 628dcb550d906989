//! What a simulated worker does on its turn: acquire what it was sent, then heartbeat, create
//! children under its lease, suspend on them, fulfill, release, or replay a stale version as a
//! zombie would. In the liveness phase workers turn cooperative: acquire and fulfill everything.

use resolute_core::command::{CreatePromise, FenceAction, HeldTask, SettlePromise};
use resolute_core::reply::{
    AcquireReply, ClaimedBody, FenceReply, FulfillReply, LeaseReply, Snapshot, SuspendReply,
};
use resolute_core::{
    Command, Reply, SettleState, Tags, TaskState, Value, TAG_BRANCH, TAG_DELAY, TAG_ORIGIN,
    TAG_TARGET,
};

use crate::config::{hit, range};
use crate::peers::{Held, Peer};
use crate::world::World;

/// Where children are sent: the same targets the workload uses, so lanes are shared.
const TARGETS: &[&str] = &["poll://any@w", "poll://uni@w/1", "http://127.0.0.1:9/hook"];

/// Ids are nested at most this deep, so the id space (and the store) stays small.
const DEPTH_MAX: usize = 4;

/// One turn of `peer`. Stalled or offline peers do nothing.
pub fn turn(world: &mut World, peer: &mut Peer, prev: &Snapshot) {
    if !peer.is_online() || peer.is_stalled() {
        return;
    }
    if !world.faults_on {
        work_through(world, peer);
        return;
    }
    if let Some(body) = peer.inbox.pop_front() {
        receive(world, peer, body, prev);
        return;
    }
    let stale = world.config.faults.worker_stale;
    if !peer.lost.is_empty() && hit(&mut world.rng, stale) {
        replay_stale(world, peer, prev);
        return;
    }
    if !peer.held.is_empty() {
        act(world, peer, prev);
    }
}

fn receive(world: &mut World, peer: &mut Peer, body: ClaimedBody, prev: &Snapshot) {
    match body {
        ClaimedBody::Execute { task_id, version } => {
            acquire(world, peer, &task_id, version, prev);
        }
        ClaimedBody::Unblock { promise } => {
            world.log(&peer.name, format!("unblocked by {}", promise.id));
            world.unblocked.insert(promise.id.clone());
            if promise.state.is_pending() {
                let detail = format!("unblock for {} carried a pending promise", promise.id);
                world.flag("unblocks carry settled promises", detail);
            }
        }
    }
}

/// Acquires a task it was sent; true when it now holds it.
fn acquire(world: &mut World, peer: &mut Peer, id: &str, version: i64, prev: &Snapshot) -> bool {
    let ttl_ms = world.config.worker_ttl_ms;
    let command =
        Command::TaskAcquire { id: id.to_owned(), version, pid: peer.pid.clone(), ttl_ms };
    let first = first_of_step(world);
    let Ok(Reply::TaskAcquire(AcquireReply::Acquired(acquired))) = world.exec(&peer.name, command)
    else {
        return false;
    };
    if first && !was_in(prev, id, TaskState::Pending, version) {
        let detail = format!("{} acquired {id} v{version} but it was not pending", peer.name);
        world.flag("only a pending task is acquired", detail);
    }
    world.count("worker acquired");
    world.record_acquisition(id, acquired.task.version);
    peer.forget(id);
    let held = Held {
        version: acquired.task.version,
        until: world.now.plus_ms(ttl_ms),
        children: Vec::new(),
    };
    peer.held.insert(id.to_owned(), held);
    true
}

fn act(world: &mut World, peer: &mut Peer, prev: &Snapshot) {
    let ids: Vec<String> = peer.held.keys().cloned().collect();
    let id = world.rng.pick(&ids).clone();
    match world.rng.below(100) {
        0..=24 => heartbeat(world, peer),
        25..=44 => fence_create(world, peer, &id, prev),
        45..=59 => suspend(world, peer, &id, prev),
        60..=79 => fulfill(world, peer, &id, prev),
        80..=86 => release(world, peer, &id, prev),
        87..=92 => fence_settle(world, peer, &id, prev),
        _ => world.log(&peer.name, format!("works on {id}")),
    }
}

fn heartbeat(world: &mut World, peer: &mut Peer) {
    let tasks = peer
        .held
        .iter()
        .map(|(id, held)| HeldTask { id: id.clone(), version: held.version })
        .collect();
    let command = Command::TaskHeartbeat { pid: peer.pid.clone(), tasks };
    if world.exec(&peer.name, command).is_ok() {
        // The reply does not say which leases were renewed; a worker can only assume all were.
        let until = world.now.plus_ms(world.config.worker_ttl_ms);
        for held in peer.held.values_mut() {
            held.until = until;
        }
    }
}

fn fence_create(world: &mut World, peer: &mut Peer, id: &str, prev: &Snapshot) {
    let Some(child) = child_id(world, id) else {
        return heartbeat(world, peer);
    };
    let request = child_promise(world, &child);
    let version = peer.held[id].version;
    let command =
        Command::TaskFence { id: id.to_owned(), version, action: FenceAction::Create(request) };
    let first = first_of_step(world);
    match world.exec(&peer.name, command) {
        Ok(Reply::TaskFence(FenceReply::Done { .. })) => {
            check_fenced(world, prev, first, id, version);
            let held = peer.held.get_mut(id).expect("held");
            if !held.children.contains(&child) {
                held.children.push(child);
            }
        }
        Ok(Reply::TaskFence(_)) => peer.forget(id),
        _ => {}
    }
}

fn suspend(world: &mut World, peer: &mut Peer, id: &str, prev: &Snapshot) {
    let held = &peer.held[id];
    if held.children.is_empty() {
        return fence_create(world, peer, id, prev);
    }
    let version = held.version;
    let command =
        Command::TaskSuspend { id: id.to_owned(), version, awaited: held.children.clone() };
    let first = first_of_step(world);
    match world.exec(&peer.name, command) {
        Ok(Reply::TaskSuspend(SuspendReply::Suspended)) => {
            world.count("worker suspended");
            check_fenced(world, prev, first, id, version);
            peer.forget(id);
        }
        Ok(Reply::TaskSuspend(SuspendReply::Continue { .. })) => {
            check_fenced(world, prev, first, id, version);
        }
        Ok(Reply::TaskSuspend(SuspendReply::AwaitedNotFound)) => {}
        Ok(Reply::TaskSuspend(_)) => peer.forget(id),
        _ => {}
    }
}

fn fulfill(world: &mut World, peer: &mut Peer, id: &str, prev: &Snapshot) {
    let version = peer.held[id].version;
    let first = first_of_step(world);
    let command = fulfill_command(world, id, version);
    match world.exec(&peer.name, command) {
        Ok(Reply::TaskFulfill(FulfillReply::Fulfilled(_))) => {
            world.count("worker fulfilled");
            check_fenced(world, prev, first, id, version);
            peer.forget(id);
        }
        Ok(Reply::TaskFulfill(_)) => peer.forget(id),
        _ => {}
    }
}

fn release(world: &mut World, peer: &mut Peer, id: &str, prev: &Snapshot) {
    let version = peer.held[id].version;
    let first = first_of_step(world);
    let command = Command::TaskRelease { id: id.to_owned(), version };
    match world.exec(&peer.name, command) {
        Ok(Reply::TaskRelease(LeaseReply::Done)) => {
            check_fenced(world, prev, first, id, version);
            peer.forget(id);
        }
        Ok(Reply::TaskRelease(_)) => peer.forget(id),
        _ => {}
    }
}

fn fence_settle(world: &mut World, peer: &mut Peer, id: &str, prev: &Snapshot) {
    let held = &peer.held[id];
    let version = held.version;
    let child = match held.children.is_empty() {
        true => format!("{id}.{}", world.rng.below(3)),
        false => world.rng.pick(&held.children).clone(),
    };
    let command = Command::TaskFence {
        id: id.to_owned(),
        version,
        action: FenceAction::Settle(settle_request(world, &child)),
    };
    let first = first_of_step(world);
    match world.exec(&peer.name, command) {
        Ok(Reply::TaskFence(FenceReply::Done { .. })) => {
            check_fenced(world, prev, first, id, version);
        }
        Ok(Reply::TaskFence(_)) => peer.forget(id),
        _ => {}
    }
}

/// A zombie (a crashed incarnation's request still in flight, or a worker back from a stall)
/// acts with a version it no longer holds. The store must refuse unless that version is current.
fn replay_stale(world: &mut World, peer: &mut Peer, prev: &Snapshot) {
    let index = world.rng.below(peer.lost.len() as u64) as usize;
    let (id, version) = peer.lost[index].clone();
    world.log(&peer.name, format!("zombie replays {id} v{version}"));
    let command = match world.rng.below(3) {
        0 => fulfill_command(world, &id, version),
        1 => Command::TaskRelease { id: id.clone(), version },
        _ => Command::TaskFence {
            id: id.clone(),
            version,
            action: FenceAction::Create(child_promise(world, &format!("{id}.z"))),
        },
    };
    let first = first_of_step(world);
    let succeeded = matches!(
        world.exec(&peer.name, command),
        Ok(Reply::TaskFulfill(FulfillReply::Fulfilled(_))
            | Reply::TaskRelease(LeaseReply::Done)
            | Reply::TaskFence(FenceReply::Done { .. }))
    );
    if succeeded {
        world.count("zombie op accepted");
        check_fenced(world, prev, first, &id, version);
    } else {
        world.count("zombie op refused");
    }
}

/// Liveness phase: finish every lease still held, then acquire and fulfill everything received.
fn work_through(world: &mut World, peer: &mut Peer) {
    let held = std::mem::take(&mut peer.held);
    for (id, held) in held {
        let command = fulfill_command(world, &id, held.version);
        let _ = world.exec(&peer.name, command);
    }
    let empty = Snapshot::default();
    while let Some(body) = peer.inbox.pop_front() {
        let ClaimedBody::Execute { task_id, version } = body else {
            receive(world, peer, body, &empty);
            continue;
        };
        if acquire(world, peer, &task_id, version, &empty) {
            let version = peer.held[&task_id].version;
            let command = fulfill_command(world, &task_id, version);
            let _ = world.exec(&peer.name, command);
            peer.forget(&task_id);
        }
    }
}

/// A lease-holder operation succeeded, so the task must have been acquired at exactly that
/// version before the step: versions are the fencing tokens of the protocol.
fn check_fenced(world: &mut World, prev: &Snapshot, first: bool, id: &str, version: i64) {
    world.count("lease-holder op ok");
    if first && !was_in(prev, id, TaskState::Acquired, version) {
        let detail = format!("an operation on {id} at v{version} succeeded on a stale version");
        world.flag("only the current lease holder acts", detail);
    }
}

/// True when nothing has committed yet this step, so the previous snapshot is the state the next
/// command starts from (always false in the liveness phase, which runs many commands a step).
fn first_of_step(world: &World) -> bool {
    world.faults_on && world.committed.is_empty()
}

fn was_in(snapshot: &Snapshot, id: &str, state: TaskState, version: i64) -> bool {
    snapshot
        .tasks
        .binary_search_by(|task| task.id.as_str().cmp(id))
        .ok()
        .map(|index| &snapshot.tasks[index])
        .is_some_and(|task| task.state == state && task.version == version)
}

fn fulfill_command(world: &mut World, id: &str, version: i64) -> Command {
    Command::TaskFulfill { id: id.to_owned(), version, settle: settle_request(world, id) }
}

fn settle_request(world: &mut World, id: &str) -> SettlePromise {
    let states = [SettleState::Resolved, SettleState::Rejected, SettleState::RejectedCanceled];
    SettlePromise {
        id: id.to_owned(),
        state: *world.rng.pick(&states),
        value: Value { headers: None, data: Some(format!("{}", world.rng.below(100))) },
    }
}

fn child_id(world: &mut World, parent: &str) -> Option<String> {
    let depth = parent.matches(['.', ':']).count();
    (depth < DEPTH_MAX).then(|| format!("{parent}.{}", world.rng.below(3)))
}

/// A child promise: usually targeted (a task of its own), with a short timeout so that a parent
/// suspended on it always resumes, sometimes with a delayed first execute.
fn child_promise(world: &mut World, id: &str) -> CreatePromise {
    let root = id.split(['.', ':']).next().unwrap_or(id).to_owned();
    let mut tags = Tags::new();
    tags.insert(TAG_ORIGIN.to_owned(), root.clone());
    tags.insert(TAG_BRANCH.to_owned(), root);
    if world.rng.chance(80) {
        let target = *world.rng.pick(TARGETS);
        tags.insert(TAG_TARGET.to_owned(), target.to_owned());
    }
    if world.rng.chance(10) {
        let delay = world.now.plus_ms(range(&mut world.rng, 0, 10_000));
        tags.insert(TAG_DELAY.to_owned(), delay.ms().to_string());
    }
    CreatePromise {
        id: id.to_owned(),
        timeout_at: world.now.plus_ms(range(&mut world.rng, 1_000, 60_000)),
        param: Value::default(),
        tags,
    }
}
