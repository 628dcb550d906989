//! The dispatcher, driven synchronously the way `resolute-server`'s dispatch pass drives it:
//! reclaim idle slots, wake parked lanes that have room, then rounds of `DueMessages` →
//! `Lanes::try_start` → `ClaimMessages` → deliver → `SettleDelivery`. Only the transport is
//! simulated; the bookkeeping (`Lanes`) and every store command are the real ones.

use resolute_core::address::{Address, Cast};
use resolute_core::command::DeliveryOutcome;
use resolute_core::lanes::{retry_delay_ms, Ticket};
use resolute_core::planner::{Planner, Route};
use resolute_core::reply::{ClaimedBody, ClaimedMessage};
use resolute_core::{Command, Message, Reply};

use crate::config::{hit, range};
use crate::network::{Event, Network};
use crate::peers::Peers;
use crate::world::World;

/// Rounds one pass may run (as the server).
const ROUNDS_PER_PASS_MAX: usize = 32;

/// The in-memory half of the dispatcher; a process restart replaces it.
#[derive(Debug, Default)]
pub struct Dispatcher {
    /// The server's planning state and logic (`resolute_core::planner`), driven the same way.
    planner: Planner,
    /// Distinguishes outcomes of deliveries started before a restart.
    pub incarnation: u64,
}

impl Dispatcher {
    pub fn new(incarnation: u64) -> Dispatcher {
        Dispatcher { incarnation, ..Dispatcher::default() }
    }

    /// One pass, as the server runs it after a wake-up or on its interval.
    pub fn pass(&mut self, world: &mut World, network: &mut Network, peers: &Peers) {
        let reclaimed =
            self.planner.lanes.reclaim_stale(world.now, world.config.dispatch.slot_ceiling_ms);
        for slot in reclaimed {
            world.count("slot reclaimed");
            world.log("disp", format!("reclaimed idle slot {:?}", slot.ticket.key));
        }
        self.wake_parked_lanes(world, peers);
        for _ in 0..ROUNDS_PER_PASS_MAX {
            if !self.round(world, network, peers) {
                break;
            }
        }
    }

    /// The server's fast path (`dispatch/pass/on_commit.rs`): messages just queued whose lane has
    /// room are leased at once and their deliveries start, with no due scan. The server runs the
    /// claim inside the queuing transaction; here it follows the commit before anything else can
    /// happen, and a failed claim gives its slots back, as there.
    pub fn claim_on_commit(
        &mut self,
        world: &mut World,
        network: &mut Network,
        peers: &Peers,
        queued: Vec<Message>,
    ) {
        let now = world.now;
        let (claims, tickets) =
            self.planner.plan_queued(&queued, now, |address| route(address, peers, world));
        if claims.is_empty() {
            return;
        }
        let command = Command::ClaimMessages {
            claims,
            parks: Vec::new(),
            park_until: now,
            drops: Vec::new(),
            lease_until: now.plus_ms(world.config.dispatch.claim_lease_ms),
        };
        match world.exec("commit", command) {
            Ok(Reply::ClaimMessages(claimed)) => {
                world.count("claim on commit");
                self.start_deliveries(world, network, peers, claimed, tickets);
            }
            _ => self.planner.finish_all(&tickets),
        }
    }

    fn wake_parked_lanes(&mut self, world: &mut World, peers: &Peers) {
        let ready = self.planner.ready_lanes(|address| route(address, peers, world));
        if ready.is_empty() {
            return;
        }
        // A failure here is harmless: parks expire on their own.
        let _ = world.exec("disp", Command::WakeLanes { lanes: ready });
    }

    /// Returns true when the batch was full, so another round may find more.
    fn round(&mut self, world: &mut World, network: &mut Network, peers: &Peers) -> bool {
        let limit = world.config.dispatch.batch;
        let lanes = Default::default();
        let Ok(Reply::DueMessages(due)) = world.exec("disp", Command::DueMessages { limit, lanes })
        else {
            return false;
        };
        let now = world.now;
        let plan = self.planner.plan(&due, now, |address| route(address, peers, world));
        let settings = &world.config.dispatch;
        let command = Command::ClaimMessages {
            claims: plan.claims,
            parks: plan.parks,
            park_until: world.now.plus_ms(settings.park_ms),
            drops: plan.drops.into_iter().map(|(key, _, _)| key).collect(),
            lease_until: world.now.plus_ms(settings.claim_lease_ms),
        };
        let claimed = match world.exec("disp", command) {
            Ok(Reply::ClaimMessages(claimed)) => claimed,
            Ok(_) => Vec::new(),
            Err(_) => {
                // As the server: a failed claim frees its slots (a lost reply leaves the rows
                // leased until their lease ends, which is exactly the case leases exist for).
                self.planner.finish_all(&plan.tickets);
                return false;
            }
        };
        if world.faults_on && hit(&mut world.rng, world.config.faults.wedge) {
            // The iteration wedges after claiming: slots stay taken until reclaimed, rows stay
            // leased until their lease runs out.
            world.count("fault: wedged pass");
            world.log("disp", format!("wedged with {} claimed", claimed.len()));
            return false;
        }
        self.start_deliveries(world, network, peers, claimed, plan.tickets);
        due.len() >= limit
    }

    fn start_deliveries(
        &mut self,
        world: &mut World,
        network: &mut Network,
        peers: &Peers,
        claimed: Vec<ClaimedMessage>,
        tickets: Vec<Ticket>,
    ) {
        // Claims the store found moot free their slot (inside `pair`).
        for (message, ticket) in self.planner.pair(claimed, tickets) {
            self.start_delivery(world, network, peers, message, ticket);
        }
    }

