//! Lane slots: limits, precise reclaim, fenced late completions, back-off bounds.

use super::*;

fn key(id: &str) -> MessageKey {
    MessageKey::Execute(id.to_owned())
}

#[test]
fn a_full_lane_refuses_and_a_finished_slot_makes_room() {
    let mut lanes = Lanes::default();
    let first = lanes.try_start("push:a", &key("1"), 1, Timestamp(0)).unwrap();
    assert_eq!(lanes.try_start("push:a", &key("1"), 5, Timestamp(0)), Err(Refusal::InFlight));
    assert_eq!(lanes.try_start("push:a", &key("2"), 1, Timestamp(0)), Err(Refusal::Full));
    assert!(lanes.try_start("push:b", &key("2"), 1, Timestamp(0)).is_ok());
    assert!(lanes.finish(&first));
    assert!(lanes.try_start("push:a", &key("2"), 1, Timestamp(1)).is_ok());
}

#[test]
fn reclaim_takes_only_the_idle_slot_and_a_late_completion_frees_nothing() {
    let mut lanes = Lanes::default();
    let stuck = lanes.try_start("l", &key("stuck"), 2, Timestamp(0)).unwrap();
    let healthy = lanes.try_start("l", &key("ok"), 2, Timestamp(0)).unwrap();
    lanes.progress(&healthy, Timestamp(900));
    let reclaimed = lanes.reclaim_stale(Timestamp(1000), 500);
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].ticket, stuck);
    assert_eq!(lanes.active("l"), 1);
    let again = lanes.try_start("l", &key("stuck"), 2, Timestamp(1000)).unwrap();
    assert!(!lanes.finish(&stuck), "the reclaimed ticket must not free the new slot");
    assert!(lanes.is_in_flight("l", &key("stuck")));
    assert!(lanes.finish(&again));
    assert!(lanes.finish(&healthy));
    assert!(lanes.reports(Timestamp(1000)).is_empty());
}

#[test]
fn retry_delays_grow_and_stay_within_their_cap() {
    for attempts in 1..40 {
        for random in [0, 1, 7, u64::MAX] {
            let delay = retry_delay_ms(attempts, 100, 30_000, random);
            assert!((1..=30_000).contains(&delay), "attempt {attempts}: {delay}");
        }
    }
    assert!(retry_delay_ms(1, 100, 30_000, 0) >= 50);
    assert!(retry_delay_ms(8, 100, 30_000, 0) >= 6_400);
}
