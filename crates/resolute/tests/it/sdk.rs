//! The official SDKs, both generations each, run end to end against a real server.
//!
//! Each test starts a server and runs one program from `e2e/sdk-ts` or `e2e/sdk-python` with the
//! server's URL: a poll worker plus a client that invokes a plain function, a function with
//! children and a durably sleeping function, and exits 0 only if every result is right.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{e2e_tool, repo_root, run_e2e_program, Server};

/// The programs bound themselves at 60 s; this is the backstop should one ignore its own bound.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn sdk_ts_0_11_4() {
    run_ts("sdk_ts_0_11_4", "sdk-0.11.4", Node::Machine).await;
}

#[tokio::test]
async fn sdk_ts_0_11_5() {
    run_ts("sdk_ts_0_11_5", "sdk-0.11.5", Node::Machine).await;
}

#[tokio::test]
async fn sdk_ts_0_11_4_on_node_22() {
    run_ts("sdk_ts_0_11_4_on_node_22", "sdk-0.11.4", Node::Installed22).await;
}

#[tokio::test]
async fn sdk_ts_0_11_5_on_node_22() {
    run_ts("sdk_ts_0_11_5_on_node_22", "sdk-0.11.5", Node::Installed22).await;
}

#[tokio::test]
async fn sdk_python_0_7() {
    run_python("sdk_python_0_7", "0.7").await;
}

#[tokio::test]
async fn sdk_python_0_8() {
    run_python("sdk_python_0_8", "0.8").await;
}

/// Which Node runs a TypeScript suite. The SDKs declare `node >= 22`; `e2e/sdk-ts` installs one
/// from the npm registry, so the suites run on the engine users run as well as on the machine's
/// Node 20 (with the polyfill in `sdk.mjs`).
enum Node {
    Machine,
    Installed22,
}

/// Runs `e2e/sdk-ts/sdk.mjs` with the SDK installed under the npm alias `alias`.
async fn run_ts(test: &str, alias: &str, node: Node) {
    let suite = repo_root().join("e2e/sdk-ts");
    let node = match node {
        Node::Machine => PathBuf::from("node"),
        Node::Installed22 => {
            let Some(node) = e2e_tool(test, suite.join("node_modules/node/bin/node")) else {
                return;
            };
            node
        }
    };
    let Some(_) = e2e_tool(test, suite.join("node_modules").join(alias)) else { return };
    let program = suite.join("sdk.mjs");
    run_program(test, &suite, &node, &[program.to_string_lossy().as_ref(), alias]).await;
}

/// Runs `e2e/sdk-python/sdk.py` in the venv `cargo xtask test` made for `requirements-<tag>.txt`.
async fn run_python(test: &str, tag: &str) {
    let venv = repo_root().join(format!("target/e2e-venv/sdk-python-{tag}"));
    let Some(python) = e2e_tool(test, venv.join("bin/python")) else { return };
    let suite = repo_root().join("e2e/sdk-python");
    let program = suite.join("sdk.py");
    run_program(test, &suite, &python, &[program.to_string_lossy().as_ref()]).await;
}

/// Starts a server and runs `command args… URL` in `dir`; it must exit 0.
async fn run_program(test: &str, dir: &Path, command: &Path, args: &[&str]) {
    let server = Server::start_with(&[]);
    let mut args: Vec<&str> = args.to_vec();
    args.push(&server.url);
    run_e2e_program(test, dir, command, &args, PROGRAM_TIMEOUT).await;
}
