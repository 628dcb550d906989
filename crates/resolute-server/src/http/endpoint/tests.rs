//! The RPC endpoint keeps its limits: requests in flight, the deadline, the body size, panics.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use resolute_core::{Command, KernelConfig, Timestamp};
use resolute_store::{Executed, MemStore, Store, StoreFuture};

use super::RpcEndpoint;
use crate::app::App;
use crate::config::ServerConfig;
use crate::SystemClock;

/// A store that never answers a get of `hang`, panics on a get of `boom`, and is a `MemStore`
/// otherwise.
struct TrickyStore(MemStore);

impl Store for TrickyStore {
    fn execute(&self, command: Command, now: Timestamp) -> StoreFuture<'_, Executed> {
        match &command {
            Command::PromiseGet { id } if id == "hang" => Box::pin(std::future::pending()),
            Command::PromiseGet { id } if id == "boom" => panic!("injected store panic"),
            _ => self.0.execute(command, now),
        }
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

fn endpoint(config: ServerConfig) -> Arc<RpcEndpoint> {
    let store = Arc::new(TrickyStore(MemStore::new(KernelConfig::default())));
    RpcEndpoint::new(App::new(store, Arc::new(SystemClock::default()), config))
}

fn get(id: &str) -> Request<Body> {
    let body = serde_json::json!({
        "kind": "promise.get",
        "head": {"corrId": "c1", "version": "2026-04-01"},
        "data": {"id": id},
    });
    Request::post("/").body(Body::from(body.to_string())).unwrap()
}

async fn answer(endpoint: &Arc<RpcEndpoint>, request: Request<Body>) -> (StatusCode, String) {
    let response = endpoint.clone().serve(request).await;
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn a_request_past_the_in_flight_ceiling_is_shed_with_a_503_envelope() {
    let endpoint = endpoint(ServerConfig { rpc_in_flight_max: 1, ..ServerConfig::default() });
    let hung = tokio::spawn({
        let endpoint = endpoint.clone();
        async move { endpoint.serve(get("hang")).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, body) = answer(&endpoint, get("other")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let envelope: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(envelope["head"]["status"], 503);
    assert!(envelope["data"].as_str().unwrap().contains("too many requests"), "{body}");
    hung.abort();
    let _ = hung.await;
    // The aborted request gave its place back.
    assert_eq!(answer(&endpoint, get("other")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_request_past_its_deadline_gets_a_503_envelope() {
    let config = ServerConfig { rpc_timeout: Duration::from_millis(50), ..ServerConfig::default() };
    let (status, body) = answer(&endpoint(config), get("hang")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("Request timed out"), "{body}");
}

#[tokio::test]
async fn an_oversize_body_gets_the_reference_plain_text_413() {
    let endpoint = endpoint(ServerConfig { body_limit_bytes: 200, ..ServerConfig::default() });
    let request = Request::post("/").body(Body::from(vec![b' '; 201])).unwrap();
    let (status, body) = answer(&endpoint, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, "Failed to buffer the request body: length limit exceeded");
    assert_eq!(answer(&endpoint, get("small")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_panic_is_a_500_envelope_for_that_request_only() {
    let endpoint = endpoint(ServerConfig::default());
    let (status, body) = answer(&endpoint, get("boom")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("injected store panic"), "{body}");
    assert_eq!(answer(&endpoint, get("after")).await.0, StatusCode::NOT_FOUND);
}
