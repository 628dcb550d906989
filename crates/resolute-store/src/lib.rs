//! resolute-store (under construction).
