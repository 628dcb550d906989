//! The worker backlog counts what workers hold, frees it on acquire, forgets it after the
//! horizon, and holds a create only while its lane is full, and never past `hold_max`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use resolute_core::Timestamp;

use super::{BacklogConfig, Hold, WorkerBacklog};

const LANE: &str = "poll:g";

fn backlog() -> WorkerBacklog {
    WorkerBacklog::new(BacklogConfig::default())
}

fn at(ms: i64) -> Timestamp {
    Timestamp(1_000_000 + ms)
}

fn hand(backlog: &WorkerBacklog, tasks: std::ops::Range<usize>, now: Timestamp) {
    for task in tasks {
        let task = format!("t{task}");
        backlog.sending(LANE, &task, now);
        backlog.handed(&task, now);
    }
}

#[test]
fn only_confirmed_hand_offs_count_and_an_acquire_frees_one() {
    let backlog = backlog();
    backlog.sending(LANE, "in-transit", at(0));
    hand(&backlog, 0..3, at(0));
    assert_eq!(backlog.out(LANE, at(1)), 3);
    backlog.acquired("t1");
    assert_eq!(backlog.out(LANE, at(1)), 2);
    backlog.withdrawn("t2");
    assert_eq!(backlog.out(LANE, at(1)), 1);
    assert_eq!(backlog.out("poll:other", at(1)), 0);
    assert_eq!(backlog.out_total(at(1)), 1);
}

#[test]
fn an_acquire_that_overtakes_the_confirmation_leaves_nothing_counted() {
    let backlog = backlog();
    backlog.sending(LANE, "t", at(0));
    backlog.acquired("t");
    backlog.handed("t", at(1));
    assert_eq!(backlog.out(LANE, at(1)), 0);
    assert_eq!(backlog.out_total(at(1)), 0);
}

#[test]
fn a_second_hand_off_of_the_same_task_is_counted_once() {
    let backlog = backlog();
    hand(&backlog, 0..1, at(0));
    hand(&backlog, 0..1, at(10));
    assert_eq!(backlog.out(LANE, at(10)), 1);
}

#[test]
fn executes_nobody_acquires_stop_counting_after_the_horizon() {
    let backlog = backlog();
    hand(&backlog, 0..10, at(0));
    let horizon = BacklogConfig::default().horizon.as_millis() as i64;
    assert_eq!(backlog.out(LANE, at(horizon - 1)), 10);
    assert_eq!(backlog.out_total(at(horizon + 100)), 0);
    assert_eq!(backlog.out(LANE, at(horizon + 100)), 0);
}

#[test]
fn turned_off_it_tracks_nothing() {
    let config = BacklogConfig { per_poll_worker: 0, ..BacklogConfig::default() };
    let backlog = WorkerBacklog::new(config);
    hand(&backlog, 0..10, at(0));
    assert_eq!(backlog.out(LANE, at(0)), 0);
}

#[tokio::test(start_paused = true)]
async fn a_lane_with_room_does_not_hold() {
    let backlog = backlog();
    hand(&backlog, 0..3, at(0));
    assert_eq!(backlog.hold(LANE, 4, || at(0)).await, Hold::None);
    assert_eq!(backlog.hold("poll:other", 1, || at(0)).await, Hold::None);
}

#[tokio::test(start_paused = true)]
async fn a_full_lane_holds_a_create_until_an_acquire_makes_room() {
    let backlog = Arc::new(backlog());
    hand(&backlog, 0..4, at(0));
    let acquirer = backlog.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        acquirer.acquired("t0");
    });
    let hold = backlog.hold(LANE, 4, || at(0)).await;
    let Hold::Waited(waited) = hold else { panic!("not held: {hold:?}") };
    assert!(waited >= Duration::from_millis(30), "{waited:?}");
    assert!(waited < Duration::from_millis(40), "not woken by the acquire: {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_lane_nobody_drains_holds_a_create_for_hold_max_and_no_longer() {
    let backlog = backlog();
    hand(&backlog, 0..4, at(0));
    let hold = backlog.hold(LANE, 4, || at(0)).await;
    assert_eq!(hold, Hold::Waited(BacklogConfig::default().hold_max));
}

#[tokio::test(start_paused = true)]
async fn a_held_create_goes_when_the_executes_age_past_the_horizon() {
    let backlog = backlog();
    hand(&backlog, 0..4, at(0));
    let clock = Arc::new(AtomicI64::new(0));
    let ticking = clock.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        ticking.store(60_000, Ordering::SeqCst);
    });
    let hold = backlog.hold(LANE, 4, || at(clock.load(Ordering::SeqCst))).await;
    let Hold::Waited(waited) = hold else { panic!("not held: {hold:?}") };
    assert!(waited < Duration::from_millis(300), "{waited:?}");
}

#[test]
fn entries_nobody_acquires_are_swept_by_later_hand_offs_without_any_scrape() {
    let backlog = backlog();
    hand(&backlog, 0..5_000, at(0));
    assert_eq!(backlog.out_total_unswept(), 5_000);
    let later = at(BacklogConfig::default().horizon.as_millis() as i64 + 1);
    backlog.sending(LANE, "fresh", later);
    backlog.handed("fresh", later);
    assert_eq!(backlog.out_total_unswept(), 1, "the expired 5,000 were swept by the hand-off");
}
