//! Authentication and authorization (protocol §8): JWT verification against a configured public
//! key, and the role/prefix rule that decides what a verified caller may touch.
//!
//! The signature and header checks are jsonwebtoken's; the claim checks (`exp` with 60 s leeway,
//! `iss`, `aud`) are done here against a `now` the caller passes in, so the edge's clock stays
//! the only clock and the rules can be tested at fixed instants.

use std::fmt;
use std::path::Path;

use axum::http::{header, HeaderMap};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use resolute_api::{ApiError, AuthResource, Envelope};
use serde::Deserialize;
use serde_json::Value;

/// Seconds a token may be past its `exp` and still pass (jsonwebtoken's default, which the
/// reference server keeps).
pub const EXP_LEEWAY_SECS: u64 = 60;

/// The `--auth-publickey` value that turns signature verification off.
pub const UNSIGNED: &str = "none";

/// Why the configured key could not be used; the server refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the auth public key {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(
        "the auth public key {path} is not a supported PEM public key (expected RSA, EC P-256/P-384 \
         or Ed25519, e.g. `openssl pkey -pubout`), or `none` for unsigned tokens"
    )]
    Unsupported { path: String },
}

/// The token was missing, malformed, badly signed, expired, or had the wrong `iss`/`aud`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unauthorized;

/// Checks tokens: the key (or unsigned mode) and the expected issuer and audience.
pub struct Verifier {
    key: Key,
    iss: Option<String>,
    aud: Option<String>,
}

enum Key {
    /// Signed mode: the key and the header algorithms it may verify.
    Signed { key: DecodingKey, family: &'static str, algorithms: Vec<Algorithm> },
    /// Unsigned mode: the signature is ignored, the token's shape and claims are still checked.
    Unsigned,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("key", &self.key_description())
            .field("iss", &self.iss)
            .field("aud", &self.aud)
            .finish()
    }
}

/// The claims authorization reads. `iss` and `aud` are typed as the reference types them, so a
/// string `aud` or a non-string `role` fails the parse and the token is refused (401).
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<Vec<String>>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    prefix: Option<Value>,
}

/// What a verified token allows.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    role: Option<String>,
    prefix: Option<Value>,
}

impl Claims {
    /// True for a token that may see every id: an admin, or the prefix `""`. Lane names (poll
    /// groups, push origins) span every tenant, so only such a token is shown them.
    pub fn sees_everything(&self) -> bool {
        let admin = self.role.as_deref().is_some_and(|role| role.eq_ignore_ascii_case("admin"));
        admin || matches!(&self.prefix, Some(Value::String(prefix)) if prefix.is_empty())
    }

    /// Admins may do anything; others need a string `prefix` that every resource id starts with
    /// (`""` allows all). An absent, null or non-string prefix allows nothing.
    pub fn permits(&self, resource: &AuthResource) -> bool {
        if self.role.as_deref().is_some_and(|role| role.eq_ignore_ascii_case("admin")) {
            return true;
        }
        match &self.prefix {
            Some(Value::String(prefix)) => resource.permits(prefix),
            _ => false,
        }
    }
}

impl Verifier {
    /// Loads `publickey` (a PEM file path, or `none` for unsigned mode).
    pub fn load(
        publickey: &str,
        iss: Option<String>,
        aud: Option<String>,
    ) -> Result<Verifier, KeyError> {
        if publickey == UNSIGNED {
            return Ok(Verifier { key: Key::Unsigned, iss, aud });
        }
        let pem = std::fs::read(Path::new(publickey))
            .map_err(|source| KeyError::Read { path: publickey.to_owned(), source })?;
        let key =
            signed_key(&pem).ok_or_else(|| KeyError::Unsupported { path: publickey.into() })?;
        Ok(Verifier { key, iss, aud })
    }

    /// A verifier for a PEM key given as bytes (`None` when the key type is not supported).
    pub fn from_pem(pem: &[u8], iss: Option<String>, aud: Option<String>) -> Option<Verifier> {
        Some(Verifier { key: signed_key(pem)?, iss, aud })
    }

