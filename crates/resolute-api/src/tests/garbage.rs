//! No body, however malformed, makes the parser panic; every failure is a well-formed envelope.

use serde_json::{json, Value as Json};

use crate::parse_envelope;

/// A small deterministic generator (xorshift), so failures reproduce without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

const KEYS: &[&str] = &[
    "id",
    "timeoutAt",
    "param",
    "value",
    "tags",
    "state",
    "awaited",
    "awaiter",
    "address",
    "limit",
    "cursor",
    "pid",
    "ttl",
    "version",
    "action",
    "actions",
    "tasks",
    "kind",
    "head",
    "data",
    "cron",
    "promiseId",
    "promiseTimeout",
    "promiseTags",
    "time",
    "resonate:target",
    "resonate:origin",
];

fn random_json(rng: &mut Rng, depth: usize) -> Json {
    match rng.below(if depth > 3 { 6 } else { 9 }) {
        0 => Json::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.next() as i64),
        3 => json!(rng.below(3) as i64 - 1),
        4 => json!(1.5),
        5 => json!(["", "a", "a.1", "a:1", "poll://any@w", "resolved", "\u{0}"][rng.below(7)]),
        6 | 7 => {
            let mut object = serde_json::Map::new();
            for _ in 0..rng.below(5) {
                object.insert(KEYS[rng.below(KEYS.len())].into(), random_json(rng, depth + 1));
            }
            Json::Object(object)
        }
        _ => Json::Array((0..rng.below(3)).map(|_| random_json(rng, depth + 1)).collect()),
    }
}

#[test]
fn random_data_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let kinds: Vec<&str> = crate::kinds().collect();
    for _ in 0..20_000 {
        let kind = kinds[rng.below(kinds.len())];
        let data = Json::Object(match random_json(&mut rng, 0) {
            Json::Object(object) => object,
            _ => serde_json::Map::new(),
        });
        let body =
            json!({"kind": kind, "head": {"corrId": "c", "version": "2026-04-01"}, "data": data});
        let envelope = parse_envelope(body.to_string().as_bytes(), true).expect("valid envelope");
        let _ = envelope.auth_resource();
        if let Err(error) = envelope.into_operation() {
            assert!(matches!(error.status, 400 | 403), "{error:?}");
            let _ = error.render();
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    let seed = br#"{"kind":"task.fence","head":{"corrId":"c","version":"2026-04-01"},"data":{"id":"t","version":1,"action":{"kind":"promise.create","data":{"id":"x","timeoutAt":1}}}}"#;
    for _ in 0..20_000 {
        let mut bytes = seed.to_vec();
        for _ in 0..rng.below(4) + 1 {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = rng.next() as u8,
                1 => bytes.truncate(at),
                _ => bytes.insert(at, b"{}[]\",:0\\"[rng.below(9)]),
            }
            if bytes.is_empty() {
                break;
            }
        }
        match parse_envelope(&bytes, rng.below(2) == 0) {
            Ok(envelope) => {
                let _ = envelope.auth_resource();
                let _ = envelope.into_operation().map_err(|error| error.render());
            }
            Err(error) => {
                let _ = error.render();
            }
        }
    }
}
