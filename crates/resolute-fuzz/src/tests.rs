//! The fuzz bodies on stable Rust: the seed corpus, then seeded random mutations of it.

use super::{check_envelope, check_operation};

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    files.sort();
    files.iter().map(|path| std::fs::read(path).expect("corpus file")).collect()
}

/// xorshift64: the same inputs on every run, so a failure reproduces.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Flips, inserts, deletes and splices bytes, as a mutation fuzzer does, a bounded number of times.
fn mutate(input: &[u8], state: &mut u64) -> Vec<u8> {
    const INTERESTING: &[&[u8]] =
        &[b"{", b"}", b"\"", b"[", b"null", b"-1", b"1e400", b"\\u0000", b":"];
    let mut out = input.to_vec();
    for _ in 0..(1 + next(state) % 4) {
        let at = if out.is_empty() { 0 } else { (next(state) % out.len() as u64) as usize };
        match next(state) % 4 {
            0 if !out.is_empty() => out[at] = next(state) as u8,
            1 if !out.is_empty() => {
                out.remove(at);
            }
            2 => {
                let piece = INTERESTING[(next(state) % INTERESTING.len() as u64) as usize];
                out.splice(at..at, piece.iter().copied());
            }
            _ => out.insert(at, next(state) as u8),
        }
    }
    out
}

const MUTATIONS: usize = 4_000;

#[test]
fn the_seed_corpus_and_its_mutations_never_break_the_envelope_pipeline() {
    let corpus = corpus();
    assert!(corpus.len() >= 10, "seed corpus missing");
    let mut state = 0x9E37_79B9_7F4A_7C15;
    for input in &corpus {
        check_envelope(input);
    }
    for _ in 0..MUTATIONS {
        let seed = &corpus[(next(&mut state) % corpus.len() as u64) as usize];
        check_envelope(&mutate(seed, &mut state));
    }
}

#[test]
fn every_operation_survives_mutated_data() {
    let corpus = corpus();
    let mut state = 0xD1B5_4A32_D192_ED03;
    for selector in 0..=u8::MAX {
        for input in corpus.iter().take(3) {
            let data = extract_data(input);
            let mut bytes = vec![selector];
            bytes.extend(mutate(&data, &mut state));
            check_operation(&bytes);
        }
    }
}

/// The `data` object of a corpus envelope, as text (the operation harness supplies the rest).
fn extract_data(input: &[u8]) -> Vec<u8> {
    let value: serde_json::Value = serde_json::from_slice(input).unwrap_or_default();
    value.get("data").map(|data| data.to_string().into_bytes()).unwrap_or_else(|| b"{}".to_vec())
}
