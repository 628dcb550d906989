//! Random clients: the shared workload generator, with its ids scoped to an epoch.
//!
//! The workload draws ids from a small pool so that collisions happen, but creation is idempotent,
//! so after a few hundred commands every id exists and is settled and no new task appears. Ids are
//! therefore prefixed with an epoch that moves on every few hundred steps (with some commands
//! aimed at the previous epoch), which keeps collisions within an epoch and fresh work coming.
//! The workload's clock advances are scaled down so that leases outlive a few worker turns.

use resolute_core::command::{CreatePromise, FenceAction, SettlePromise};
use resolute_core::{Command, Timestamp, TAG_BRANCH, TAG_ORIGIN};
use resolute_store::workload::Workload;

/// Steps per id epoch.
const EPOCH_STEPS: u64 = 250;

/// The workload's time advances are divided by this.
const TIME_SCALE: i64 = 4;

pub struct Client {
    workload: Workload,
}

impl Client {
    pub fn new(seed: u64, start: Timestamp) -> Client {
        Client { workload: Workload::new(seed, start) }
    }

    /// The next client command at `now` during `step`, and the instant it runs at.
    pub fn next(&mut self, step: u64, now: Timestamp) -> (Command, Timestamp) {
        self.workload.now = now;
        let command = self.workload.next_command();
        let advanced = (self.workload.now.ms() - now.ms()).max(0) / TIME_SCALE;
        let mut epoch = step / EPOCH_STEPS;
        if epoch > 0 && self.workload.rng.chance(20) {
            epoch -= 1;
        }
        (scope(command, &format!("e{epoch}-")), now.plus_ms(advanced))
    }
}

/// Prefixes every promise and task id in `command` (and the tags derived from them).
fn scope(command: Command, prefix: &str) -> Command {
    let id = |id: String| format!("{prefix}{id}");
    match command {
        Command::PromiseGet { id: x } => Command::PromiseGet { id: id(x) },
        Command::PromiseCreate(create) => Command::PromiseCreate(scope_create(create, prefix)),
        Command::PromiseSettle(settle) => Command::PromiseSettle(scope_settle(settle, prefix)),
        Command::PromiseRegisterCallback { awaited, awaiter } => {
            Command::PromiseRegisterCallback { awaited: id(awaited), awaiter: id(awaiter) }
        }
        Command::PromiseRegisterListener { awaited, address } => {
            Command::PromiseRegisterListener { awaited: id(awaited), address }
        }
        Command::TaskGet { id: x } => Command::TaskGet { id: id(x) },
        Command::TaskCreate { pid, ttl_ms, promise } => {
            Command::TaskCreate { pid, ttl_ms, promise: scope_create(promise, prefix) }
        }
        Command::TaskAcquire { id: x, version, pid, ttl_ms } => {
            Command::TaskAcquire { id: id(x), version, pid, ttl_ms }
        }
        Command::TaskRelease { id: x, version } => Command::TaskRelease { id: id(x), version },
        Command::TaskFulfill { id: x, version, settle } => {
            Command::TaskFulfill { id: id(x), version, settle: scope_settle(settle, prefix) }
        }
        Command::TaskSuspend { id: x, version, awaited } => {
            // The API layer de-duplicates awaited ids before the kernel sees them.
            let mut scoped: Vec<String> = Vec::new();
            for awaited in awaited.into_iter().map(id) {
                if !scoped.contains(&awaited) {
                    scoped.push(awaited);
                }
            }
            Command::TaskSuspend { id: id(x), version, awaited: scoped }
        }
        Command::TaskFence { id: x, version, action } => {
            let action = match action {
                FenceAction::Create(create) => FenceAction::Create(scope_create(create, prefix)),
                FenceAction::Settle(settle) => FenceAction::Settle(scope_settle(settle, prefix)),
            };
            Command::TaskFence { id: id(x), version, action }
        }
        Command::TaskHeartbeat { pid, mut tasks } => {
            for task in &mut tasks {
                task.id = id(std::mem::take(&mut task.id));
            }
            Command::TaskHeartbeat { pid, tasks }
        }
        Command::TaskHalt { id: x } => Command::TaskHalt { id: id(x) },
        Command::TaskContinue { id: x } => Command::TaskContinue { id: id(x) },
        other => other,
    }
}

fn scope_create(mut create: CreatePromise, prefix: &str) -> CreatePromise {
    create.id = format!("{prefix}{}", create.id);
    for tag in [TAG_ORIGIN, TAG_BRANCH] {
        if let Some(value) = create.tags.get_mut(tag) {
            *value = format!("{prefix}{value}");
        }
    }
    create
}

fn scope_settle(mut settle: SettlePromise, prefix: &str) -> SettlePromise {
    settle.id = format!("{prefix}{}", settle.id);
    settle
}
