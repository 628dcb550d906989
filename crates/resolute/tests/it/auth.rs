//! Authentication and authorization over HTTP (protocol §8): RPC, /poll and /explain with
//! `--auth-publickey`, tokens signed here with the test keys in resolute-server's fixtures.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::harness::Server;

const ISS: &str = "resolute-tests";
const AUD: &str = "resolute";

fn fixture(name: &str) -> String {
    format!("{}/../resolute-server/tests/fixtures/auth/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or(0)
}

/// An RS256 token signed with `key` (a private-key fixture).
fn sign_with(key: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(key)).expect("private key fixture");
    let key = EncodingKey::from_rsa_pem(&pem).expect("RSA private key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).expect("sign")
}

/// A valid token for the test server, with `extra` claims merged in.
fn token(extra: Value) -> String {
    sign_with("rsa_private.pem", &claims(extra))
}

fn admin() -> String {
    token(json!({"role": "admin"}))
}

fn tenant() -> String {
    token(json!({"role": "user", "prefix": "tenant-a/"}))
}

fn start() -> Server {
    let key = fixture("rsa_public.pem");
    Server::start_with(&["--debug", "--auth-publickey", &key, "--auth-iss", ISS, "--auth-aud", AUD])
}

async fn call(server: &Server, auth: Option<&str>, kind: &str, data: Value) -> (u16, Value) {
    let mut head = json!({"corrId": "auth", "version": "2026-04-01"});
    if let Some(auth) = auth {
        head["auth"] = json!(auth);
    }
    server.send(json!({"kind": kind, "head": head, "data": data})).await
}

fn assert_status(reply: &(u16, Value), status: u16, message: &str, what: &str) {
    assert_eq!(reply.0, status, "{what}: {}", reply.1);
    assert_eq!(reply.1["head"]["status"], json!(status), "{what}: {}", reply.1);
    assert_eq!(reply.1["data"], json!(message), "{what}: {}", reply.1);
}

fn promise(id: &str) -> Value {
    let timeout_at = (now_secs() + 3600) * 1000;
    json!({"id": id, "timeoutAt": timeout_at, "param": {}, "tags": {}})
}

/// Claims that pass every check of the test server, with `extra` merged in.
fn claims(extra: Value) -> Value {
    let mut claims = json!({"exp": now_secs() + 3600, "iss": ISS, "aud": [AUD]});
    if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        claims.extend(extra.clone());
    }
    claims
}

/// `claims(extra)` without the claim named `remove`.
fn claims_without(remove: &str, extra: Value) -> Value {
    let mut claims = claims(extra);
    if let Some(claims) = claims.as_object_mut() {
        claims.remove(remove);
    }
    claims
}

/// Tokens the test server must refuse, each with admin rights had it been valid.
fn refused_tokens() -> Vec<(&'static str, Option<String>)> {
    let admin = || json!({"role": "admin"});
    let expired = now_secs() - 3600;
    vec![
        ("no auth", None),
        ("empty", Some(String::new())),
        ("garbage", Some("garbage".to_owned())),
        ("other key", Some(sign_with("other_rsa_private.pem", &claims(admin())))),
        ("expired", Some(token(json!({"exp": expired, "role": "admin"})))),
        ("wrong iss", Some(token(json!({"iss": "someone", "role": "admin"})))),
        ("no iss", Some(sign_with("rsa_private.pem", &claims_without("iss", admin())))),
        ("string aud", Some(token(json!({"aud": AUD, "role": "admin"})))),
        ("wrong aud", Some(token(json!({"aud": ["other"], "role": "admin"})))),
        ("no aud", Some(sign_with("rsa_private.pem", &claims_without("aud", admin())))),
        ("no exp", Some(sign_with("rsa_private.pem", &claims_without("exp", admin())))),
        ("alg none", Some(unsigned_token(&json!({"alg": "none"}), &claims(admin())))),
    ]
}

