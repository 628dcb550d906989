//! Explanations read as sentences for each state a task can be in.

use resolute_core::model::{
    Message, MessageBody, Promise, PromiseState, Task, TaskState, TaskTimer,
};
use resolute_core::Timestamp;

use super::{explain, human, Facts};

fn promise(settled: bool) -> Promise {
    Promise {
        id: "job".into(),
        state: if settled { PromiseState::Resolved } else { PromiseState::Pending },
        param: Default::default(),
        value: Default::default(),
        tags: Default::default(),
        timeout_at: Timestamp(600_000),
        created_at: Timestamp(0),
        settled_at: settled.then_some(Timestamp(1_000)),
    }
}

fn pending_task() -> Task {
    let timer = TaskTimer::retry(Timestamp(30_000), 30_000);
    Task { id: "job".into(), state: TaskState::Pending, version: 0, timer: Some(timer), resumes: 0 }
}

fn message(leased: bool, due_at: i64) -> Message {
    Message {
        address: "poll://any@billing".into(),
        lane: "poll:billing".into(),
        body: MessageBody::Execute { task_id: "job".into(), version: 0 },
        due_at: Timestamp(due_at),
        attempts: 1,
        leased,
        queued_at: Timestamp(0),
    }
}

#[test]
fn a_parked_message_names_the_reason_and_the_lane() {
    let (promise, task, message) = (promise(false), pending_task(), message(false, 13_000));
    let facts = Facts {
        promise: &promise,
        task: Some(&task),
        message: Some(&message),
        blockage: Some("no worker connected"),
        now: Timestamp(12_000),
    };
    let text = explain(&facts).join(" ");
    assert!(text.contains("pending for 12.0 s"), "{text}");
    assert!(text.contains("no worker connected on lane `poll:billing`"), "{text}");
    assert!(text.contains("re-sends it in 18.0 s"), "{text}");
}

#[test]
fn settled_and_untargeted_promises_say_so() {
    let settled = promise(true);
    let facts = Facts {
        promise: &settled,
        task: None,
        message: None,
        blockage: None,
        now: Timestamp(61_000),
    };
    assert_eq!(explain(&facts), vec!["resolved 1 m 0 s ago; nothing more will happen to it."]);
    let pending = promise(false);
    let facts =
        Facts { promise: &pending, task: None, message: None, blockage: None, now: Timestamp(0) };
    assert!(explain(&facts)[1].contains("no resonate:target"));
}

#[test]
fn durations_read_naturally() {
    assert_eq!(human(850), "850 ms");
    assert_eq!(human(252_000), "4 m 12 s");
    assert_eq!(human(7_200_000), "2 h 0 m");
}

fn held_task(lease: TaskTimer) -> Task {
    Task {
        id: "job".into(),
        state: TaskState::Acquired,
        version: 1,
        timer: Some(lease),
        resumes: 0,
    }
}

fn explain_held(task: &Task, now: i64) -> String {
    let promise = promise(false);
    let facts = Facts {
        promise: &promise,
        task: Some(task),
        message: None,
        blockage: None,
        now: Timestamp(now),
    };
    explain(&facts).join(" ")
}

#[test]
fn a_held_lease_says_when_it_started_and_when_its_holder_last_made_progress() {
    let lease = TaskTimer::lease("w-7", 15_000, Timestamp(1_000)).renewed(Timestamp(250_000));
    let text = explain_held(&held_task(lease.clone()), 253_000);
    assert!(text.contains("acquired by worker `w-7` 4 m 12 s ago"), "{text}");
    assert!(text.contains("last heartbeat 3.0 s ago"), "{text}");
    assert!(text.contains("lease expires in 12.0 s"), "{text}");
    let text = explain_held(&held_task(lease), 270_000);
    assert!(text.contains("lease expired 5.0 s ago"), "{text}");
}

#[test]
fn a_lease_without_heartbeats_or_from_before_the_times_were_recorded_says_so() {
    let fresh = TaskTimer::lease("w-1", 15_000, Timestamp(1_000));
    let text = explain_held(&held_task(fresh.clone()), 3_000);
    assert!(text.contains("2.0 s ago, no heartbeat since"), "{text}");
    let migrated = TaskTimer { started_at: None, ..fresh };
    let text = explain_held(&held_task(migrated), 3_000);
    assert!(text.contains("taken before lease times were recorded"), "{text}");
    assert!(text.contains("last heartbeat 2.0 s ago"), "{text}");
}
