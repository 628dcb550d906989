//! Hostile input over real HTTP: garbage, deep nesting, huge numbers, invalid UTF-8, duplicate
//! keys and slowloris clients. Never a 5xx for a client mistake, never a hang, the server keeps
//! serving everyone else, and a client that never finishes its request head is cut off.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::harness::Server;

/// Deterministic mutations of a valid envelope, so a failure names a reproducible case.
fn mutations() -> Vec<Vec<u8>> {
    let valid = json!({"kind": "promise.create", "head": {"corrId": "h", "version": "2026-04-01"},
                       "data": {"id": "x", "timeoutAt": 1}})
    .to_string()
    .into_bytes();
    let mut cases = vec![
        b"[".repeat(100_000),
        format!("{}{}", "{\"a\":".repeat(5_000), "}".repeat(5_000)).into_bytes(),
        br#"{"kind":"promise.create","head":{"corrId":"h","version":"2026-04-01"},"data":{"id":"x","timeoutAt":1e400}}"#.to_vec(),
        br#"{"kind":"promise.create","head":{"corrId":"h","version":"2026-04-01"},"data":{"id":"x","timeoutAt":99999999999999999999999}}"#.to_vec(),
        br#"{"kind":"promise.get","head":{"corrId":"h","version":"2026-04-01"},"data":{"id":"a","id":"b"}}"#.to_vec(),
        b"{\"kind\":\"promise.get\",\"head\":{\"corrId\":\"\xff\xfe\",\"version\":\"2026-04-01\"},\"data\":{\"id\":\"x\"}}".to_vec(),
        br#"{"kind":"task.fence","head":{"corrId":"h","version":"2026-04-01"},"data":{"id":"t","version":-1,"action":{"kind":"promise.create","data":{"id":"t.1","timeoutAt":-5}}}}"#.to_vec(),
        Vec::new(),
    ];
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    for _ in 0..300 {
        let mut body = valid.clone();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % body.len();
            body[at] = (state >> 32) as u8;
        }
        cases.push(body);
    }
    cases
}

#[tokio::test]
async fn malformed_bodies_get_client_errors_not_server_errors() {
    let server = Server::start_with(&[]);
    for (index, body) in mutations().into_iter().enumerate() {
        let answer = tokio::time::timeout(Duration::from_secs(5), server.post_raw(body)).await;
        let (status, reply) = answer.unwrap_or_else(|_| panic!("case {index} hung"));
        assert!(status < 500, "case {index}: {status} {reply}");
    }
    let (status, _) = server.rpc("promise.get", json!({"id": "still-here"})).await;
    assert_eq!(status, 404, "the server keeps serving after the barrage");
}

#[tokio::test]
async fn a_slowloris_client_does_not_hold_up_others() {
    let server = Server::start_with(&[]);
    let address = server.url.trim_start_matches("http://").to_owned();
    let slow = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        for byte in b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n" {
            if stream.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    for _ in 0..20 {
        let answer = tokio::time::timeout(
            Duration::from_secs(2),
            server.rpc("promise.get", json!({"id": "x"})),
        )
        .await;
        assert_eq!(answer.expect("answered while a slow client trickles").0, 404);
    }
    let _ = slow.join();
}

/// Whether the server has closed `stream` (EOF or reset) within `wait`.
fn closed_within(stream: &mut std::net::TcpStream, wait: Duration) -> bool {
    use std::io::Read;
    let deadline = std::time::Instant::now() + wait;
    let mut buffer = [0_u8; 64];
    while std::time::Instant::now() < deadline {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off_at_the_header_timeout() {
    let server = Server::start_with(&["--server-header-read-timeout-ms", "500"]);
    let address = server.url.trim_start_matches("http://").to_owned();
    let (half, dribble) = (address.clone(), address);
    // Half a header line, then silence.
    let silent = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(half).expect("connect");
        stream.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Le").expect("send");
        let started = std::time::Instant::now();
        (closed_within(&mut stream, Duration::from_secs(5)), started.elapsed())
    });
    // A byte every 50 ms, for ever: bytes arriving do not extend the bound.
    let dribbling = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(dribble).expect("connect");
        let started = std::time::Instant::now();
        for byte in b"GET / HTTP/1.1\r\nX-Slow: ".iter().chain(std::iter::repeat(&b'a')) {
            if stream.write_all(&[*byte]).is_err() || started.elapsed() > Duration::from_secs(5) {
                break;
            }
            if closed_within(&mut stream, Duration::from_millis(50)) {
                break;
            }
        }
        started.elapsed()
    });
    for _ in 0..10 {
        let answer = tokio::time::timeout(
            Duration::from_secs(2),
            server.rpc("promise.get", json!({"id": "x"})),
        )
        .await;
        assert_eq!(answer.expect("answered while slow clients hang on").0, 404);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (closed, after) = silent.join().expect("silent client");
    assert!(closed, "a half-sent head is cut off");
    assert!(after < Duration::from_millis(2_000), "cut off after {after:?}");
    let dribbled = dribbling.join().expect("dribbling client");
    assert!(dribbled < Duration::from_millis(2_000), "a dribbler is cut off, after {dribbled:?}");
}

/// A kept-alive connection that starts a request after idling is held to the header bound from
/// its first byte on, not to the (longer) idle bound it was under.
#[tokio::test]
async fn a_head_begun_after_idling_is_held_to_the_header_timeout() {
    use std::io::Read;
    let flags = ["--server-header-read-timeout-ms", "500", "--server-idle-timeout-ms", "10000"];
    let server = Server::start_with(&flags);
    let address = server.url.trim_start_matches("http://").to_owned();
    let after = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
        let mut answer = [0_u8; 16];
        stream.read_exact(&mut answer).expect("an answer");
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
        // Drain the rest of the answer, idle a while, then begin a head and fall silent.
        closed_within(&mut stream, Duration::from_millis(300));
        stream.write_all(b"GET /health HTTP/1.1\r\nHo").expect("send");
        let started = std::time::Instant::now();
        assert!(closed_within(&mut stream, Duration::from_secs(5)), "never cut off");
        started.elapsed()
    });
    let after = after.await.expect("client");
    assert!(
        after < Duration::from_millis(2_000),
        "cut off after {after:?}, not at the header bound"
    );
}
