//! The shared world of one run: the simulated clock, the store, the sim's randomness, the trace,
//! and the record of what each step committed (the checker explains state changes with it).

use std::collections::{BTreeMap, BTreeSet};

use resolute_core::{Command, Reply, Timestamp};
use resolute_store::workload::Rng;

use crate::backend::{Backend, ExecError, Injection};
use crate::checker::Violation;
use crate::config::{hit, range, SimConfig};
use crate::trace::Trace;

/// The instant every run starts at (the workload's convention).
pub const START: Timestamp = Timestamp(1_000_000_000);

pub struct World {
    pub config: SimConfig,
    /// Every decision of the simulator itself (the workload has its own stream).
    pub rng: Rng,
    pub now: Timestamp,
    pub backend: Backend,
    pub trace: Trace,
    pub step: u64,
    /// False in the liveness phase: no injected store errors.
    pub faults_on: bool,
    /// Commands that committed during the current step (including those whose reply was lost).
    pub committed: Vec<Command>,
    /// A finding raised while executing (backends disagreeing), reported after the step.
    pub finding: Option<Violation>,
    /// Commands executed so far.
    pub commands: u64,
    /// Every (task, version) an acquire or create handed out, as its caller saw it.
    pub acquisitions: BTreeSet<(String, i64)>,
    /// How often each kind of notable event happened, to see what a seed exercised.
    pub counts: BTreeMap<&'static str, u64>,
    /// Promises a client registered the listener `c/1` on while they were pending.
    pub listened: BTreeSet<String>,
    /// Promises whose unblock reached the listener.
    pub unblocked: BTreeSet<String>,
    /// Promises whose unblock a fault legitimately lost (lost after hand-off, sent to a crashed
    /// process, or abandoned after too many failures).
    pub unblocks_excused: BTreeSet<String>,
}

impl World {
    pub fn new(config: SimConfig) -> World {
        let backend = Backend::new(config.kernel.clone(), config.sqlite);
        World {
            rng: Rng::new(config.seed ^ 0x0051_4D00_0000_0001),
            config,
            now: START,
            backend,
            trace: Trace::new(START),
            step: 0,
            faults_on: true,
            committed: Vec::new(),
            finding: None,
            commands: 0,
            acquisitions: BTreeSet::new(),
            counts: BTreeMap::new(),
            listened: BTreeSet::new(),
            unblocked: BTreeSet::new(),
            unblocks_excused: BTreeSet::new(),
        }
    }

    /// A fault lost the unblock of `body`, if it is one.
    pub fn excuse_unblock(&mut self, body: &resolute_core::reply::ClaimedBody) {
        if let resolute_core::reply::ClaimedBody::Unblock { promise } = body {
            self.unblocks_excused.insert(promise.id.clone());
        }
    }

    pub fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    /// Raises a finding; the first one of a step is the one reported.
    pub fn flag(&mut self, invariant: &'static str, detail: String) {
        self.finding.get_or_insert(Violation::new(invariant, detail));
    }

    /// An acquire handed out `version` of task `id`: the protocol never hands out one twice.
    pub fn record_acquisition(&mut self, id: &str, version: i64) {
        if !self.acquisitions.insert((id.to_owned(), version)) {
            let detail = format!("task {id} version {version} was acquired twice");
            self.flag("each acquisition is unique", detail);
        }
    }

    /// Records one event in the trace.
    pub fn log(&mut self, who: &str, what: String) {
        self.trace.event(self.step, self.now, who, what);
    }

    /// Runs a command for `who` at the current time, possibly with an injected store fault.
    pub fn exec(&mut self, who: &str, command: Command) -> Result<Reply, ExecError> {
        let injection = self.injection();
        self.commands += 1;
        let result = self.backend.execute(&command, self.now, injection);
        let outcome = match &result {
            Ok(executed) => brief_reply(&executed.reply),
            Err(ExecError::RolledBack) => {
                self.counts.entry("fault: store error").and_modify(|n| *n += 1).or_insert(1);
                "ERR store (rolled back)".to_owned()
            }
            Err(ExecError::ReplyLost) => {
                self.counts.entry("fault: reply lost").and_modify(|n| *n += 1).or_insert(1);
                "ERR reply lost (committed)".to_owned()
            }
            Err(ExecError::Divergence(detail)) => format!("DIVERGENCE {detail}"),
        };
        self.log(who, format!("{} -> {outcome}", brief_command(&command)));
        match result {
            Ok(executed) => {
                self.committed.push(command);
                Ok(executed.reply)
            }
            Err(ExecError::ReplyLost) => {
                self.committed.push(command);
                Err(ExecError::ReplyLost)
            }
            Err(ExecError::Divergence(detail)) => {
                self.finding.get_or_insert(Violation::new("backends agree", detail));
                Err(ExecError::RolledBack)
            }
            Err(error) => Err(error),
        }
    }

