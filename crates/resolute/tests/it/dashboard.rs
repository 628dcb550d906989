//! The operator dashboard: served by the binary itself, and driven in a real headless chromium by
//! `e2e/dashboard/dashboard.test.mjs` (loops, banners, queues, search, detail, token).

use std::time::Duration;

use serde_json::Value;

use crate::harness::{e2e_tool, repo_root, run_e2e_program, Server};

/// The script bounds itself at 60 s; this is the backstop should it ignore its own bound.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// Every file the page loads, with the content type it must come with.
const ASSETS: &[(&str, &str)] = &[
    ("/dashboard/style.css", "text/css"),
    ("/dashboard/app.js", "text/javascript"),
    ("/dashboard/api.js", "text/javascript"),
    ("/dashboard/format.js", "text/javascript"),
    ("/dashboard/health.js", "text/javascript"),
    ("/dashboard/chart.js", "text/javascript"),
    ("/dashboard/search.js", "text/javascript"),
];

async fn get(server: &Server, path: &str) -> (u16, String, String) {
    let url = format!("{}{path}", server.url);
    let response = server.client.get(url).send().await.expect("get");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("body"))
}

#[tokio::test]
async fn dashboard_page_is_served() {
    let server = Server::start_with(&[]);
    let (status, content_type, body) = get(&server, "/dashboard").await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.contains("<title>resolute · dashboard</title>"), "{body}");
    assert!(body.contains(r#"id="banner-red""#) && body.contains(r#"id="banner-amber""#));
    for (path, expected) in ASSETS {
        let (status, content_type, body) = get(&server, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(content_type.starts_with(expected), "{path}: {content_type}");
        assert!(!body.is_empty(), "{path} is empty");
    }
    assert_eq!(get(&server, "/dashboard/missing.js").await.0, 404);
}

/// The fields the dashboard reads from `/health`, beyond those the probe always had.
#[tokio::test]
async fn health_carries_the_dashboard_fields() {
    let server = Server::start_with(&[]);
    let (status, plain) = server.get("/health").await;
    assert_eq!(status, 200, "{plain}");
    let plain: Value = serde_json::from_str(&plain).expect("health JSON");
    assert!(plain["now"].as_i64().is_some(), "{plain}");
    assert_eq!(plain["deliveries"]["delivered"], 0, "{plain}");
    assert_eq!(plain["deliveries"]["failed"], 0, "{plain}");
    assert!(plain["poll"]["groups"].is_array(), "{plain}");
    assert!(plain.get("queues").is_none(), "the plain probe does not read the store: {plain}");
    let (_, detailed) = server.get("/health?queues=1").await;
    let detailed: Value = serde_json::from_str(&detailed).expect("health JSON");
    assert_eq!(detailed["queues"], serde_json::json!([]), "{detailed}");
}

#[tokio::test]
async fn dashboard_in_chromium() {
    let test = "dashboard_in_chromium";
    let suite = repo_root().join("e2e/dashboard");
    let Some(_) = e2e_tool(test, suite.join("node_modules/playwright-core")) else { return };
    let Some(_) = e2e_tool(test, "/usr/bin/chromium".into()) else { return };
    let server = Server::start_with(&["--stuck-after-ms", "500"]);
    let script = suite.join("dashboard.test.mjs");
    let args = [script.to_string_lossy().into_owned(), server.url.clone()];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_e2e_program(test, &suite, std::path::Path::new("node"), &args, BROWSER_TIMEOUT).await;
}
