//! resolute-server (under construction).
