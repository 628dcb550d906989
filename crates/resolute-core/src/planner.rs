//! The dispatcher's planning step, one implementation for the server and the simulator: given the
//! due outbox rows and a way to route an address, take a lane slot for each message that can go
//! now, park what has to wait (remembering its lane for an early wake-up) and drop what never can.

use std::collections::BTreeMap;

use crate::command::Claim;
use crate::lanes::{Lanes, Refusal, Ticket};
use crate::model::{Message, MessageKey};
use crate::reply::ClaimedMessage;
use crate::time::Timestamp;

/// Where a message's address leads right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Deliverable through its lane, which allows `limit` deliveries at once.
    Lane { limit: usize },
    /// Nobody can take it now (no worker in its poll group): park it.
    Park,
    /// It can never be delivered, for this reason.
    Drop(&'static str),
}

/// What one round decided.
#[derive(Debug, Default)]
pub struct Plan {
    pub claims: Vec<Claim>,
    pub tickets: Vec<Ticket>,
    pub parks: Vec<MessageKey>,
    /// Dropped messages with their address and the reason.
    pub drops: Vec<(MessageKey, String, &'static str)>,
    /// Lanes that became full this round (an episode began), with their limit, for the
    /// `dispatch blocked` report.
    pub full_lanes: Vec<(String, usize)>,
}

/// Parked lanes remembered for an early wake-up; beyond this, parks just expire on their own.
const PARKED_LANES_MAX: usize = 10_000;

/// The in-memory half of dispatch: lane slots and the lanes that have parked messages.
#[derive(Debug, Default)]
pub struct Planner {
    pub lanes: Lanes,
    /// Lane → one address of it, to ask the router whether the lane has gained room.
    parked: BTreeMap<String, String>,
}

impl Planner {
    /// Decides every due message. A message already in flight is parked until its attempt ends.
    pub fn plan(
        &mut self,
        due: &[Message],
        now: Timestamp,
        mut route: impl FnMut(&str) -> Route,
    ) -> Plan {
        let mut plan = Plan::default();
        for message in due {
            let key = message.key();
            match route(&message.address) {
                Route::Drop(reason) => plan.drops.push((key, message.address.clone(), reason)),
                Route::Park => {
                    self.remember_parked(message);
                    plan.parks.push(key);
                }
                Route::Lane { limit } => {
                    match self.lanes.try_start(&message.lane, &key, limit, now) {
                        Ok(ticket) => {
                            let claim = Claim {
                                key,
                                version: message.version(),
                                attempts: message.attempts,
                            };
                            plan.claims.push(claim);
                            plan.tickets.push(ticket);
                        }
                        Err(Refusal::Full) => {
                            // Only the refusal that starts an episode (the first since the lane
                            // last had room) is reported: a batch that overflows a lane by many
                            // messages must still say so, and exactly once.
                            if self.lanes.refused(&message.lane) == 1 {
                                plan.full_lanes.push((message.lane.clone(), limit));
                            }
                            self.remember_parked(message);
                            plan.parks.push(key);
                        }
                        // Already being delivered (a re-queued execute whose first attempt is still
                        // out): park it so it cannot sit at the head of the due scan round after round.
                        Err(Refusal::InFlight) => plan.parks.push(key),
                    }
                }
            }
        }
        plan
    }

    /// Slots for just-queued messages that can go at once, with the claims to lease them. Nothing
    /// else is decided here: a message without room, without a worker or without a route is left
    /// due for the next pass, which parks, reports or drops it as `plan` does.
    pub fn plan_queued(
        &mut self,
        queued: &[Message],
        now: Timestamp,
        mut route: impl FnMut(&str) -> Route,
    ) -> (Vec<Claim>, Vec<Ticket>) {
        let (mut claims, mut tickets) = (Vec::new(), Vec::new());
        for message in queued.iter().filter(|message| message.due_at <= now && !message.leased) {
            let key = message.key();
            let Route::Lane { limit } = route(&message.address) else {
                continue;
            };
            if self.lanes.active(&message.lane) >= limit
                || self.lanes.is_in_flight(&message.lane, &key)
            {
                continue;
            }
            if let Ok(ticket) = self.lanes.try_start(&message.lane, &key, limit, now) {
                claims.push(Claim { key, version: message.version(), attempts: message.attempts });
                tickets.push(ticket);
            }
        }
        (claims, tickets)
    }

    /// Whether some lane is waiting for room (a freed slot should wake the dispatcher).
    pub fn has_parked(&self) -> bool {
        !self.parked.is_empty()
    }