#[tokio::test]
async fn rpc_refuses_missing_and_invalid_tokens_with_401() {
    let server = start();
    for (what, auth) in refused_tokens() {
        let reply = call(&server, auth.as_deref(), "promise.create", promise("p")).await;
        assert_status(&reply, 401, "Unauthorized", what);
        assert_eq!(reply.1["kind"], "promise.create", "{what}: kind is echoed");
        assert_eq!(reply.1["head"]["corrId"], "auth", "{what}: corrId is echoed");
    }
    let head = json!({"corrId": "n", "version": "2026-04-01", "auth": null});
    let null_auth = json!({"kind": "promise.get", "head": head, "data": {"id": "p"}});
    assert_status(&server.send(null_auth).await, 401, "Unauthorized", "auth null");
    let reply = call(&server, Some(&admin()), "promise.create", promise("p")).await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    let within_leeway = token(json!({"exp": now_secs() - 30, "role": "admin"}));
    let reply = call(&server, Some(&within_leeway), "promise.get", json!({"id": "p"})).await;
    assert_eq!(reply.0, 200, "30 s past exp is within the leeway: {}", reply.1);
}

/// A token whose header is written by hand (for `alg: none`, which no library will sign).
fn unsigned_token(header: &Value, claims: &Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.")
}

#[tokio::test]
async fn envelope_errors_win_over_auth_and_auth_wins_over_unknown_kinds() {
    let server = start();
    let old = json!({"corrId": "v", "version": "1"});
    let bad_version = json!({"kind": "promise.get", "head": old, "data": {}});
    assert_eq!(server.send(bad_version).await.0, 400);
    let head = json!({"corrId": "v", "version": "2026-04-01"});
    let bad_data = json!({"kind": "promise.get", "head": head, "data": []});
    assert_eq!(server.send(bad_data).await.0, 400);
    assert_status(&call(&server, None, "no.such", json!({})).await, 401, "Unauthorized", "unknown");
    let tenant_unknown = call(&server, Some(&tenant()), "no.such", json!({})).await;
    assert_status(&tenant_unknown, 403, "Forbidden", "unknown kind, tenant");
    let admin_unknown = call(&server, Some(&admin()), "no.such", json!({})).await;
    assert_status(&admin_unknown, 400, "Unknown operation: no.such", "unknown kind, admin");
    let invalid = call(&server, Some(&tenant()), "promise.get", json!({})).await;
    assert_eq!(invalid.0, 400, "a missing id passes auth and fails validation: {}", invalid.1);
}

#[tokio::test]
async fn prefix_tokens_reach_only_their_own_ids() {
    let server = start();
    let tenant = tenant();
    let own = call(&server, Some(&tenant), "promise.create", promise("tenant-a/1")).await;
    assert_eq!(own.0, 200, "{}", own.1);
    let foreign = call(&server, Some(&tenant), "promise.create", promise("tenant-b/1")).await;
    assert_status(&foreign, 403, "Forbidden", "foreign id");
    let get = call(&server, Some(&tenant), "promise.get", json!({"id": "tenant-a/1"})).await;
    assert_eq!(get.0, 200, "{}", get.1);
    let missing = call(&server, Some(&tenant), "promise.get", json!({"id": "tenant-a/xyz"})).await;
    assert_eq!(missing.0, 404, "allowed, then not found: {}", missing.1);
    let search = call(&server, Some(&tenant), "promise.search", json!({})).await;
    assert_status(&search, 403, "Forbidden", "search with a prefix");
    for (what, claims) in [
        ("no prefix", json!({"role": "user"})),
        ("null prefix", json!({"prefix": null})),
        ("number prefix", json!({"prefix": 7})),
        ("array prefix", json!({"prefix": ["tenant-a/"]})),
    ] {
        let get = json!({"id": "tenant-a/1"});
        let reply = call(&server, Some(&token(claims)), "promise.get", get).await;
        assert_status(&reply, 403, "Forbidden", what);
    }
    let everything = token(json!({"prefix": ""}));
    assert_eq!(call(&server, Some(&everything), "promise.search", json!({})).await.0, 200);
    let loud_admin = token(json!({"role": "ADMIN", "prefix": "elsewhere/"}));
    assert_eq!(call(&server, Some(&loud_admin), "promise.search", json!({})).await.0, 200);
    let snap = call(&server, Some(&loud_admin), "debug.snap", json!({})).await;
    assert_eq!(snap.0, 200, "admins may use debug operations: {}", snap.1);
}

fn action(kind: &str, data: Value) -> Value {
    json!({"kind": kind, "head": {}, "data": data})
}

