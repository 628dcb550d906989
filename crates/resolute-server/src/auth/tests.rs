//! The verifier and the authorization rule at fixed instants, with keys made once by `openssl`
//! (tests/fixtures/auth; test-only keys).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::*;

const NOW_MS: i64 = 1_700_000_000_000;
const NOW: u64 = 1_700_000_000;

const RSA_PUBLIC: &str = include_str!("../../tests/fixtures/auth/rsa_public.pem");
const RSA_PRIVATE: &str = include_str!("../../tests/fixtures/auth/rsa_private.pem");
const OTHER_RSA_PRIVATE: &str = include_str!("../../tests/fixtures/auth/other_rsa_private.pem");
const EC256_PUBLIC: &str = include_str!("../../tests/fixtures/auth/ec256_public.pem");
const EC256_PRIVATE: &str = include_str!("../../tests/fixtures/auth/ec256_private.pem");
const EC384_PUBLIC: &str = include_str!("../../tests/fixtures/auth/ec384_public.pem");
const EC384_PRIVATE: &str = include_str!("../../tests/fixtures/auth/ec384_private.pem");
const ED_PUBLIC: &str = include_str!("../../tests/fixtures/auth/ed25519_public.pem");
const ED_PRIVATE: &str = include_str!("../../tests/fixtures/auth/ed25519_private.pem");
const X25519_PUBLIC: &str = include_str!("../../tests/fixtures/auth/x25519_public.pem");

fn sign(alg: Algorithm, private_pem: &str, claims: &Value) -> String {
    let pem = private_pem.as_bytes();
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Ok(EncodingKey::from_secret(pem)),
        _ => EncodingKey::from_rsa_pem(pem),
    };
    let key = key.expect("test key parses");
    jsonwebtoken::encode(&Header::new(alg), claims, &key).expect("token signs")
}

fn verifier(public_pem: &str) -> Verifier {
    Verifier::from_pem(public_pem.as_bytes(), None, None).expect("supported key")
}

fn valid_claims() -> Value {
    json!({"exp": NOW + 3600, "prefix": ""})
}

