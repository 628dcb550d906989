//! Registry behaviour: routing, capacity, cleanup on drop.

use std::sync::Arc;

use resolute_core::address::Cast;

use super::{Delivery, HandOffError, RegisterError, Registry, RegistryConfig};

fn delivery(text: &str) -> Delivery {
    Delivery { payload: Arc::from(text), written: None }
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
