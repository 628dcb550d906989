//! resolute-api (under construction).