    fn injection(&mut self) -> Injection {
        if !self.faults_on {
            return Injection::None;
        }
        let faults = &self.config.faults;
        let (store_error, reply_lost) = (faults.store_error, faults.reply_lost);
        if hit(&mut self.rng, store_error) {
            // Early operations are reads; later ones are usually writes. Both must roll back.
            return Injection::FailAt(range(&mut self.rng, 0, 12) as usize);
        }
        if hit(&mut self.rng, reply_lost) {
            return Injection::LoseReply;
        }
        Injection::None
    }

    /// Moves the clock forward (it never goes back: the server's clock is monotonic).
    pub fn advance(&mut self, ms: i64) {
        self.now = self.now.plus_ms(ms.max(0));
    }
}

/// A command in a few words for the trace.
pub fn brief_command(command: &Command) -> String {
    match command {
        Command::PromiseCreate(create) => format!("promise.create {}", create.id),
        Command::PromiseSettle(settle) => {
            format!("promise.settle {} {:?}", settle.id, settle.state)
        }
        Command::PromiseRegisterCallback { awaited, awaiter } => {
            format!("callback {awaiter} awaits {awaited}")
        }
        Command::PromiseRegisterListener { awaited, .. } => format!("listen {awaited}"),
        Command::TaskCreate { pid, promise, .. } => format!("task.create {} by {pid}", promise.id),
        Command::TaskAcquire { id, version, pid, .. } => format!("acquire {id} v{version} {pid}"),
        Command::TaskRelease { id, version } => format!("release {id} v{version}"),
        Command::TaskFulfill { id, version, .. } => format!("fulfill {id} v{version}"),
        Command::TaskSuspend { id, version, awaited } => {
            format!("suspend {id} v{version} on {awaited:?}")
        }
        Command::TaskFence { id, version, action } => match action {
            resolute_core::command::FenceAction::Create(create) => {
                format!("fence {id} v{version} create {}", create.id)
            }
            resolute_core::command::FenceAction::Settle(settle) => {
                format!("fence {id} v{version} settle {}", settle.id)
            }
        },
        Command::TaskHeartbeat { pid, tasks } => {
            let held: Vec<String> =
                tasks.iter().map(|t| format!("{}@{}", t.id, t.version)).collect();
            format!("heartbeat {pid} {held:?}")
        }
        Command::ClaimMessages { claims, parks, drops, .. } => {
            format!("claim {} park {} drop {}", claims.len(), parks.len(), drops.len())
        }
        Command::SettleDelivery { key, outcome, attempts, .. } => {
            format!("settle-delivery {key:?} #{attempts} {outcome:?}")
        }
        other => {
            let text = format!("{other:?}");
            text.chars().take(80).collect()
        }
    }
}

/// A reply in a few words for the trace.
pub fn brief_reply(reply: &Reply) -> String {
    match reply {
        Reply::PromiseCreate(promise) => promise.state.as_str().to_owned(),
        Reply::PromiseSettle(resolute_core::reply::PromiseReply::Found(promise)) => {
            promise.state.as_str().to_owned()
        }
        Reply::TaskAcquire(resolute_core::reply::AcquireReply::Acquired(acquired)) => {
            format!("acquired v{}", acquired.task.version)
        }
        Reply::TaskCreate(resolute_core::reply::TaskCreateReply::Acquired(acquired)) => {
            format!("acquired v{}", acquired.task.version)
        }
        Reply::TaskFence(resolute_core::reply::FenceReply::Done { outcome, .. }) => match outcome {
            resolute_core::reply::FenceOutcome::Created(p) => {
                format!("created {}", p.state.as_str())
            }
            resolute_core::reply::FenceOutcome::Settled(p) => {
                format!("settled {}", p.state.as_str())
            }
            resolute_core::reply::FenceOutcome::SettleNotFound => "settle not found".to_owned(),
        },
        Reply::TaskFulfill(resolute_core::reply::FulfillReply::Fulfilled(promise)) => {
            format!("fulfilled {}", promise.state.as_str())
        }
        Reply::Tick(report) => format!(
            "timeouts {} retries {} leases {} schedules {}",
            report.promises_timed_out,
            report.retries_sent,
            report.leases_expired,
            report.schedules_fired
        ),
        Reply::DueMessages(messages) => format!("{} due", messages.len()),
        Reply::ClaimMessages(claimed) => {
            let keys: Vec<String> = claimed
                .iter()
                .map(|message| format!("{:?}#{}", message.key, message.attempts))
                .collect();
            format!("claimed {keys:?}")
        }
        Reply::DebugSnap(_) => "snapshot".to_owned(),
        other => {
            let text = format!("{other:?}");
            text.chars().take(60).collect()
        }
    }
}
