//! libFuzzer target: one operation chosen by the first byte, arbitrary `data` after it
//! (see resolute_fuzz::check_operation).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| resolute_fuzz::check_operation(bytes));
