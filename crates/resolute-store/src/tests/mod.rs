//! Conformance suite (filled below).
