//! Registry behaviour: routing, capacity, cleanup on drop.

use std::sync::Arc;

use resolute_core::address::Cast;

use super::{Delivery, HandOffError, RegisterError, Registry, RegistryConfig};

fn delivery(text: &str) -> Delivery {
    Delivery { payload: Arc::from(text), written: None, handed: None }
}

#[test]
fn unicast_reaches_only_the_named_worker() {
    let registry = Arc::new(Registry::new(RegistryConfig { connections_max: 10, buffer: 2 }));
    let (_a, mut to_a) = registry.register("g", "a").unwrap();
    let (_b, mut to_b) = registry.register("g", "b").unwrap();
    registry.hand_off("g", Cast::Unicast, Some("b"), delivery("m1")).unwrap();
    assert_eq!(&*to_b.try_recv().unwrap().payload, "m1");
    assert!(to_a.try_recv().is_err());
    let missing = registry.hand_off("g", Cast::Unicast, Some("c"), delivery("m2"));
    assert_eq!(missing, Err(HandOffError::NoWorker));
    assert_eq!(registry.connections("g", Cast::Unicast, Some("a")), 1);
    assert_eq!(registry.connections("g", Cast::Anycast, None), 2);
    assert_eq!(registry.connections("g", Cast::Unicast, None), 0);
}

#[test]
fn anycast_spreads_over_free_connections_and_reports_full() {
    let registry = Arc::new(Registry::new(RegistryConfig { connections_max: 10, buffer: 1 }));
    let (_a, _to_a) = registry.register("g", "a").unwrap();
    let (_b, _to_b) = registry.register("g", "b").unwrap();
    registry.hand_off("g", Cast::Anycast, None, delivery("1")).unwrap();
    registry.hand_off("g", Cast::Anycast, None, delivery("2")).unwrap();
    assert_eq!(registry.hand_off("g", Cast::Anycast, None, delivery("3")), Err(HandOffError::Full));
}

#[test]
fn dropping_a_registration_removes_the_connection_and_limits_hold() {
    let registry = Arc::new(Registry::new(RegistryConfig { connections_max: 1, buffer: 1 }));
    let (registration, _receiver) = registry.register("g", "a").unwrap();
    assert_eq!(registry.register("g", "b").err(), Some(RegisterError::AtCapacity));
    drop(registration);
    assert_eq!(registry.total_connections(), 0);
    assert_eq!(registry.connections("g", Cast::Anycast, None), 0);
    assert!(registry.register("g", "b").is_ok());
}

/// Streams drain their queues on other threads while the dispatcher picks a connection: the
/// choice must come from one reading of the queues, or a queue that drained between two readings
/// leaves no connection to pick (this panicked in a delivery task and parked the message until
/// its lease and slot ran out).
#[test]
fn anycast_picks_a_connection_while_the_streams_drain_their_queues() {
    let registry = Arc::new(Registry::new(RegistryConfig { connections_max: 10, buffer: 4 }));
    let mut drains = Vec::new();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut registrations = Vec::new();
    for worker in ["a", "b"] {
        let (registration, mut queue) = registry.register("g", worker).unwrap();
        registrations.push(registration);
        let stop = stop.clone();
        drains.push(std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = queue.try_recv();
            }
        }));
    }
    for _ in 0..200_000 {
        match registry.hand_off("g", Cast::Anycast, None, delivery("m")) {
            Ok(()) | Err(HandOffError::Full) => {}
            Err(HandOffError::NoWorker) => panic!("both workers are connected"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for drain in drains {
        drain.join().unwrap();
    }
}
