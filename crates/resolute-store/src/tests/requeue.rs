//! `RequeueHanded` through real stores: what a dead connection may have lost is queued again,
//! and nothing a worker acquired, nothing still queued and nothing moot is. MemStore and SQLite
//! must agree.

use resolute_core::command::{Claim, DeliveryOutcome, Handed, SettlePromise};
use resolute_core::{Command, Message, MessageKey, Reply, SettleState, Timestamp};

use super::Run;

fn row(run: &Run<'_>, key: &MessageKey) -> Option<Message> {
    match run(Command::OutboxMessage { key: key.clone() }, 0) {
        Reply::OutboxMessage(message) => message,
        other => panic!("not a row: {other:?}"),
    }
}

/// Leases the row and records it delivered, as the dispatcher does for a hand-off.
fn deliver(run: &Run<'_>, key: &MessageKey, version: i64, now: i64) {
    let claim = Claim { key: key.clone(), version, attempts: 0 };
    let claims = Command::ClaimMessages {
        claims: vec![claim],
        parks: vec![],
        park_until: Timestamp(now),
        drops: vec![],
        lease_until: Timestamp(now + 30_000),
    };
    run(claims, now);
    let outcome = DeliveryOutcome::Delivered;
    run(Command::SettleDelivery { key: key.clone(), version, attempts: 1, outcome }, now);
    assert_eq!(row(run, key), None, "delivered rows go");
}

/// Hands `handed` back as a dead connection would; how many messages were queued again.
fn requeue(run: &Run<'_>, handed: Handed, now: i64) -> usize {
    match run(Command::RequeueHanded { handed: vec![handed] }, now) {
        Reply::Requeued(count) => count,
        other => panic!("not a requeue: {other:?}"),
    }
}

fn execute(version: i64) -> Handed {
    Handed::Execute { task_id: "job".into(), version }
}

fn scenario(name: &str, run: &Run<'_>) {
    super::create_targeted_job(run);
    let key = MessageKey::Execute("job".into());
    assert_eq!(requeue(run, execute(0), 5), 0, "{name}: still queued, nothing to put back");
    assert_eq!(row(run, &key).map(|row| row.due_at), Some(Timestamp(0)), "{name}: still queued");
    deliver(run, &key, 0, 10);
    assert_eq!(requeue(run, execute(0), 20), 1, "{name}");
    let again = row(run, &key).expect("queued again");
    assert_eq!((again.version(), again.due_at, again.attempts), (0, Timestamp(20), 0), "{name}");
    deliver(run, &key, 0, 30);
    let acquire = Command::TaskAcquire { id: "job".into(), version: 0, pid: "p".into(), ttl_ms: 9 };
    run(acquire, 40);
    assert_eq!(requeue(run, execute(0), 50), 0, "{name}");
    assert_eq!(row(run, &key), None, "{name}: an acquired task's execute is not sent again");

    let listen = Command::PromiseRegisterListener {
        awaited: "job".into(),
        address: "poll://uni@c/1".into(),
    };
    run(listen, 60);
    let unblock = Handed::Unblock { promise_id: "job".into(), address: "poll://uni@c/1".into() };
    assert_eq!(requeue(run, unblock.clone(), 70), 0, "{name}");
    let key = MessageKey::Unblock("job".into(), "poll://uni@c/1".into());
    assert_eq!(row(run, &key), None, "{name}: a pending promise has no unblock to lose");
    let settle =
        SettlePromise { id: "job".into(), state: SettleState::Resolved, value: Default::default() };
    run(Command::PromiseSettle(settle), 80);
    deliver(run, &key, 0, 90);
    assert_eq!(requeue(run, unblock, 100), 1, "{name}");
    assert_eq!(row(run, &key).map(|row| row.due_at), Some(Timestamp(100)), "{name}: unblock again");
}

#[test]
fn what_a_dead_connection_may_have_lost_is_queued_again() {
    super::on_mem_and_sqlite(scenario);
}