fn schedule(id: &str, promise_id: &str) -> Value {
    json!({"id": id, "cron": "* * * * *", "promiseId": promise_id, "promiseTimeout": 1000})
}

fn create_task(id: &str) -> Value {
    json!({"pid": "w", "ttl": 1000, "action": action("promise.create", promise(id))})
}

fn heartbeat(ids: &[&str]) -> Value {
    let tasks: Vec<Value> = ids.iter().map(|id| json!({"id": id, "version": 1})).collect();
    json!({"pid": "w", "tasks": tasks})
}

#[tokio::test]
async fn each_kind_checks_its_own_resource_field() {
    let server = start();
    let tenant = tenant();
    let listen = |awaited: &str| json!({"awaited": awaited, "address": "poll://any@tenant-a"});
    let callback = |awaited: &str| json!({"awaited": awaited, "awaiter": "tenant-a/1"});
    let cases = [
        ("promise.register_listener", listen("tenant-a/1"), listen("tenant-b/1")),
        ("promise.register_callback", callback("tenant-a/2"), callback("tenant-b/2")),
        ("schedule.create", schedule("s", "tenant-a/{{.id}}"), schedule("s", "tenant-b/{{.id}}")),
        ("task.create", create_task("tenant-a/t"), create_task("tenant-b/t")),
        (
            "task.heartbeat",
            heartbeat(&["tenant-a/1", "tenant-a/2"]),
            heartbeat(&["tenant-a/1", "b"]),
        ),
    ];
    for (kind, own, foreign) in cases {
        let reply = call(&server, Some(&tenant), kind, own).await;
        assert!(![401, 403].contains(&reply.0), "{kind} on own ids: {}", reply.1);
        assert_status(&call(&server, Some(&tenant), kind, foreign).await, 403, "Forbidden", kind);
    }
}

/// Every operation, with data that names `tenant-a/` ids where the kind names a resource.
fn every_operation() -> Vec<(&'static str, Value)> {
    let id = json!({"id": "tenant-a/1"});
    let versioned = json!({"id": "tenant-a/1", "version": 1});
    let settle = json!({"id": "tenant-a/1", "state": "resolved", "value": {}});
    let with_action = |action: Value| json!({"id": "tenant-a/1", "version": 1, "action": action});
    let fulfill = with_action(action("promise.settle", settle.clone()));
    let fence = with_action(action("promise.get", id.clone()));
    vec![
        ("promise.get", id.clone()),
        ("promise.create", promise("tenant-a/1")),
        ("promise.settle", settle),
        ("promise.register_callback", json!({"awaited": "tenant-a/1", "awaiter": "tenant-a/2"})),
        ("promise.register_listener", json!({"awaited": "tenant-a/1", "address": "poll://any@g"})),
        ("promise.search", json!({})),
        ("task.get", id.clone()),
        ("task.create", create_task("tenant-a/1")),
        ("task.acquire", json!({"id": "tenant-a/1", "version": 0, "pid": "w", "ttl": 1000})),
        ("task.release", versioned.clone()),
        ("task.fulfill", fulfill),
        ("task.suspend", json!({"id": "tenant-a/1", "version": 1, "actions": []})),
        ("task.fence", fence),
        ("task.heartbeat", heartbeat(&["tenant-a/1"])),
        ("task.halt", id.clone()),
        ("task.continue", id.clone()),
        ("task.search", json!({})),
        ("schedule.get", id.clone()),
        ("schedule.create", schedule("tenant-a/1", "tenant-a/{{.id}}")),
        ("schedule.delete", id),
        ("schedule.search", json!({})),
        ("debug.snap", json!({})),
        ("debug.tick", json!({"time": 1})),
        ("debug.start", json!({})),
        ("debug.stop", json!({})),
        ("debug.reset", json!({})),
    ]
}

