//! The fast path of a delivery: leasing messages in the transaction that queues them.
//!
//! Without it a create reached its worker after three hand-offs past its commit: a wake-up of the
//! dispatcher, a due scan on a reader thread and a claim on the writer thread, about 0.3 ms of an
//! idle server's time and most of the way from a create to its execute on the wire. Here the
//! writer asks the planner, before it commits, which of the batch's new messages have a free slot,
//! leases those in the same transaction, and hands them over once the commit is durable. Whatever
//! the planner does not take now stays due and the commit still wakes the pass, which parks, drops
//! or reports it as before; the pass and the reconciliation interval remain the mechanism that
//! cannot be skipped, this only saves them work.

use std::sync::{Arc, Weak};

use resolute_core::lanes::Ticket;
use resolute_core::reply::ClaimedMessage;
use resolute_core::{Message, Timestamp};
use resolute_store::{ClaimOnCommit, CommitClaims, StartClaimed};

use super::{ms, Dispatcher};

/// What the store holds: weak, as the dispatcher holds the store through its `App`.
pub(super) struct CommitClaimer {
    pub(super) dispatcher: Weak<Dispatcher>,
}

impl ClaimOnCommit for CommitClaimer {
    fn plan(&self, queued: &[Message], now: Timestamp) -> Option<CommitClaims> {
        let dispatcher = self.dispatcher.upgrade()?;
        if dispatcher.app.is_paused() {
            return None;
        }
        let (claims, tickets) = {
            // Lock order everywhere: planner, then the registry (inside route_address).
            let mut planner = dispatcher.planner();
            planner.plan_queued(queued, now, |address| dispatcher.route_address(address))
        };
        if claims.is_empty() {
            return None;
        }
        let lease_until = now.plus_ms(ms(dispatcher.lease()));
        let start = Box::new(Reserved { dispatcher, tickets });
        Some(CommitClaims { claims, lease_until, start })
    }
}

/// Lane slots taken for a commit's claims; dropped before `start` (the claim or the commit
/// failed), it gives them back.
struct Reserved {
    dispatcher: Arc<Dispatcher>,
    tickets: Vec<Ticket>,
}

impl StartClaimed for Reserved {
    fn start(mut self: Box<Self>, claimed: Vec<ClaimedMessage>) {
        let tickets = std::mem::take(&mut self.tickets);
        self.dispatcher.app.metrics().commit_claims.inc_by(claimed.len() as u64);
        self.dispatcher.start_deliveries(claimed, tickets);
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.dispatcher.give_back(&self.tickets);
    }
}
