//! The dispatcher, driven synchronously the way `resolute-server`'s dispatch pass drives it:
//! reclaim idle slots, wake parked lanes that have room, then rounds of `DueMessages` →
//! `Lanes::try_start` → `ClaimMessages` → deliver → `SettleDelivery`. Only the transport is
//! simulated; the bookkeeping (`Lanes`) and every store command are the real ones.

use std::collections::BTreeMap;

use resolute_core::address::{Address, Cast};
use resolute_core::command::{Claim, DeliveryOutcome};
use resolute_core::lanes::{retry_delay_ms, Lanes, Refusal, Ticket};
use resolute_core::model::{Message, MessageKey};
use resolute_core::reply::{ClaimedBody, ClaimedMessage};
use resolute_core::{Command, Reply};

use crate::config::{hit, range};
use crate::network::{Event, Network};
use crate::peers::Peers;
use crate::world::World;

/// Rounds one pass may run (as the server).
const ROUNDS_PER_PASS_MAX: usize = 32;

/// The in-memory half of the dispatcher; a process restart replaces it.
#[derive(Debug, Default)]
pub struct Dispatcher {
    lanes: Lanes,
    /// Lanes with parked messages, each with one of its addresses.
    parked: BTreeMap<String, String>,
    /// Distinguishes outcomes of deliveries started before a restart.
    pub incarnation: u64,
}

/// Where a due message goes this round.
enum Route {
    Lane { limit: usize },
    Park,
    Drop,
}

#[derive(Default)]
struct Plan {
    claims: Vec<Claim>,
    tickets: Vec<Ticket>,
    parks: Vec<MessageKey>,
    drops: Vec<MessageKey>,
}

impl Dispatcher {
    pub fn new(incarnation: u64) -> Dispatcher {
        Dispatcher { incarnation, ..Dispatcher::default() }
    }

    /// One pass, as the server runs it after a wake-up or on its interval.
    pub fn pass(&mut self, world: &mut World, network: &mut Network, peers: &Peers) {
        let reclaimed = self.lanes.reclaim_stale(world.now, world.config.dispatch.slot_ceiling_ms);
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

    fn wake_parked_lanes(&mut self, world: &mut World, peers: &Peers) {
        let ready: Vec<String> = self
            .parked
            .iter()
            .filter(|(lane, address)| match route(address, peers, world) {
                Route::Lane { limit } => self.lanes.active(lane) < limit,
                Route::Park => false,
                Route::Drop => true,
            })
            .map(|(lane, _)| lane.clone())
            .collect();
        if ready.is_empty() {
            return;
        }
        for lane in &ready {
            self.parked.remove(lane);
        }
        // A failure here is harmless: parks expire on their own.
        let _ = world.exec("disp", Command::WakeLanes { lanes: ready });
    }

    /// Returns true when the batch was full, so another round may find more.
    fn round(&mut self, world: &mut World, network: &mut Network, peers: &Peers) -> bool {
        let limit = world.config.dispatch.batch;
        let Ok(Reply::DueMessages(due)) = world.exec("disp", Command::DueMessages { limit }) else {
            return false;
        };
        let plan = self.plan(&due, world, peers);
        let settings = &world.config.dispatch;
        let command = Command::ClaimMessages {
            claims: plan.claims,
            parks: plan.parks,
            park_until: world.now.plus_ms(settings.park_ms),
            drops: plan.drops,
            lease_until: world.now.plus_ms(settings.claim_lease_ms),
        };
        let claimed = match world.exec("disp", command) {
            Ok(Reply::ClaimMessages(claimed)) => claimed,
            Ok(_) => Vec::new(),
            Err(_) => {
                // As the server: a failed claim frees its slots (a lost reply leaves the rows
                // leased until their lease ends, which is exactly the case leases exist for).
                self.finish_all(&plan.tickets);
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

    fn plan(&mut self, due: &[Message], world: &mut World, peers: &Peers) -> Plan {
        let mut plan = Plan::default();
        for message in due {
            let key = message.key();
            match route(&message.address, peers, world) {
                Route::Drop => plan.drops.push(key),
                Route::Park => {
                    self.remember_parked(&message.lane, &message.address);
                    plan.parks.push(key);
                }
                Route::Lane { limit } => {
                    match self.lanes.try_start(&message.lane, &key, limit, world.now) {
                        Ok(ticket) => {
                            plan.claims.push(Claim {
                                key,
                                version: message.version(),
                                attempts: message.attempts,
                            });
                            plan.tickets.push(ticket);
                        }
                        Err(Refusal::Full) => {
                            self.remember_parked(&message.lane, &message.address);
                            plan.parks.push(key);
                        }
                        Err(Refusal::InFlight) => {}
                    }
                }
            }
        }
        plan
    }

    fn remember_parked(&mut self, lane: &str, address: &str) {
        self.parked.insert(lane.to_owned(), address.to_owned());
    }

    fn finish_all(&mut self, tickets: &[Ticket]) {
        for ticket in tickets {
            self.lanes.finish(ticket);
        }
    }

    fn start_deliveries(
        &mut self,
        world: &mut World,
        network: &mut Network,
        peers: &Peers,
        claimed: Vec<ClaimedMessage>,
        tickets: Vec<Ticket>,
    ) {
        let mut tickets: BTreeMap<MessageKey, Ticket> =
            tickets.into_iter().map(|ticket| (ticket.key.clone(), ticket)).collect();
        for message in claimed {
            if let Some(ticket) = tickets.remove(&message.key) {
                self.start_delivery(world, network, peers, message, ticket);
            }
        }
        // Claims the store found moot free their slot.
        self.finish_all(&tickets.into_values().collect::<Vec<_>>());
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
        if !self.lanes.finish(&ticket) {
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
        None => Route::Drop,
        Some(Address::Poll { cast: Cast::Unicast, id: None, .. }) => Route::Drop,
        Some(Address::Poll { cast, group, id }) => {
            match peers.connections(&group, cast, id.as_deref()) * world.config.dispatch.poll_buffer
            {
                0 => Route::Park,
                limit => Route::Lane { limit },
            }
        }
        Some(Address::Http { .. }) => Route::Lane { limit: world.config.dispatch.push_slots },
        Some(Address::Gcps { .. } | Address::Bash { .. }) => Route::Drop,
    }
}
