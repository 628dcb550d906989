//! One simulated run: the safety phase (a seeded mix of client commands, ticks, dispatch passes,
//! network events and worker turns under faults, with every invariant checked after every step),
//! then the liveness phase.

use resolute_core::command::Command;
use resolute_core::reply::{AcquireReply, ListenerReply, Snapshot, TaskCreateReply};
use resolute_core::Reply;

use crate::checker::{self, Limits, Violation};
use crate::client::Client;
use crate::config::{hit, range, SimConfig};
use crate::dispatcher::Dispatcher;
use crate::network::{Event, Network};
use crate::peers::Peers;
use crate::workers;
use crate::world::{World, START};

/// How often (in steps) SQLite's whole snapshot is compared with MemStore's.
const SQLITE_SNAPSHOT_EVERY: u64 = 50;

/// Ticks one step may run while batches come back full.
const TICKS_PER_STEP_MAX: usize = 16;

pub struct Sim {
    pub world: World,
    pub dispatcher: Dispatcher,
    pub network: Network,
    pub peers: Peers,
    pub client: Client,
    /// The snapshot after the previous step.
    pub prev: Snapshot,
    pub limits: Limits,
}

/// The kinds of step, drawn with the seed's weights.
#[derive(Clone, Copy, Debug)]
enum Action {
    Client,
    Tick,
    Pass,
    Network,
    Worker,
    Advance,
}

impl Sim {
    pub fn new(seed: u64) -> Sim {
        let config = SimConfig::from_seed(seed);
        let settings = &config.dispatch;
        let limits = Limits {
            lease_ms: config.lease_horizon_ms(),
            retry_timeout_ms: config.kernel.retry_timeout_ms,
            claim_lease_ms: settings.claim_lease_ms,
            defer_ms: settings.park_ms.max(settings.retry_max_ms),
        };
        let peers = Peers::new(config.workers);
        Sim {
            world: World::new(config),
            dispatcher: Dispatcher::new(0),
            network: Network::default(),
            peers,
            client: Client::new(seed, START),
            prev: Snapshot::default(),
            limits,
        }
    }

    /// One step of the safety phase, then every invariant.
    pub fn step(&mut self) -> Result<(), Violation> {
        self.world.step += 1;
        self.inject_step_faults();
        self.peers.maintain(self.world.now);
        match self.pick_action() {
            Action::Client => self.client(),
            Action::Tick => self.tick(),
            Action::Pass => self.pass(),
            Action::Network => {
                let limit = 1 + self.world.rng.below(8) as usize;
                self.deliver(limit);
            }
            Action::Worker => self.worker(),
            Action::Advance => {
                let ms = range(&mut self.world.rng, 1, 1_000);
                self.world.advance(ms);
            }
        }
        self.claim_on_commit();
        self.check()
    }

    /// Offers what the step's commits queued to the dispatcher's claim on commit.
    pub fn claim_on_commit(&mut self) {
        let queued = self.world.backend.take_fresh();
        if !queued.is_empty() {
            let (world, network, peers) = (&mut self.world, &mut self.network, &self.peers);
            self.dispatcher.claim_on_commit(world, network, peers, queued);
        }
    }

    fn pick_action(&mut self) -> Action {
        let mix = &self.world.config.mix;
        let weighted = [
            (Action::Client, mix.client),
            (Action::Tick, mix.tick),
            (Action::Pass, mix.pass),
            (Action::Network, mix.network),
            (Action::Worker, mix.worker),
            (Action::Advance, mix.advance),
        ];
        let total: u64 = weighted.iter().map(|(_, weight)| weight).sum();
        let mut draw = self.world.rng.below(total);
        for (action, weight) in weighted {
            if draw < weight {
                return action;
            }
            draw -= weight;
        }
        Action::Advance
    }

    /// Faults that strike between steps: clock jumps, restarts, crashes and stalls.
    fn inject_step_faults(&mut self) {
        let faults = self.world.config.faults.clone();
        let rng = &mut self.world.rng;
        if hit(rng, faults.clock_jump) {
            let horizon = self.limits.lease_ms.max(self.limits.retry_timeout_ms);
            let ms = range(rng, horizon / 2, 3 * horizon);
            self.world.advance(ms);
            self.world.count("fault: clock jump");
            self.world.log("fault", format!("clock jumps {ms} ms"));
        }
        if hit(&mut self.world.rng, faults.restart) {
            self.restart();
        }
        if hit(&mut self.world.rng, faults.worker_crash) {
            let index = self.world.rng.below(self.peers.len() as u64) as usize;
            let back_at = self.world.now.plus_ms(range(&mut self.world.rng, 100, 10_000));
            for body in &self.peers.peers[index].inbox {
                self.world.excuse_unblock(body);
            }
            self.peers.crash(index, back_at);
            let name = self.peers.name(index).to_owned();
            self.world.count("fault: worker crash");
            self.world.log("fault", format!("{name} crashes"));
        }
        if hit(&mut self.world.rng, faults.worker_stall) {
            let index = self.world.rng.below(self.peers.len() as u64) as usize;
            let ttl = self.world.config.worker_ttl_ms;
            let until = self.world.now.plus_ms(range(&mut self.world.rng, ttl / 2, 3 * ttl));
            self.peers.peers[index].stalled_until = Some(until);
            let name = self.peers.name(index).to_owned();
            self.world.count("fault: worker stall");
            self.world.log("fault", format!("{name} stalls until {until}"));
        }
    }

