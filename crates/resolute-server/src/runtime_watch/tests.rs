//! The stall decisions on their own, then a real runtime whose only thread is blocked.

use std::time::Duration;

use super::{Seen, StallTracker, LOOK_EVERY, STALL_AFTER};

/// Looks `times` times at the planned interval without a beat; returns what each saw.
fn silent_looks(tracker: &mut StallTracker, beats: u64, times: usize) -> Vec<Seen> {
    (0..times).map(|_| tracker.look(beats, LOOK_EVERY)).collect()
}

#[test]
fn a_runtime_silent_for_the_bound_is_one_stall_which_ends_at_its_next_beat() {
    let mut tracker = StallTracker::new(None);
    assert_eq!(tracker.look(1, LOOK_EVERY), Seen::Nothing, "beating");
    let looks = (STALL_AFTER.as_millis() / LOOK_EVERY.as_millis()) as usize;
    let seen = silent_looks(&mut tracker, 1, looks + 3);
    assert_eq!(seen.iter().filter(|seen| **seen == Seen::StallBegan).count(), 1);
    assert_eq!(seen[looks - 1], Seen::StallBegan, "{seen:?}");
    let lasted = LOOK_EVERY * (looks as u32 + 3);
    assert_eq!(tracker.look(2, LOOK_EVERY), Seen::StallEnded(lasted));
    assert_eq!(tracker.look(3, LOOK_EVERY), Seen::Nothing, "beating again");
}

#[test]
fn a_short_silence_is_no_stall() {
    let mut tracker = StallTracker::new(Some(Duration::from_secs(5)));
    for beats in 1..20 {
        let seen = silent_looks(&mut tracker, beats, 3);
        assert!(seen.iter().all(|seen| *seen == Seen::Nothing), "{seen:?}");
    }
}

#[test]
fn a_stall_past_the_exit_bound_asks_for_the_exit() {
    let mut tracker = StallTracker::new(Some(Duration::from_secs(3)));
    let seen = silent_looks(&mut tracker, 0, 15);
    assert_eq!(seen[4], Seen::StallBegan);
    assert_eq!(seen[14], Seen::Exit(Duration::from_secs(3)));
    assert!(seen[5..14].iter().all(|seen| *seen == Seen::Nothing), "{seen:?}");
}

#[test]
fn a_pause_of_the_whole_process_is_not_taken_for_a_stall() {
    let mut tracker = StallTracker::new(Some(Duration::from_secs(3)));
    // SIGSTOP for a minute: the first look after it is late, and the runtime beats right after.
    assert_eq!(tracker.look(0, Duration::from_secs(60)), Seen::Nothing);
    assert_eq!(tracker.look(1, LOOK_EVERY), Seen::Nothing);
}

#[test]
fn blocking_the_only_runtime_thread_is_seen_and_counted() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let watch = runtime.block_on(async {
        let watch = super::start(None).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(watch.stalls(), 0, "a beating runtime");
        // What a careless blocking call does to a one-thread runtime.
        std::thread::sleep(STALL_AFTER + Duration::from_millis(800));
        tokio::time::sleep(LOOK_EVERY * 3).await;
        watch
    });
    watch.stop();
    assert_eq!(watch.stalls(), 1);
    let longest = watch.longest_stall_ms();
    assert!((1_000..2_500).contains(&longest), "longest stall {longest} ms");
}

#[test]
fn a_stall_past_the_exit_bound_ends_the_process_once_and_a_beating_runtime_never() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let exits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let noted = exits.clone();
    let exit_after = STALL_AFTER + LOOK_EVERY * 2;
    let watch = runtime.block_on(async {
        let exit = move |lasted| noted.lock().unwrap().push(lasted);
        let watch = super::start_with_exit(Some(exit_after), exit).unwrap();
        tokio::time::sleep(exit_after * 2).await;
        assert!(exits.lock().unwrap().is_empty(), "a beating runtime is left alone");
        std::thread::sleep(exit_after + Duration::from_millis(800));
        tokio::time::sleep(LOOK_EVERY * 3).await;
        watch
    });
    watch.stop();
    let exits = exits.lock().unwrap().clone();
    assert_eq!(exits.len(), 1, "{exits:?}");
    assert!(exits[0] >= exit_after, "{exits:?}");
}
