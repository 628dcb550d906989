//! The answer a connection gets when the listener is at its connection limit: a `503` in the
//! RPC envelope (SDKs retry it with back-off), then a lingering close so the client reads it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest the 503 may take to write; a client that does not read it loses it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the request is drained after the answer. Closing with unread bytes makes the kernel
/// send a reset, which can destroy the 503 before the client has read it.
const LINGER: Duration = Duration::from_secs(1);
/// Bytes drained at most before closing anyway.
const LINGER_BYTES_MAX: usize = 64 * 1024;

/// Writes the 503 and closes `stream`; every step is bounded.
pub async fn reject(mut stream: TcpStream) {
    let body = serde_json::json!({
        "kind": "unknown",
        "head": {"corrId": "0", "status": 503, "version": "2026-04-01"},
        "data": "Server busy: too many open connections; retry shortly",
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let written = tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        return;
    }
    let _ = tokio::time::timeout(LINGER, async {
        let mut buffer = [0_u8; 4096];
        let mut drained = 0;
        while drained < LINGER_BYTES_MAX {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => drained += read,
            }
        }
    })
    .await;
}
