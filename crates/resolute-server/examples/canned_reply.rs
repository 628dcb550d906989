//! A measuring stick, not a server: answers every HTTP request with the same `promise.create`
//! reply, storing nothing. `cargo xtask bench --scenario ceiling` runs loadgen against it and
//! against resolute in turns, so the share of the two cores that the load generator and the
//! HTTP layer take on their own is measured in the same minutes as resolute itself.
//!
//! Usage: `canned_reply PORT [pool]` (binds 127.0.0.1 only).

use std::convert::Infallible;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// About the size and shape of resolute's answer to loadgen's create.
const REPLY: &str = r#"{"data":{"promise":{"createdAt":1764752000000,"id":"lg-1-p12345","param":{},"state":"pending","tags":{},"timeoutAt":1764755600000,"value":{}}},"head":{"corrId":"lg-12345","status":200,"version":"2026-04-01"},"kind":"promise.create"}"#;

async fn answer(
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    // The body is read, as a real server must, before the canned reply goes out.
    let _ = request.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(REPLY.as_bytes())));
    response.headers_mut().insert("content-type", "application/json".parse().expect("valid"));
    Ok(response)
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|port| port.parse().ok()).unwrap_or(18_937);
    // The runtime `resolute serve` runs by default (one thread), so that the two differ only in
    // what they do per request. `canned_reply PORT pool` runs one worker per core instead.
    let pool = std::env::args().nth(2).is_some_and(|shape| shape == "pool");
    let mut builder = match pool {
        true => tokio::runtime::Builder::new_multi_thread(),
        false => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = builder.enable_all().build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let served = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
                drop(served);
            });
        }
    })
}
