//! libFuzzer target: arbitrary bytes as an RPC request body (see resolute_fuzz::check_envelope).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| resolute_fuzz::check_envelope(bytes));
