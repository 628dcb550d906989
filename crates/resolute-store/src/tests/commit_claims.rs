//! Claims on commit: the writer leases what the claimer takes of a batch's new messages in the
//! batch's own transaction, hands them over only after the commit, and leaves the rest due.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use resolute_core::command::Claim;
use resolute_core::reply::ClaimedMessage;
use resolute_core::{KernelConfig, Message, MessageKey, Timestamp};

use super::writer::{create, doomed_at_commit, refusing_boom, snapshot};
use crate::sqlite::open_connection;
use crate::sqlite::writer::{run_one_batch_claiming, Claimer};
use crate::{ClaimOnCommit, CommitClaims, StartClaimed};

const LEASE_UNTIL: Timestamp = Timestamp(500);

/// Takes the new executes of the listed tasks; remembers what it was offered, what it was handed
/// after the commit, and reservations given back unused.
#[derive(Default)]
struct Recorder {
    wanted: Vec<&'static str>,
    offered: Mutex<Vec<MessageKey>>,
    started: Arc<Mutex<Vec<ClaimedMessage>>>,
    given_back: Arc<AtomicUsize>,
}

struct Reservation {
    started: Arc<Mutex<Vec<ClaimedMessage>>>,
    given_back: Option<Arc<AtomicUsize>>,
}

impl ClaimOnCommit for Recorder {
    fn plan(&self, queued: &[Message], _now: Timestamp) -> Option<CommitClaims> {
        self.offered.lock().unwrap().extend(queued.iter().map(Message::key));
        let claims: Vec<Claim> = queued
            .iter()
            .filter(|m| self.wanted.iter().any(|id| m.key() == MessageKey::Execute((*id).into())))
            .map(|m| Claim { key: m.key(), version: m.version(), attempts: m.attempts })
            .collect();
        let started = self.started.clone();
        let start = Box::new(Reservation { started, given_back: Some(self.given_back.clone()) });
        Some(CommitClaims { claims, lease_until: LEASE_UNTIL, start })
    }
}

impl StartClaimed for Reservation {
    fn start(mut self: Box<Self>, claimed: Vec<ClaimedMessage>) {
        self.given_back = None;
        self.started.lock().unwrap().extend(claimed);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(given_back) = &self.given_back {
            given_back.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn claimer(recorder: &Arc<Recorder>) -> Claimer {
    let claimer = Claimer::default();
    let _ = claimer.set(recorder.clone() as Arc<dyn ClaimOnCommit>);
    claimer
}

fn execute_key(id: &str) -> MessageKey {
    MessageKey::Execute(id.into())
}

#[test]
fn what_the_claimer_takes_is_leased_by_the_commit_that_queued_it_and_the_rest_stays_due() {
    let connection = open_connection(Path::new(":memory:"), Default::default()).unwrap();
    let recorder = Arc::new(Recorder { wanted: vec!["a"], ..Recorder::default() });
    let batch = vec![create("a"), create("b")];
    let (connection, results) =
        run_one_batch_claiming(connection, KernelConfig::default(), batch, claimer(&recorder));
    assert_eq!(*recorder.offered.lock().unwrap(), vec![execute_key("a"), execute_key("b")]);
    let started = recorder.started.lock().unwrap().clone();
    assert_eq!(started.iter().map(|m| m.key.clone()).collect::<Vec<_>>(), vec![execute_key("a")]);
    assert_eq!(started[0].attempts, 1);
    // "a" has nothing left for a dispatcher pass; "b" must still wake one.
    let queued: Vec<bool> = results.iter().map(|r| r.as_ref().unwrap().queued_messages).collect();
    assert_eq!(queued, vec![false, true]);
    let rows = snapshot(connection).messages;
    let row = |key: MessageKey| rows.iter().find(|m| m.key() == key).cloned().unwrap();
    let (a, b) = (row(execute_key("a")), row(execute_key("b")));
    assert!(a.leased && a.attempts == 1 && a.due_at == LEASE_UNTIL, "{a:?}");
    assert!(!b.leased && b.attempts == 0 && b.due_at == Timestamp(1), "{b:?}");
    assert_eq!(recorder.given_back.load(Ordering::SeqCst), 0);
}

#[test]
fn a_command_rolled_back_alone_offers_none_of_its_messages() {
    let connection = refusing_boom();
    let recorder = Arc::new(Recorder { wanted: vec!["a", "boom", "b"], ..Recorder::default() });
    let batch = vec![create("a"), create("boom"), create("b")];
    let (_, results) =
        run_one_batch_claiming(connection, KernelConfig::default(), batch, claimer(&recorder));
    assert!(results[1].is_err());
    let started: Vec<MessageKey> =
        recorder.started.lock().unwrap().iter().map(|m| m.key.clone()).collect();
    assert_eq!(started, vec![execute_key("a"), execute_key("b")]);
}

#[test]
fn a_failed_commit_hands_nothing_over_and_gives_the_reservation_back() {
    let connection = doomed_at_commit();
    let recorder = Arc::new(Recorder { wanted: vec!["a", "doom"], ..Recorder::default() });
    let batch = vec![create("a"), create("doom")];
    let (connection, results) =
        run_one_batch_claiming(connection, KernelConfig::default(), batch, claimer(&recorder));
    assert!(results.iter().all(Result::is_err), "{results:?}");
    assert!(recorder.started.lock().unwrap().is_empty(), "nothing may go out uncommitted");
    assert_eq!(recorder.given_back.load(Ordering::SeqCst), 1);
    assert!(snapshot(connection).messages.is_empty());
}