#[tokio::test]
async fn no_operation_answers_without_a_valid_token() {
    let server = start();
    let admin = admin();
    assert_eq!(call(&server, Some(&admin), "promise.create", promise("tenant-a/1")).await.0, 200);
    let expired = token(json!({"exp": now_secs() - 3600, "role": "admin"}));
    let searches = ["promise.search", "task.search", "schedule.search"];
    for (kind, data) in every_operation() {
        for (what, auth) in [("no token", None), ("expired", Some(expired.as_str()))] {
            let reply = call(&server, auth, kind, data.clone()).await;
            assert_status(&reply, 401, "Unauthorized", &format!("{kind}, {what}"));
        }
        let tenant = call(&server, Some(&tenant()), kind, data.clone()).await;
        if kind.starts_with("debug.") || searches.contains(&kind) {
            assert_status(&tenant, 403, "Forbidden", &format!("{kind}, tenant"));
        } else {
            assert!(![401, 403].contains(&tenant.0), "{kind}, tenant: {}", tenant.1);
        }
        let foreign = token(json!({"prefix": "tenant-b/"}));
        let reply = call(&server, Some(&foreign), kind, data.clone()).await;
        assert_status(&reply, 403, "Forbidden", &format!("{kind}, other tenant"));
    }
    for (kind, data) in every_operation() {
        let reply = call(&server, Some(&admin), kind, data).await;
        assert!(![401, 403].contains(&reply.0), "{kind}, admin: {}", reply.1);
    }
}

/// Opens `/poll/{group}/{id}` with an optional bearer token.
async fn poll(server: &Server, group: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}/poll/{group}/w1", server.url));
    if let Some(bearer) = bearer {
        request = request.header("Authorization", format!("Bearer {bearer}"));
    }
    request.send().await.expect("poll request")
}

#[tokio::test]
async fn poll_needs_a_valid_bearer_token_but_no_prefix() {
    let server = start();
    for bearer in [None, Some("garbage".to_owned()), Some(token(json!({"exp": now_secs() - 3600})))]
    {
        let response = poll(&server, "workers", bearer.as_deref()).await;
        assert_eq!(response.status().as_u16(), 401, "{bearer:?}");
        assert_eq!(response.text().await.expect("body"), "Unauthorized");
    }
    let basic = reqwest::Client::new()
        .get(format!("{}/poll/workers/w1", server.url))
        .header("Authorization", "Basic abc")
        .send()
        .await
        .expect("poll request");
    assert_eq!(basic.status().as_u16(), 401, "another scheme");
    // prefix/role are not applied to /poll: a token with no prefix at all may listen.
    let mut response = poll(&server, "workers", Some(&token(json!({})))).await;
    assert_eq!(response.status().as_u16(), 200);
    let target = json!({"resonate:target": "poll://any@workers"});
    let mut data = promise("job");
    data["tags"] = target;
    let created = call(&server, Some(&admin()), "promise.create", data).await;
    assert_eq!(created.0, 200, "{}", created.1);
    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !received.contains("\"execute\"") {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => received.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("no execute message on the stream: {other:?}, got {received:?}"),
        }
    }
}

