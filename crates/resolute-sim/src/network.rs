//! The simulated network: messages on their way to workers and delivery outcomes on their way
//! back to the dispatcher, each due at a simulated instant.

use std::collections::BTreeMap;

use resolute_core::lanes::Ticket;
use resolute_core::reply::{ClaimedBody, ClaimedMessage};
use resolute_core::Timestamp;

#[derive(Clone, Debug)]
pub enum Event {
    /// A delivered message reaches a peer, if that incarnation of the peer is still alive.
    Arrive { peer: usize, incarnation: u64, body: ClaimedBody },
    /// A delivery attempt ends at the dispatcher incarnation that started it.
    Outcome { dispatcher: u64, message: ClaimedMessage, ticket: Ticket, delivered: bool },
}

/// Events ordered by due time, then by sending order, so a run replays exactly.
#[derive(Debug, Default)]
pub struct Network {
    queue: BTreeMap<(Timestamp, u64), Event>,
    sent: u64,
}

impl Network {
    pub fn send(&mut self, at: Timestamp, event: Event) {
        self.sent += 1;
        self.queue.insert((at, self.sent), event);
    }

    /// Removes and returns up to `limit` events due at `now`, earliest first.
    pub fn take_due(&mut self, now: Timestamp, limit: usize) -> Vec<Event> {
        let keys: Vec<(Timestamp, u64)> =
            self.queue.range(..=(now, u64::MAX)).take(limit).map(|(key, _)| *key).collect();
        keys.iter().filter_map(|key| self.queue.remove(key)).collect()
    }

    /// When the next event is due, if any.
    pub fn next_at(&self) -> Option<Timestamp> {
        self.queue.keys().next().map(|(at, _)| *at)
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