/// A token with a hand-made header, for algorithms the library will not sign with.
fn raw_token(header: &Value, claims: &Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

#[test]
fn every_key_type_accepts_its_algorithms() {
    let cases = [
        (RSA_PUBLIC, RSA_PRIVATE, Algorithm::RS256),
        (RSA_PUBLIC, RSA_PRIVATE, Algorithm::RS384),
        (RSA_PUBLIC, RSA_PRIVATE, Algorithm::RS512),
        (RSA_PUBLIC, RSA_PRIVATE, Algorithm::PS256),
        (RSA_PUBLIC, RSA_PRIVATE, Algorithm::PS384),
        (RSA_PUBLIC, RSA_PRIVATE, Algorithm::PS512),
        (EC256_PUBLIC, EC256_PRIVATE, Algorithm::ES256),
        (EC384_PUBLIC, EC384_PRIVATE, Algorithm::ES384),
        (ED_PUBLIC, ED_PRIVATE, Algorithm::EdDSA),
    ];
    for (public, private, alg) in cases {
        let token = sign(alg, private, &valid_claims());
        let claims = verifier(public).verify(&token, NOW_MS);
        assert!(claims.is_ok(), "{alg:?} refused");
    }
}

#[test]
fn an_algorithm_outside_the_key_family_is_refused() {
    let rsa = verifier(RSA_PUBLIC);
    let hs = sign(Algorithm::HS256, RSA_PUBLIC, &valid_claims());
    assert_eq!(rsa.verify(&hs, NOW_MS), Err(Unauthorized), "HS256 keyed with the public key");
    let es = sign(Algorithm::ES256, EC256_PRIVATE, &valid_claims());
    assert_eq!(rsa.verify(&es, NOW_MS), Err(Unauthorized));
    let rs = sign(Algorithm::RS256, RSA_PRIVATE, &valid_claims());
    assert_eq!(verifier(EC256_PUBLIC).verify(&rs, NOW_MS), Err(Unauthorized));
    assert_eq!(verifier(ED_PUBLIC).verify(&rs, NOW_MS), Err(Unauthorized));
}

#[test]
fn a_bad_signature_is_refused() {
    let foreign = sign(Algorithm::RS256, OTHER_RSA_PRIVATE, &valid_claims());
    assert_eq!(verifier(RSA_PUBLIC).verify(&foreign, NOW_MS), Err(Unauthorized));
    let good = sign(Algorithm::RS256, RSA_PRIVATE, &valid_claims());
    let tampered = format!("{}x", &good[..good.len() - 1]);
    assert_eq!(verifier(RSA_PUBLIC).verify(&tampered, NOW_MS), Err(Unauthorized));
}

#[test]
fn expiry_has_sixty_seconds_of_leeway() {
    let rsa = verifier(RSA_PUBLIC);
    let at = |exp: u64| sign(Algorithm::RS256, RSA_PRIVATE, &json!({"exp": exp, "prefix": ""}));
    assert!(rsa.verify(&at(NOW - 30), NOW_MS).is_ok(), "30 s past exp is within leeway");
    assert!(rsa.verify(&at(NOW - 60), NOW_MS).is_ok(), "the leeway's edge still passes");
    assert_eq!(rsa.verify(&at(NOW - 61), NOW_MS), Err(Unauthorized));
    assert_eq!(rsa.verify(&at(NOW - 3600), NOW_MS), Err(Unauthorized));
}

#[test]
fn exp_is_required_and_must_be_a_whole_number() {
    let rsa = verifier(RSA_PUBLIC);
    for claims in [json!({"prefix": ""}), json!({"exp": "soon"}), json!({"exp": 1.7e9})] {
        let token = sign(Algorithm::RS256, RSA_PRIVATE, &claims);
        assert_eq!(rsa.verify(&token, NOW_MS), Err(Unauthorized), "{claims}");
    }
}

#[test]
fn a_configured_issuer_is_required_and_must_match() {
    let rsa = Verifier::from_pem(RSA_PUBLIC.as_bytes(), Some("me".into()), None).expect("key");
    let with = |iss: Value| {
        let token = sign(Algorithm::RS256, RSA_PRIVATE, &json!({"exp": NOW + 60, "iss": iss}));
        rsa.verify(&token, NOW_MS)
    };
    assert!(with(json!("me")).is_ok());
    assert_eq!(with(json!("someone-else")), Err(Unauthorized));
    assert_eq!(with(json!(["me"])), Err(Unauthorized), "iss is a string, not an array");
    let missing = sign(Algorithm::RS256, RSA_PRIVATE, &json!({"exp": NOW + 60}));
    assert_eq!(rsa.verify(&missing, NOW_MS), Err(Unauthorized));
    let unconfigured = sign(Algorithm::RS256, RSA_PRIVATE, &json!({"exp": NOW + 60, "iss": "x"}));
    assert!(verifier(RSA_PUBLIC).verify(&unconfigured, NOW_MS).is_ok());
}

#[test]
fn aud_must_be_an_array_containing_the_configured_audience() {
    let rsa = Verifier::from_pem(RSA_PUBLIC.as_bytes(), None, Some("api".into())).expect("key");
    let with = |claims: Value| rsa.verify(&sign(Algorithm::RS256, RSA_PRIVATE, &claims), NOW_MS);
    assert!(with(json!({"exp": NOW + 60, "aud": ["other", "api"]})).is_ok());
    assert_eq!(with(json!({"exp": NOW + 60, "aud": ["other"]})), Err(Unauthorized));
    assert_eq!(with(json!({"exp": NOW + 60, "aud": "api"})), Err(Unauthorized), "string aud");
    assert_eq!(with(json!({"exp": NOW + 60})), Err(Unauthorized), "missing aud");
}

#[test]
fn without_a_configured_audience_only_the_shape_of_aud_is_checked() {
    let rsa = verifier(RSA_PUBLIC);
    let with = |claims: Value| rsa.verify(&sign(Algorithm::RS256, RSA_PRIVATE, &claims), NOW_MS);
    assert!(with(json!({"exp": NOW + 60})).is_ok());
    assert!(with(json!({"exp": NOW + 60, "aud": ["anyone"]})).is_ok());
    assert_eq!(with(json!({"exp": NOW + 60, "aud": "anyone"})), Err(Unauthorized));
}

#[test]
fn unsigned_mode_skips_the_signature_but_not_the_rest() {
    let unsigned = Verifier::unsigned(Some("me".into()), None);
    let claims = json!({"exp": NOW + 60, "iss": "me"});
    let forged = raw_token(&json!({"alg": "RS256", "typ": "JWT"}), &claims);
    assert!(unsigned.verify(&forged, NOW_MS).is_ok());
    let hs = sign(Algorithm::HS256, "any secret", &claims);
    assert!(unsigned.verify(&hs, NOW_MS).is_ok());
    let none = raw_token(&json!({"alg": "none", "typ": "JWT"}), &claims);
    assert_eq!(unsigned.verify(&none, NOW_MS), Err(Unauthorized), "alg none");
    let unknown = raw_token(&json!({"alg": "XX999"}), &claims);
    assert_eq!(unsigned.verify(&unknown, NOW_MS), Err(Unauthorized), "unknown alg");
    let expired = raw_token(&json!({"alg": "RS256"}), &json!({"exp": NOW - 61, "iss": "me"}));
    assert_eq!(unsigned.verify(&expired, NOW_MS), Err(Unauthorized));
    let wrong_iss = raw_token(&json!({"alg": "RS256"}), &json!({"exp": NOW + 60, "iss": "x"}));
    assert_eq!(unsigned.verify(&wrong_iss, NOW_MS), Err(Unauthorized));
}

#[test]
fn alg_none_is_refused_in_signed_mode_too() {
    let none = raw_token(&json!({"alg": "none"}), &valid_claims());
    assert_eq!(verifier(RSA_PUBLIC).verify(&none, NOW_MS), Err(Unauthorized));
}

#[test]
fn garbage_is_refused() {
    let unsigned = Verifier::unsigned(None, None);
    let good = raw_token(&json!({"alg": "RS256"}), &valid_claims());
    let parts: Vec<&str> = good.split('.').collect();
    let two_parts = format!("{}.{}", parts[0], parts[1]);
    let four_parts = format!("{good}.extra");
    let not_json = format!("{}.bm90IGpzb24.sig", parts[0]);
    let array_payload = raw_token(&json!({"alg": "RS256"}), &json!([1, 2]));
    for token in ["", "garbage", "a.b.c", "..", &two_parts, &four_parts, &not_json, &array_payload]
    {
        assert_eq!(unsigned.verify(token, NOW_MS), Err(Unauthorized), "{token:?}");
        assert_eq!(verifier(RSA_PUBLIC).verify(token, NOW_MS), Err(Unauthorized), "{token:?}");
    }
}

#[test]
fn unsupported_keys_are_a_clear_load_error() {
    assert!(Verifier::from_pem(X25519_PUBLIC.as_bytes(), None, None).is_none());
    assert!(Verifier::from_pem(b"not a pem", None, None).is_none());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("x25519.pem");
    std::fs::write(&path, X25519_PUBLIC).expect("write key");
    let error = Verifier::load(&path.to_string_lossy(), None, None).expect_err("unsupported");
    assert!(error.to_string().contains("not a supported PEM public key"), "{error}");
    let missing = dir.path().join("missing.pem");
    let error = Verifier::load(&missing.to_string_lossy(), None, None).expect_err("missing");
    assert!(error.to_string().contains("cannot read the auth public key"), "{error}");
    assert!(Verifier::load("none", None, None).is_ok());
}

fn claims(claims: Value) -> Claims {
    let token = raw_token(&json!({"alg": "RS256"}), &claims);
    Verifier::unsigned(None, None).verify(&token, NOW_MS).expect("valid token")
}

#[test]
fn admins_may_do_anything_whatever_the_case() {
    for role in ["admin", "ADMIN", "Admin"] {
        let admin = claims(json!({"exp": NOW + 60, "role": role, "prefix": "tenant-a/"}));
        assert!(admin.permits(&AuthResource::None));
        assert!(admin.permits(&AuthResource::Ids(vec!["tenant-b/x".into()])));
    }
    let admin = claims(json!({"exp": NOW + 60, "role": "admin"}));
    assert!(admin.permits(&AuthResource::None), "admin needs no prefix");
}

#[test]
fn a_non_string_role_refuses_the_token() {
    let token = raw_token(&json!({"alg": "RS256"}), &json!({"exp": NOW + 60, "role": 1}));
    assert_eq!(Verifier::unsigned(None, None).verify(&token, NOW_MS), Err(Unauthorized));
}

#[test]
fn a_prefix_must_be_a_string_that_every_id_starts_with() {
    let ids = |ids: &[&str]| AuthResource::Ids(ids.iter().map(|id| id.to_string()).collect());
    let tenant = claims(json!({"exp": NOW + 60, "role": "user", "prefix": "foo"}));
    assert!(tenant.permits(&ids(&["foo.1"])));
    assert!(tenant.permits(&ids(&["foobar"])), "a plain string prefix");
    assert!(!tenant.permits(&ids(&["bar.1"])));
    assert!(!tenant.permits(&ids(&["foo.1", "bar.1"])), "every id must match");
    assert!(!tenant.permits(&AuthResource::None), "searches need an empty prefix");
    let everything = claims(json!({"exp": NOW + 60, "prefix": ""}));
    assert!(everything.permits(&AuthResource::None));
    assert!(everything.permits(&ids(&["anything"])));
    for prefix in [json!(null), json!(1), json!(["foo"]), json!({"p": "foo"})] {
        let odd = claims(json!({"exp": NOW + 60, "prefix": prefix}));
        assert!(!odd.permits(&ids(&["foo.1"])), "{prefix}");
    }
    let absent = claims(json!({"exp": NOW + 60}));
    assert!(!absent.permits(&ids(&["foo.1"])));
}

#[test]
fn bearer_headers_are_read_case_insensitively() {
    let mut headers = HeaderMap::new();
    assert_eq!(bearer(&headers), None);
    headers.insert(header::AUTHORIZATION, "Bearer abc".parse().expect("header"));
    assert_eq!(bearer(&headers), Some("abc"));
    headers.insert(header::AUTHORIZATION, "bearer  abc ".parse().expect("header"));
    assert_eq!(bearer(&headers), Some("abc"));
    headers.insert(header::AUTHORIZATION, "Basic abc".parse().expect("header"));
    assert_eq!(bearer(&headers), None);
}