#[tokio::test]
async fn explain_needs_a_bearer_token_covering_the_id() {
    let server = start();
    let created = call(&server, Some(&admin()), "promise.create", promise("tenant-a/1")).await;
    assert_eq!(created.0, 200, "{}", created.1);
    let get = |bearer: Option<String>| {
        let mut request = server.client.get(format!("{}/explain/{}", server.url, "tenant-a%2F1"));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        async move {
            let response = request.send().await.expect("explain");
            (response.status().as_u16(), response.text().await.expect("body"))
        }
    };
    let (status, body) = get(None).await;
    assert_eq!((status, body.as_str()), (401, r#"{"error":"Unauthorized"}"#));
    assert_eq!(get(Some("garbage".into())).await.0, 401);
    let (status, body) = get(Some(token(json!({"prefix": "tenant-b/"})))).await;
    assert_eq!((status, body.as_str()), (403, r#"{"error":"Forbidden"}"#));
    let (status, body) = get(Some(tenant())).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("tenant-a/1"), "{body}");
    assert_eq!(get(Some(admin())).await.0, 200);
}

#[tokio::test]
async fn health_and_readiness_stay_open() {
    let server = start();
    assert_eq!(server.get("/health").await.0, 200);
    assert_eq!(server.get("/ready").await.0, 200);
}

/// Open, but the deployment's names (poll groups, lanes) only for a token that may see every id.
#[tokio::test]
async fn health_shows_group_and_lane_names_only_to_a_token_for_every_id() {
    let server = start();
    let _worker = poll(&server, "billing", Some(&admin())).await;
    let data = json!({"id": "tenant-a/1", "timeoutAt": 4_000_000_000_000_i64,
                      "tags": {"resonate:target": "poll://any@nobody"}});
    assert_eq!(call(&server, Some(&admin()), "promise.create", data).await.0, 200);
    let health = |token: Option<String>| {
        let server = &server;
        async move {
            let mut request = server.client.get(format!("{}/health?queues=1", server.url));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("health");
            assert_eq!(response.status().as_u16(), 200);
            response.json::<Value>().await.expect("JSON")
        }
    };
    for hidden in [health(None).await, health(Some(tenant())).await] {
        assert_eq!(hidden["namesHidden"], json!(true), "{hidden}");
        assert_eq!(hidden["poll"]["groups"], json!([]), "{hidden}");
        assert_eq!(hidden["poll"]["connections"], json!(1), "the count stays: {hidden}");
        assert_eq!(hidden["queues"], json!([]), "{hidden}");
        assert!(!hidden.to_string().contains("billing") && !hidden.to_string().contains("nobody"));
    }
    let shown = health(Some(admin())).await;
    assert_eq!(shown.get("namesHidden"), None, "{shown}");
    assert_eq!(shown["poll"]["groups"], json!([{"group": "billing", "connections": 1}]));
    assert_eq!(shown["queues"][0]["lane"], json!("poll:nobody"), "{shown}");
    let everything = token(json!({"role": "user", "prefix": ""}));
    assert_eq!(health(Some(everything)).await.get("namesHidden"), None);
}

#[tokio::test]
async fn the_config_file_turns_on_unsigned_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("resolute.toml");
    let text = format!("[auth]\npublickey = \"none\"\niss = \"{ISS}\"\n");
    std::fs::write(&file, text).expect("write config");
    let config = file.to_string_lossy().into_owned();
    let server = Server::start_with(&["--config", &config]);
    let exp = now_secs() + 3600;
    assert_eq!(call(&server, None, "promise.search", json!({})).await.0, 401);
    let forged = sign_with("other_rsa_private.pem", &json!({"exp": exp, "iss": ISS, "prefix": ""}));
    let reply = call(&server, Some(&forged), "promise.search", json!({})).await;
    assert_eq!(reply.0, 200, "signatures are not checked in unsigned mode: {}", reply.1);
    let wrong_iss = sign_with("rsa_private.pem", &json!({"exp": exp, "iss": "x", "prefix": ""}));
    assert_eq!(call(&server, Some(&wrong_iss), "promise.search", json!({})).await.0, 401);
    let claims = json!({"exp": exp, "iss": ISS, "prefix": ""});
    let none = unsigned_token(&json!({"alg": "none"}), &claims);
    assert_eq!(call(&server, Some(&none), "promise.search", json!({})).await.0, 401);
}

#[test]
fn an_unusable_key_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.pem").to_string_lossy().into_owned();
    let cases = [
        (fixture("x25519_public.pem"), "is not a supported PEM public key"),
        (fixture("../../../src/auth.rs"), "is not a supported PEM public key"),
        (missing, "cannot read the auth public key"),
    ];
    for (key, message) in cases {
        let (success, stderr) = run_serve_with_key(&key);
        assert!(!success, "{key}: started anyway");
        assert!(stderr.contains(message) && stderr.contains(&key), "{key}: {stderr}");
        assert!(!stderr.contains("panicked"), "{key}: {stderr}");
    }
}

/// Runs `resolute serve --auth-publickey key`; a server that starts anyway is killed (our child,
/// by PID) after a deadline. Returns whether it exited successfully, and its stderr.
fn run_serve_with_key(key: &str) -> (bool, String) {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_resolute"))
        .args(["serve", "--server-port", "0", "--server-bind", "127.0.0.1"])
        .args(["--observability-metrics-port", "0", "--storage-sqlite-path", ":memory:"])
        .args(["--auth-publickey", key])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run resolute");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        match child.try_wait().expect("wait for resolute") {
            Some(status) => break Some(status),
            None if std::time::Instant::now() > deadline => break None,
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    (status.is_some_and(|status| status.success()), stderr)
}
