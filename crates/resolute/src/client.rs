//! Client subcommands: talk the protocol to a running server and print what it says.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

/// Where the server is and how to authenticate, like Resonate's CLI.
#[derive(Debug, Args)]
pub struct Connection {
    /// Server URL.
    #[arg(
        short = 'S',
        long = "server",
        env = "RESONATE_SERVER",
        default_value = "http://localhost:8001"
    )]
    pub server: String,
    /// Bearer token (sent in `head.auth`).
    #[arg(short = 'T', long = "token", env = "RESONATE_TOKEN")]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PromiseCommand {
    Get {
        id: String,
        #[command(flatten)]
        connection: Connection,
    },
    Create {
        id: String,
        /// Time until the promise times out (e.g. `1h`, `30s`).
        #[arg(long, default_value = "1h")]
        timeout: humantime::Duration,
        /// Param data (JSON; sent base64-encoded like the SDKs do).
        #[arg(long)]
        data: Option<String>,
        /// A tag, `key=value` (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Shorthand for `--tag resonate:target=ADDRESS`.
        #[arg(long)]
        target: Option<String>,
        #[command(flatten)]
        connection: Connection,
    },
    Settle {
        id: String,
        /// resolved, rejected or rejected_canceled.
        #[arg(long, default_value = "resolved")]
        state: String,
        /// Value data (JSON; sent base64-encoded).
        #[arg(long)]
        data: Option<String>,
        #[command(flatten)]
        connection: Connection,
    },
    Search {
        #[arg(long)]
        state: Option<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Follow the cursor through every page (progress on stderr), not just the first.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        connection: Connection,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    Get {
        id: String,
        #[command(flatten)]
        connection: Connection,
    },
    Search {
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Follow the cursor through every page (progress on stderr), not just the first.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        connection: Connection,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    Create {
        id: String,
        #[arg(long)]
        cron: String,
        /// Promise id template (`{{.id}}`, `{{.timestamp}}`).
        #[arg(long, default_value = "{{.id}}.{{.timestamp}}")]
        promise_id: String,
        #[arg(long, default_value = "1h")]
        promise_timeout: humantime::Duration,
        /// Where the scheduled promises are executed.
        #[arg(long)]
        target: String,
        #[command(flatten)]
        connection: Connection,
    },
    Get {
        id: String,
        #[command(flatten)]
        connection: Connection,
    },
    Delete {
        id: String,
        #[command(flatten)]
        connection: Connection,
    },
    Search {
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long, default_value_t = 10)]
        limit: u32,
        /// Follow the cursor through every page (progress on stderr), not just the first.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        connection: Connection,
    },
}

/// A client request: which kind, which data.
pub struct Request<'a> {
    pub connection: &'a Connection,
    pub kind: &'static str,
    pub data: Value,
}

/// Sends one envelope; prints the answer's data; fails on a non-2xx status.
pub async fn call(request: Request<'_>) -> anyhow::Result<()> {
    let (status, body) = send(&request).await?;
    println!("{}", serde_json::to_string_pretty(&body["data"])?);
    if !status.is_success() && status.as_u16() != 300 {
        bail!("{} answered {status}", request.kind);
    }
    Ok(())
}

/// Sends one envelope and returns the status and the whole answer.
async fn send(request: &Request<'_>) -> anyhow::Result<(reqwest::StatusCode, Value)> {
    let mut head = json!({"corrId": "cli", "version": "2026-04-01"});
    if let Some(token) = &request.connection.token {
        head["auth"] = json!(token);
    }
    let envelope = json!({"kind": request.kind, "head": head, "data": request.data});
    let url = request.connection.server.trim_end_matches('/').to_owned() + "/";
    let response = http()?
        .post(&url)
        .body(envelope.to_string())
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body: Value = response.json().await.context("the server's answer is not JSON")?;
    Ok((status, body))
}

/// Pages followed by `--all` at most: a million records at the largest page size.
const SEARCH_PAGES_MAX: usize = 1_000;

/// A search through every page (`cursor` after `cursor`), with progress on stderr; prints all the
/// records found as one answer, `{field: [...]}`.
pub async fn search_all(request: Request<'_>, field: &str) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    let terminal = std::io::stderr().is_terminal();
    let mut records = Vec::new();
    let mut data = request.data.clone();
    for page in 1..=SEARCH_PAGES_MAX {
        let (status, body) = send(&Request { data: data.clone(), ..request }).await?;
        if !status.is_success() {
            println!("{}", serde_json::to_string_pretty(&body["data"])?);
            bail!("{} answered {status} on page {page}", request.kind);
        }
        records.extend(body["data"][field].as_array().cloned().unwrap_or_default());
        let cursor = body["data"]["cursor"].as_str().map(str::to_owned);
        let more = if cursor.is_some() { "…" } else { ", done" };
        let line = format!("{}: {} {field} in {page} pages{more}", request.kind, records.len());
        if terminal {
            eprint!("\r{line}");
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{line}");
        }
        match cursor {
            Some(cursor) => data["cursor"] = json!(cursor),
            None => break,
        }
    }
    if terminal {
        eprintln!();
    }
    println!("{}", serde_json::to_string_pretty(&json!({ field: records }))?);
    Ok(())
}

pub fn http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?)
}

/// `key=value` pairs into a tag map.
pub fn tags(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
            None => bail!("tag {pair:?} is not key=value"),
        })
        .collect()
}

/// `{"data": base64(json)}`, the convention of the SDKs; `{}` without data.
pub fn value(data: &Option<String>) -> anyhow::Result<Value> {
    let Some(data) = data else {
        return Ok(json!({}));
    };
    serde_json::from_str::<Value>(data).with_context(|| format!("--data is not JSON: {data}"))?;
    Ok(json!({ "data": base64(data.as_bytes()) }))
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b"{\"n\":1}"), "eyJuIjoxfQ==");
        assert_eq!(base64(b"true"), "dHJ1ZQ==");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn tags_need_key_value_pairs() {
        assert_eq!(tags(&["a=b".into()]).unwrap().get("a").map(String::as_str), Some("b"));
        assert!(tags(&["nope".into()]).is_err());
    }
}
