//! `https://` push over real TLS on loopback: a target whose certificate chains to a CA given
//! with `--transports-http-push-ca-file` gets its executes; one whose certificate nothing vouches
//! for gets none (certificates are always verified, failures are retried), and a CA file that
//! holds no certificate stops the server at start with the reason.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::harness::Server;

const FAR: i64 = 4_000_000_000_000;

/// A self-signed certificate for 127.0.0.1 and its PEM, written to a file the server can read.
struct Identity {
    certificate: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
    pem_file: tempfile::NamedTempFile,
}

fn identity() -> Identity {
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let generated = rcgen::generate_simple_self_signed(names).expect("certificate");
    let pem_file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(pem_file.path(), generated.cert.pem()).expect("write pem");
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der());
    Identity { certificate: generated.cert.der().clone(), key: key.into(), pem_file }
}

/// An HTTPS receiver on loopback: every POST body it gets is sent on the channel, answered 200.
async fn https_receiver(identity: &Identity) -> (String, mpsc::Receiver<Value>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![identity.certificate.clone()], identity.key.clone_key())
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (sender, received) = mpsc::channel(64);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, sender) = (acceptor.clone(), sender.clone());
            tokio::spawn(async move {
                if let Ok(Ok(stream)) =
                    tokio::time::timeout(Duration::from_secs(5), acceptor.accept(tcp)).await
                {
                    let _ = serve_posts(stream, sender).await;
                }
            });
        }
    });
    (format!("https://127.0.0.1:{port}/hook"), received)
}

/// Minimal HTTP/1.1 over the TLS stream: reads each request's head and `content-length` body,
/// answers 200, and keeps the connection for the next request (the server's client pools it).
async fn serve_posts(
    mut stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    sender: mpsc::Sender<Value>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            let read = stream.read(&mut chunk).await?;
            if read == 0 || buffer.len() > 64 * 1024 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..read]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
        let body: Vec<u8> = buffer.drain(..head_end + length).skip(head_end).collect();
        let _ = sender.send(serde_json::from_slice(&body).unwrap_or(Value::Null)).await;
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await?;
    }
}

async fn create_for(server: &Server, id: &str, target: &str) {
    let data = json!({"id": id, "timeoutAt": FAR, "tags": {"resonate:target": target}});
    let (status, body) = server.rpc("promise.create", data).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_https_target_with_a_trusted_certificate_gets_its_executes() {
    let identity = identity();
    let (url, mut received) = https_receiver(&identity).await;
    let ca_file = identity.pem_file.path().to_str().expect("utf-8 path").to_owned();
    let server = Server::start_with(&["--transports-http-push-ca-file", &ca_file]);
    for index in 0..3 {
        create_for(&server, &format!("secure.{index}"), &url).await;
    }
    let mut ids = Vec::new();
    for _ in 0..3 {
        let message = tokio::time::timeout(Duration::from_secs(10), received.recv())
            .await
            .expect("an execute over TLS within 10 s")
            .expect("receiver open");
        assert_eq!(message["kind"], "execute");
        ids.push(message["data"]["task"]["id"].as_str().expect("task id").to_owned());
    }
    ids.sort();
    assert_eq!(ids, ["secure.0", "secure.1", "secure.2"]);
}

#[tokio::test]
async fn an_https_target_nothing_vouches_for_gets_nothing() {
    let identity = identity();
    let (url, mut received) = https_receiver(&identity).await;
    let server = Server::start_with(&[]);
    create_for(&server, "untrusted", &url).await;
    let got = tokio::time::timeout(Duration::from_secs(2), received.recv()).await;
    assert!(got.is_err(), "a self-signed certificate was accepted: {got:?}");
}

#[test]
fn a_ca_file_without_certificates_stops_the_start_with_the_reason() {
    let empty = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(empty.path(), "not a certificate\n").expect("write");
    let ca_file = empty.path().to_str().expect("utf-8 path");
    let stderr = crate::harness::failed_start(&["--transports-http-push-ca-file", ca_file]);
    assert!(stderr.contains("no certificate"), "{stderr}");
}