    /// Puts the delivery on the network: its arrival (if any) and its outcome, faults permitting.
    fn start_delivery(
        &mut self,
        world: &mut World,
        network: &mut Network,
        peers: &Peers,
        message: ClaimedMessage,
        ticket: Ticket,
    ) {
        let now = world.now;
        let target = peers.pick(&message.address, &mut world.rng);
        let fate = match target {
            Some(_) => draw_fate(world),
            None => Fate::unreachable(world),
        };
        if fate.delivered && fate.arrivals == 0 {
            world.excuse_unblock(&message.body);
        }
        if let Some((peer, incarnation)) = target {
            for copy in 0..fate.arrivals {
                let event = Event::Arrive { peer, incarnation, body: message.body.clone() };
                network.send(now.plus_ms(fate.arrive_after_ms + copy as i64), event);
            }
            world.count(fate.label);
            let what = format!("deliver {:?} to {} {}", message.key, peers.name(peer), fate.label);
            world.log("disp", what);
        } else {
            world.log("disp", format!("deliver {:?}: no peer", message.key));
        }
        let event = Event::Outcome {
            dispatcher: self.incarnation,
            message,
            ticket,
            delivered: fate.delivered,
        };
        network.send(now.plus_ms(fate.outcome_after_ms), event);
    }

    /// Records how a delivery ended, unless its slot was reclaimed meanwhile.
    pub fn finish(
        &mut self,
        world: &mut World,
        message: ClaimedMessage,
        ticket: Ticket,
        delivered: bool,
    ) {
        if !self.planner.lanes.finish(&ticket) {
            world.log("disp", format!("late outcome for {:?} ignored", message.key));
            return;
        }
        let settings = &world.config.dispatch;
        let outcome = if delivered {
            DeliveryOutcome::Delivered
        } else if matches!(message.body, ClaimedBody::Unblock { .. })
            && message.attempts >= settings.unblock_attempts_max
        {
            world.excuse_unblock(&message.body);
            DeliveryOutcome::Abandoned
        } else {
            let (base, max) = (settings.retry_base_ms, settings.retry_max_ms);
            let random = world.rng.next_u64();
            let delay = retry_delay_ms(message.attempts, base, max, random);
            DeliveryOutcome::RetryAt(world.now.plus_ms(delay))
        };
        let command = Command::SettleDelivery {
            key: message.key,
            version: message.version,
            attempts: message.attempts,
            outcome,
        };
        // On failure the row's lease runs out and the message is due again.
        let _ = world.exec("disp", command);
    }
}

/// What becomes of one delivery attempt.
struct Fate {
    /// What the dispatcher learns.
    delivered: bool,
    outcome_after_ms: i64,
    /// How many copies reach the peer.
    arrivals: usize,
    arrive_after_ms: i64,
    label: &'static str,
}

impl Fate {
    fn unreachable(world: &mut World) -> Fate {
        let latency = if world.faults_on { range(&mut world.rng, 0, 300) } else { 0 };
        Fate {
            delivered: false,
            outcome_after_ms: latency,
            arrivals: 0,
            arrive_after_ms: 0,
            label: "unreachable",
        }
    }
}

/// Draws a delivery's fate from the seed's fault rates (always clean with faults off).
fn draw_fate(world: &mut World) -> Fate {
    let mut fate =
        Fate { delivered: true, outcome_after_ms: 0, arrivals: 1, arrive_after_ms: 0, label: "ok" };
    if !world.faults_on {
        return fate;
    }
    let rates = &world.config.faults;
    let rng = &mut world.rng;
    let latency = range(rng, 0, 300);
    (fate.outcome_after_ms, fate.arrive_after_ms) = (latency, latency);
    if hit(rng, rates.delivery_stall) {
        // The target hangs: the dispatcher gives up at its timeout; the message may still land.
        fate.delivered = false;
        fate.outcome_after_ms = world.config.dispatch.delivery_timeout_ms;
        fate.arrivals = usize::from(rng.chance(50));
        fate.label = "stalls";
    } else if hit(rng, rates.delivery_fail) {
        (fate.delivered, fate.arrivals, fate.label) = (false, 0, "fails");
    } else if hit(rng, rates.delivery_drop) {
        (fate.arrivals, fate.label) = (0, "lost");
    } else if hit(rng, rates.delivery_dup) {
        (fate.arrivals, fate.label) = (2, "duplicated");
    }
    if fate.arrivals > 0 && hit(rng, rates.delivery_delay) {
        fate.arrive_after_ms += range(rng, 1_000, 2 * world.config.worker_ttl_ms);
        fate.label = "delayed";
    }
    fate
}

fn route(address: &str, peers: &Peers, world: &World) -> Route {
    match Address::parse(address) {
        None => Route::Drop("unroutable address"),
        Some(Address::Poll { cast: Cast::Unicast, id: None, .. }) => {
            Route::Drop("unicast without id")
        }
        Some(Address::Poll { cast, group, id }) => {
            match peers.connections(&group, cast, id.as_deref()) * world.config.dispatch.poll_buffer
            {
                0 => Route::Park,
                limit => Route::Lane { limit },
            }
        }
        Some(Address::Http { .. }) => Route::Lane { limit: world.config.dispatch.push_slots },
        Some(Address::Gcps { .. } | Address::Bash { .. }) => Route::Drop("unsupported transport"),
    }
}
