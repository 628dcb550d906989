//! A dispatch iteration wedged mid-way (its claim committed, its future never finishing) is
//! abandoned by the supervisor, and every message is still delivered exactly once: the leased rows
//! come back when their lease runs out, and nothing was handed off twice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use resolute_core::command::CreatePromise;
use resolute_core::{Command, KernelConfig, Timestamp};
use resolute_store::{Executed, MemStore, Store, StoreFuture};
use tokio::sync::watch;

use crate::app::App;
use crate::clock::Clock;
use crate::config::ServerConfig;

/// Wall-clock stand-in that follows tokio's (paused) clock, so leases expire in virtual time.
struct TokioClock {
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        Timestamp(1_700_000_000_000 + self.start.elapsed().as_millis() as i64)
    }
}

/// Commits the first claim, then never answers: the iteration that made it is wedged.
struct WedgeFirstClaim {
    inner: MemStore,
    wedged: AtomicBool,
}

impl Store for WedgeFirstClaim {
    fn execute(&self, command: Command, now: Timestamp) -> StoreFuture<'_, Executed> {
        let claim = matches!(command, Command::ClaimMessages { .. });
        let result = self.inner.execute_now(&command, now).map_err(Into::into);
        let wedge = claim && !self.wedged.swap(true, Ordering::SeqCst);
        Box::pin(async move {
            if wedge {
                std::future::pending::<()>().await;
            }
            result
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

fn create(id: &str) -> Command {
    let tags = [("resonate:target".to_owned(), "poll://any@g".to_owned())].into();
    Command::PromiseCreate(CreatePromise {
        id: id.into(),
        timeout_at: Timestamp(i64::MAX),
        param: Default::default(),
        tags,
    })
}

#[tokio::test(start_paused = true)]
async fn a_wedged_pass_loses_nothing_and_sends_nothing_twice() {
    let store = Arc::new(WedgeFirstClaim {
        // Task retries an hour away: only the outbox lease can bring a message back in time.
        inner: MemStore::new(KernelConfig { retry_timeout_ms: 3_600_000 }),
        wedged: AtomicBool::new(false),
    });
    let clock = Arc::new(TokioClock { start: tokio::time::Instant::now() });
    let app = App::new(store.clone(), clock, ServerConfig::default());
    let (_registration, mut deliveries) = app.registry().register("g", "w1").expect("worker");
    for id in ["t1", "t2", "t3"] {
        app.execute(create(id), app.now()).await.expect("create");
    }
    let (_stop, shutdown) = watch::channel(false);
    let _loops = crate::loops::start(&app, shutdown);
    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while received.len() < 3 && tokio::time::Instant::now() < deadline {
        if let Ok(Some(mut delivery)) =
            tokio::time::timeout(Duration::from_secs(1), deliveries.recv()).await
        {
            delivery.mark_written();
            let event: serde_json::Value = serde_json::from_str(&delivery.payload).expect("json");
            let id = event["data"]["task"]["id"].as_str().unwrap_or_default().to_owned();
            *received.entry(id).or_default() += 1;
        }
    }
    let expected: BTreeMap<String, usize> =
        ["t1", "t2", "t3"].iter().map(|id| (id.to_string(), 1)).collect();
    assert_eq!(received, expected, "every message exactly once");
    let dispatcher = app.supervisor().states().into_iter().find(|s| s.spec.name == "dispatcher");
    let overruns = dispatcher.expect("dispatcher loop").overruns.load(Ordering::Relaxed);
    assert_eq!(overruns, 1, "the wedged iteration was abandoned once");
}
