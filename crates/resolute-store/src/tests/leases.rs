//! The kernel's lease bookkeeping through real stores: an acquire records when the lease started
//! and when its holder last made progress, a heartbeat moves only the progress (and the end), and
//! a lease that runs out leaves no stale times behind. MemStore and SQLite must agree.

use resolute_core::command::HeldTask;
use resolute_core::reply::TaskGetReply;
use resolute_core::{Command, Reply, TaskTimer, Timestamp};

use super::Run;

fn timer(run: &Run<'_>) -> Option<TaskTimer> {
    match run(Command::TaskGet { id: "job".into() }, 0) {
        Reply::TaskGet(TaskGetReply::Found(task)) => task.timer,
        other => panic!("no task: {other:?}"),
    }
}

fn heartbeat(pid: &str, version: i64) -> Command {
    Command::TaskHeartbeat { pid: pid.into(), tasks: vec![HeldTask { id: "job".into(), version }] }
}

fn scenario(name: &str, run: &Run<'_>) {
    super::create_targeted_job(run);
    assert_eq!(timer(run).and_then(|timer| timer.started_at), None, "{name}: a retry has no start");
    let acquire =
        Command::TaskAcquire { id: "job".into(), version: 0, pid: "w1".into(), ttl_ms: 5_000 };
    run(acquire, 1_000);
    let lease = timer(run).expect("leased");
    assert_eq!(
        (lease.started_at, lease.progress_at),
        (Some(Timestamp(1_000)), Some(Timestamp(1_000))),
        "{name}"
    );
    run(heartbeat("w1", 1), 3_000);
    let lease = timer(run).expect("leased");
    assert_eq!(
        (lease.started_at, lease.progress_at, lease.at),
        (Some(Timestamp(1_000)), Some(Timestamp(3_000)), Timestamp(8_000)),
        "{name}: a heartbeat is progress, the start stays"
    );
    run(heartbeat("someone-else", 1), 4_000);
    assert_eq!(
        timer(run).expect("leased").progress_at,
        Some(Timestamp(3_000)),
        "{name}: not theirs"
    );
    run(Command::Tick { limit: 100 }, 9_000);
    let retry = timer(run).expect("retry timer");
    assert_eq!(
        (retry.started_at, retry.progress_at),
        (None, None),
        "{name}: an expired lease is gone"
    );
}

#[test]
fn acquire_starts_a_lease_and_heartbeats_record_progress() {
    super::on_mem_and_sqlite(scenario);
}
