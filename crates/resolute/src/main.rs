//! The resolute binary.
fn main() {}