    /// The server process restarts: dispatcher memory and poll streams are gone, the store is
    /// kept, and startup releases every claimed row (no attempt from before can still be alive).
    fn restart(&mut self) {
        self.world.count("fault: restart");
        self.world.log("fault", "server restarts".to_owned());
        self.dispatcher = Dispatcher::new(self.dispatcher.incarnation + 1);
        // The server claims inside the queuing transaction, so no claim can straddle a restart.
        let _ = self.world.backend.take_fresh();
        let back_at = self.world.now.plus_ms(range(&mut self.world.rng, 0, 3_000));
        self.peers.drop_streams(back_at);
        // Startup retries until the store answers.
        for _ in 0..8 {
            if self.world.exec("boot", Command::ReleaseLeases).is_ok() {
                break;
            }
        }
    }

    /// A random client command from the shared workload generator.
    fn client(&mut self) {
        let (command, at) = self.client.next(self.world.step, self.world.now);
        self.world.now = self.world.now.max(at);
        match self.world.exec("client", command) {
            Ok(Reply::PromiseRegisterListener(ListenerReply::Registered(promise)))
                if promise.state.is_pending() =>
            {
                self.world.listened.insert(promise.id);
            }
            Ok(Reply::TaskAcquire(AcquireReply::Acquired(acquired)))
            | Ok(Reply::TaskCreate(TaskCreateReply::Acquired(acquired))) => {
                let task = &acquired.task;
                self.world.record_acquisition(&task.id, task.version);
            }
            _ => {}
        }
    }

    /// A worker's turn, preferring peers that have something to do.
    fn worker(&mut self) {
        let busy: Vec<usize> = (0..self.peers.len())
            .filter(|&index| {
                let peer = &self.peers.peers[index];
                !peer.inbox.is_empty() || !peer.held.is_empty()
            })
            .collect();
        let index = if busy.is_empty() || self.world.rng.chance(10) {
            self.world.rng.below(self.peers.len() as u64) as usize
        } else {
            *self.world.rng.pick(&busy)
        };
        workers::turn(&mut self.world, &mut self.peers.peers[index], &self.prev);
    }

    /// The background tick, repeated while batches come back full (as the server's loop).
    pub fn tick(&mut self) {
        let limit = self.world.config.dispatch.batch;
        for _ in 0..TICKS_PER_STEP_MAX {
            match self.world.exec("tick", Command::Tick { limit }) {
                Ok(Reply::Tick(report)) if report.is_full(limit) => continue,
                _ => break,
            }
        }
    }

    pub fn pass(&mut self) {
        let (world, network, peers) = (&mut self.world, &mut self.network, &self.peers);
        self.dispatcher.pass(world, network, peers);
    }

    /// Handles up to `limit` network events that are due.
    pub fn deliver(&mut self, limit: usize) -> usize {
        let events = self.network.take_due(self.world.now, limit);
        let count = events.len();
        for event in events {
            match event {
                Event::Arrive { peer, incarnation, body } => {
                    if !self.peers.arrive(peer, incarnation, body.clone()) {
                        self.world.excuse_unblock(&body);
                        let name = self.peers.name(peer).to_owned();
                        self.world.log("net", format!("message to {name} lost: peer gone"));
                    }
                }
                Event::Outcome { dispatcher, message, ticket, delivered }
                    if dispatcher == self.dispatcher.incarnation =>
                {
                    self.dispatcher.finish(&mut self.world, message, ticket, delivered);
                }
                Event::Outcome { .. } => {
                    self.world.log("net", "outcome for a dead dispatcher".to_owned());
                }
            }
        }
        count
    }

    /// Every invariant on the store after this step, then the step's record is reset.
    pub fn check(&mut self) -> Result<(), Violation> {
        let result = self.check_inner();
        self.world.committed.clear();
        result
    }

    fn check_inner(&mut self) -> Result<(), Violation> {
        if let Some(finding) = self.world.finding.take() {
            return Err(finding);
        }
        if self.world.step.is_multiple_of(SQLITE_SNAPSHOT_EVERY) {
            self.compare_backends()?;
        }
        if !self.world.committed.iter().any(checker::may_write) {
            return checker::check_beliefs(&self.prev, &self.peers);
        }
        let next = self.world.backend.snapshot();
        let now = self.world.now;
        checker::check_snapshot(&next, now, &self.limits)?;
        checker::check_transition(&self.prev, &next, &self.world.committed, now)?;
        checker::check_beliefs(&next, &self.peers)?;
        self.prev = next;
        Ok(())
    }

    pub fn compare_backends(&self) -> Result<(), Violation> {
        match self.world.backend.compare_snapshots(self.world.now) {
            None => Ok(()),
            Some(detail) => Err(Violation::new("backends agree", detail)),
        }
    }
}
