//! What the fuzzers check, as plain functions: any bytes given to the envelope parser, and any
//! `data` given to any operation, must end in a well-formed reply — never a panic, never a 5xx for
//! the client's mistake, never a body that is not JSON. `fuzz/` drives these with libFuzzer;
//! the tests below drive them with a seeded generator and the seed corpus, on stable Rust, in CI.

use resolute_api::{Operation, Rendered};
use resolute_core::{Command, KernelConfig, Timestamp};
use resolute_store::MemStore;

/// The instant every fuzzed command runs at (fixed, so a crash reproduces from its input alone).
const NOW: i64 = 1_700_000_000_000;

/// Feeds raw bytes to the request pipeline, as the RPC endpoint does, in both debug modes.
pub fn check_envelope(bytes: &[u8]) {
    for debug in [false, true] {
        let store = MemStore::new(KernelConfig::default());
        check_reply(&run(&store, bytes, debug), bytes);
    }
}

/// Uses the first byte to pick an operation and the rest as its `data`, so the fuzzer spends
/// its time inside each operation's validation and the kernel rather than on the envelope.
pub fn check_operation(bytes: &[u8]) {
    let Some((&selector, data)) = bytes.split_first() else { return };
    let kinds: Vec<&str> = resolute_api::kinds().collect();
    let kind = kinds[usize::from(selector) % kinds.len()];
    let data = String::from_utf8_lossy(data);
    let body = format!(
        r#"{{"kind":"{kind}","head":{{"corrId":"f","version":"2026-04-01"}},"data":{data}}}"#
    );
    let store = MemStore::new(KernelConfig::default());
    // Twice on one store: the second run meets the state the first one left (duplicates,
    // conflicts, settled records), where most rules branch.
    for _ in 0..2 {
        check_reply(&run(&store, body.as_bytes(), true), body.as_bytes());
    }
}

fn run(store: &MemStore, bytes: &[u8], debug: bool) -> Rendered {
    let envelope = match resolute_api::parse_envelope(bytes, debug) {
        Ok(envelope) => envelope,
        Err(error) => return error.render(),
    };
    let _ = envelope.auth_resource();
    let (kind, corr_id) = (envelope.kind().to_owned(), envelope.corr_id().to_owned());
    let now = Timestamp(envelope.debug_time().unwrap_or(NOW));
    match envelope.into_operation() {
        Ok(Operation::Kernel(command)) => execute(store, &kind, &corr_id, &command, now),
        Ok(_) => resolute_api::render_empty(&kind, &corr_id),
        Err(error) => error.render(),
    }
}

fn execute(
    store: &MemStore,
    kind: &str,
    corr_id: &str,
    command: &Command,
    now: Timestamp,
) -> Rendered {
    match store.execute_now(command, now) {
        Ok(executed) => resolute_api::render(kind, corr_id, &executed.reply),
        Err(error) => panic!("the reference store failed on {command:?}: {error}"),
    }
}

/// A reply is JSON with the envelope shape, and a 5xx only ever means the server failed.
fn check_reply(rendered: &Rendered, input: &[u8]) {
    let shown = String::from_utf8_lossy(input);
    let body: serde_json::Value = serde_json::from_slice(&rendered.body)
        .unwrap_or_else(|error| panic!("reply is not JSON ({error}) for input {shown:?}"));
    assert!(body.get("kind").is_some() && body.get("head").is_some(), "no envelope: {body}");
    assert!(
        (200..500).contains(&rendered.status),
        "status {} for a client's input {shown:?}: {body}",
        rendered.status
    );
}

#[cfg(test)]
mod tests;