    fn remember_parked(&mut self, message: &Message) {
        if self.parked.len() < PARKED_LANES_MAX || self.parked.contains_key(&message.lane) {
            self.parked.insert(message.lane.clone(), message.address.clone());
        }
    }

    /// Parked lanes that now have room (or can never have any); they are forgotten here and
    /// should be woken (`Command::WakeLanes`).
    pub fn ready_lanes(&mut self, mut route: impl FnMut(&str) -> Route) -> Vec<String> {
        let lanes = &self.lanes;
        let ready: Vec<String> = self
            .parked
            .iter()
            .filter(|(lane, address)| match route(address) {
                Route::Lane { limit } => lanes.active(lane) < limit,
                Route::Park => false,
                Route::Drop(_) => true,
            })
            .map(|(lane, _)| lane.clone())
            .collect();
        for lane in &ready {
            self.parked.remove(lane);
        }
        ready
    }

    /// Pairs claimed messages with their tickets; tickets of claims the store found moot (or
    /// skipped) are finished, freeing their slots.
    pub fn pair(
        &mut self,
        claimed: Vec<ClaimedMessage>,
        tickets: Vec<Ticket>,
    ) -> Vec<(ClaimedMessage, Ticket)> {
        let mut tickets: BTreeMap<MessageKey, Ticket> =
            tickets.into_iter().map(|ticket| (ticket.key.clone(), ticket)).collect();
        let pairs = claimed
            .into_iter()
            .filter_map(|message| tickets.remove(&message.key).map(|ticket| (message, ticket)))
            .collect();
        self.finish_all(tickets.values());
        pairs
    }

    /// Ends every given ticket (a failed claim, moot claims).
    pub fn finish_all<'a>(&mut self, tickets: impl IntoIterator<Item = &'a Ticket>) {
        for ticket in tickets {
            self.lanes.finish(ticket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MessageBody;

    fn due(id: &str) -> Message {
        Message {
            address: "http://hung.example/hook".into(),
            lane: "push:http://hung.example".into(),
            body: MessageBody::Execute { task_id: id.into(), version: 0 },
            due_at: Timestamp(0),
            attempts: 0,
            leased: false,
            queued_at: Timestamp(0),
        }
    }

    /// The `dispatch blocked` report used to need "exactly one refusal so far", so a batch that
    /// overflowed a lane by two or more never reported it: the silent decision point of the field
    /// reports, again. An episode is reported once however many messages it refuses.
    #[test]
    fn a_batch_overflowing_a_lane_by_many_reports_the_full_lane_once() {
        let mut planner = Planner::default();
        let batch: Vec<Message> = (0..5).map(|index| due(&format!("t{index}"))).collect();
        let route = |_: &str| Route::Lane { limit: 2 };
        let plan = planner.plan(&batch, Timestamp(0), route);
        assert_eq!(plan.claims.len(), 2);
        assert_eq!(plan.full_lanes, vec![("push:http://hung.example".to_owned(), 2)]);
        let again = planner.plan(&batch[2..], Timestamp(1), route);
        assert!(again.full_lanes.is_empty(), "the same episode is not reported again");
    }

    /// The commit-time fast path takes only what can go now and decides nothing else: what it
    /// skips is left for the pass, with no refusal counted (or the pass would not report the
    /// episode) and no park remembered.
    #[test]
    fn queued_messages_get_only_free_slots_and_the_rest_is_left_to_the_pass() {
        let mut planner = Planner::default();
        let mut later = due("later");
        later.due_at = Timestamp(5);
        let batch = [due("t0"), due("t0"), due("t1"), due("t2"), later];
        let (claims, tickets) =
            planner.plan_queued(&batch, Timestamp(0), |_| Route::Lane { limit: 2 });
        let keys: Vec<_> = claims.iter().map(|claim| claim.key.clone()).collect();
        let expected = [MessageKey::Execute("t0".into()), MessageKey::Execute("t1".into())];
        assert_eq!(keys, expected, "one slot per message, two slots, nothing not yet due");
        assert_eq!(tickets.len(), 2);
        assert_eq!(planner.lanes.refused("push:http://hung.example"), 0);
        let (none, _) = planner.plan_queued(&[due("t3")], Timestamp(0), |_| Route::Park);
        assert!(none.is_empty());
        assert!(planner.ready_lanes(|_| Route::Lane { limit: 9 }).is_empty(), "nothing parked");
        let plan = planner.plan(&[due("t2")], Timestamp(0), |_| Route::Lane { limit: 2 });
        assert_eq!(plan.full_lanes.len(), 1, "the pass still reports the full lane");
    }
}
