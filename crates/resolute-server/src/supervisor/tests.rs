//! Supervisor behaviour under panics, overruns and normal progress (virtual tokio time).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{LoopSpec, Supervisor};
use crate::clock::SystemClock;

fn spec(name: &'static str) -> LoopSpec {
    LoopSpec { name, interval: Duration::from_millis(50), deadline: Duration::from_millis(200) }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_iteration_is_counted_and_the_loop_keeps_running() {
    let supervisor = Supervisor::new(Arc::new(SystemClock::default()));
    let (_stop, shutdown) = watch::channel(false);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    supervisor.spawn(
        spec("flaky"),
        move || {
            let call = counter.fetch_add(1, Ordering::SeqCst);
            async move { assert!(call % 2 == 1, "even iterations panic") }
        },
        std::future::pending::<()>,
        shutdown,
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let state = &supervisor.states()[0];
    assert!(state.panics.load(Ordering::Relaxed) >= 2);
    assert!(state.iterations.load(Ordering::Relaxed) >= 2);
}

#[tokio::test(start_paused = true)]
async fn a_wedged_iteration_is_abandoned_and_the_next_one_completes() {
    let supervisor = Supervisor::new(Arc::new(SystemClock::default()));
    let (_stop, shutdown) = watch::channel(false);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    supervisor.spawn(
        spec("wedge"),
        move || {
            let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    std::future::pending::<()>().await;
                }
            }
        },
        std::future::pending::<()>,
        shutdown,
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let state = &supervisor.states()[0];
    assert_eq!(state.overruns.load(Ordering::Relaxed), 1);
    assert!(state.iterations.load(Ordering::Relaxed) >= 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_the_loop() {
    let supervisor = Supervisor::new(Arc::new(SystemClock::default()));
    let (stop, shutdown) = watch::channel(false);
    let handle = supervisor.spawn(spec("stop"), || async {}, std::future::pending::<()>, shutdown);
    tokio::time::sleep(Duration::from_millis(120)).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(1), handle).await.unwrap().unwrap();
}