    /// A verifier that checks everything but the signature.
    pub fn unsigned(iss: Option<String>, aud: Option<String>) -> Verifier {
        Verifier { key: Key::Unsigned, iss, aud }
    }

    /// For the startup log: the key family and the algorithms it accepts.
    pub fn key_description(&self) -> String {
        match &self.key {
            Key::Signed { family, algorithms, .. } => format!("{family} {algorithms:?}"),
            Key::Unsigned => "unsigned (signatures not verified)".to_owned(),
        }
    }

    /// Verifies `token` at `now_ms` (milliseconds since the epoch) and returns its claims.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, Unauthorized> {
        if token.is_empty() {
            return Err(Unauthorized);
        }
        let payload = self.decode(token)?;
        let now_secs = u64::try_from(now_ms.div_euclid(1000)).unwrap_or(0);
        let exp = payload.exp.ok_or(Unauthorized)?;
        if exp.saturating_add(EXP_LEEWAY_SECS) < now_secs {
            return Err(Unauthorized);
        }
        if let Some(iss) = &self.iss {
            if payload.iss.as_ref() != Some(iss) {
                return Err(Unauthorized);
            }
        }
        if let Some(aud) = &self.aud {
            if !payload.aud.as_ref().is_some_and(|auds| auds.contains(aud)) {
                return Err(Unauthorized);
            }
        }
        Ok(Claims { role: payload.role, prefix: payload.prefix })
    }

    /// The library's part: three-part shape, a known header `alg` (never `none`), the algorithm
    /// allowed for the key, and the signature. Claims are left to `verify`.
    fn decode(&self, token: &str) -> Result<Payload, Unauthorized> {
        let unverified;
        let (key, mut validation) = match &self.key {
            Key::Signed { key, algorithms, .. } => {
                let mut validation = Validation::new(algorithms[0]);
                validation.algorithms = algorithms.clone();
                (key, validation)
            }
            Key::Unsigned => {
                unverified = DecodingKey::from_secret(&[]);
                let mut validation = Validation::default();
                validation.insecure_disable_signature_validation();
                (&unverified, validation)
            }
        };
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Payload>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| Unauthorized)
    }
}

/// Recognises the key type from the PEM; the first family that parses decides the algorithms.
fn signed_key(pem: &[u8]) -> Option<Key> {
    use Algorithm::{EdDSA, ES256, ES384, PS256, PS384, PS512, RS256, RS384, RS512};
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        let algorithms = vec![RS256, RS384, RS512, PS256, PS384, PS512];
        return Some(Key::Signed { key, family: "RSA", algorithms });
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        return Some(Key::Signed { key, family: "EC", algorithms: vec![ES256, ES384] });
    }
    if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        return Some(Key::Signed { key, family: "Ed25519", algorithms: vec![EdDSA] });
    }
    None
}

/// Step 6 of the RPC pipeline: the token in `head.auth` must verify (else 401) and its claims
/// must cover the request's resource (else 403).
pub fn check_rpc(verifier: &Verifier, envelope: &Envelope, now_ms: i64) -> Result<(), ApiError> {
    let claims =
        envelope.auth().ok_or(Unauthorized).and_then(|token| verifier.verify(token, now_ms));
    match claims {
        Err(Unauthorized) => Err(envelope.reject(401, "Unauthorized")),
        Ok(claims) if claims.permits(&envelope.auth_resource()) => Ok(()),
        Ok(_) => Err(envelope.reject(403, "Forbidden")),
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Verifies the bearer token of a non-RPC request.
pub fn check_bearer(
    verifier: &Verifier,
    headers: &HeaderMap,
    now_ms: i64,
) -> Result<Claims, Unauthorized> {
    verifier.verify(bearer(headers).ok_or(Unauthorized)?, now_ms)
}

#[cfg(test)]
mod tests;
