//! A dispatch iteration wedged mid-way (its claim committed, its future never finishing) is
//! abandoned by the supervisor, and every message is still delivered exactly once: the leased rows
//! come back when their lease runs out, and nothing was handed off twice. A push target that
//! accepts and never answers holds only its own lane, and only until the slot ceiling. Over a
//! slow store, dispatch and timeout passes end inside their deadlines and work keeps moving.

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
pub(crate) struct TokioClock {
    pub(crate) start: tokio::time::Instant,
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

pub(crate) fn create(id: &str) -> Command {
    create_for(id, "poll://any@g")
}

pub(crate) fn create_for(id: &str, target: &str) -> Command {
    let tags = [("resonate:target".to_owned(), target.to_owned())].into();
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

/// Answers every command after `delay`: a store that is slow because it is busy.
struct SlowStore {
    inner: MemStore,
    delay: Duration,
}

impl Store for SlowStore {
    fn execute(&self, command: Command, now: Timestamp) -> StoreFuture<'_, Executed> {
        let result = self.inner.execute_now(&command, now).map_err(Into::into);
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            result
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(start_paused = true)]
async fn a_pass_over_a_slow_store_completes_in_time_and_keeps_going() {
    let store = Arc::new(SlowStore {
        inner: MemStore::new(KernelConfig::default()),
        delay: Duration::from_millis(1_500),
    });
    // Enough due messages for more full rounds than fit in the 30 s deadline: 300 messages in
    // rounds of 16 make 18 full rounds, 54 s at 3 s a round. (Small rounds keep the store small:
    // MemStore copies itself for every command.)
    for n in 0..300 {
        store.inner.execute_now(&create(&format!("s{n}")), Timestamp(1_700_000_000_000)).unwrap();
    }
    let clock = Arc::new(TokioClock { start: tokio::time::Instant::now() });
    let config = ServerConfig { dispatch_batch: 16, ..ServerConfig::default() };
    let app = App::new(store.clone(), clock, config);
    let (_registration, mut deliveries) = app.registry().register("g", "w1").expect("worker");
    let (_stop, shutdown) = watch::channel(false);
    let _loops = crate::loops::start(&app, shutdown);
    let mut received = 0;
    let until = tokio::time::Instant::now() + Duration::from_secs(90);
    while tokio::time::Instant::now() < until {
        if let Ok(Some(mut delivery)) =
            tokio::time::timeout(Duration::from_secs(1), deliveries.recv()).await
        {
            delivery.mark_written();
            received += 1;
        }
    }
    let dispatcher = app.supervisor().states().into_iter().find(|s| s.spec.name == "dispatcher");
    let dispatcher = dispatcher.expect("dispatcher loop");
    assert_eq!(dispatcher.overruns.load(Ordering::Relaxed), 0, "no pass outlived its deadline");
    let report = app.supervisor().reports().into_iter().find(|r| r.name == "dispatcher");
    assert!(!report.expect("report").stale, "the dispatcher kept completing iterations");
    assert!(received > 100, "work kept moving: {received} delivered");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_pass_over_a_slow_store_completes_in_time_and_keeps_going() {
    let store = Arc::new(SlowStore {
        inner: MemStore::new(KernelConfig::default()),
        delay: Duration::from_millis(1_500),
    });
    let t0 = 1_700_000_000_000;
    // Promises timing out together, in far more ticks than fit in one deadline: 600 in ticks of
    // 16 are 38 ticks, 56 s at 1.5 s a tick, against a 30 s deadline.
    for n in 0..600 {
        let create = Command::PromiseCreate(CreatePromise {
            id: format!("t{n}"),
            timeout_at: Timestamp(t0 + 1_000),
            param: Default::default(),
            tags: Default::default(),
        });
        store.inner.execute_now(&create, Timestamp(t0)).unwrap();
    }
    let clock = Arc::new(TokioClock { start: tokio::time::Instant::now() });
    let config = ServerConfig { tick_batch: 16, ..ServerConfig::default() };
    let app = App::new(store.clone(), clock, config);
    let (_stop, shutdown) = watch::channel(false);
    let _loops = crate::loops::start(&app, shutdown);
    tokio::time::sleep(Duration::from_secs(90)).await;
    let timeouts = app.supervisor().states().into_iter().find(|s| s.spec.name == "timeouts");
    let overruns = timeouts.expect("timeouts loop").overruns.load(Ordering::Relaxed);
    assert_eq!(overruns, 0, "no timeout pass outlived its deadline");
    let report = app.supervisor().reports().into_iter().find(|r| r.name == "timeouts");
    assert!(!report.expect("report").stale, "the timeout loop kept completing iterations");
}

/// A push target that accepts connections and never answers: a hung handler holding a slot.
async fn hung_target() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

async fn lane_of(app: &App, id: &str) -> String {
    let key = resolute_core::MessageKey::Execute(id.to_owned());
    match app.execute(Command::OutboxMessage { key }, app.now()).await {
        Ok(resolute_core::Reply::OutboxMessage(Some(message))) => message.lane,
        other => panic!("no message for {id}: {other:?}"),
    }
}

/// F5 (a hung handler holds a slot for ever) and the `dispatch blocked` decision point that used
/// to be silent: the hung target's lane fills, says so once, and gets its slots back at the
/// ceiling; a poll lane dispatched in the same passes is never held up.
#[tokio::test]
async fn a_push_target_that_never_answers_blocks_only_its_lane_until_the_ceiling() {
    let store = Arc::new(MemStore::new(KernelConfig { retry_timeout_ms: 3_600_000 }));
    let clock = Arc::new(crate::clock::SystemClock::default());
    let app = App::new(store, clock, ServerConfig::default());
    let push = crate::dispatch::push::PushConfig {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(3_600),
        ..Default::default()
    };
    let ceiling = Duration::from_millis(800);
    let config = crate::dispatch::DispatchConfig {
        push_slots_per_lane: 2,
        push,
        park: Duration::from_millis(50),
        slot_ceiling: ceiling,
        ..Default::default()
    };
    let dispatcher = crate::dispatch::Dispatcher::new(app.clone(), config);
    let (_registration, mut deliveries) = app.registry().register("g", "w1").expect("worker");
    let hung = hung_target().await;
    for index in 0..5 {
        app.execute(create_for(&format!("hung.{index}"), &hung), app.now()).await.expect("create");
    }
    app.execute(create("polled"), app.now()).await.expect("create");
    let lane = lane_of(&app, "hung.0").await;
    let started = tokio::time::Instant::now();
    dispatcher.clone().pass().await;
    let polled = tokio::time::timeout(Duration::from_secs(2), deliveries.recv()).await;
    polled.expect("the poll lane is not held up").expect("delivery").mark_written();
    assert_eq!(dispatcher.blockage(&lane, &hung), Some("lane full"));
    assert_eq!(dispatcher.blockage("poll:g", "poll://any@g"), None, "only the hung lane");
    while started.elapsed() < ceiling / 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        dispatcher.clone().pass().await;
    }
    let metrics = app.metrics();
    assert_eq!(metrics.lane_episodes("blocked"), 1, "`dispatch blocked` once per episode");
    assert_eq!(metrics.slots_reclaimed.get(), 0, "no reclaim before the ceiling");
    tokio::time::sleep((ceiling + Duration::from_millis(200)).saturating_sub(started.elapsed()))
        .await;
    dispatcher.clone().pass().await;
    assert_eq!(metrics.slots_reclaimed.get(), 2, "both hung slots reclaimed at the ceiling");
    assert_eq!(metrics.lane_episodes("blocked"), 1, "a lane that keeps failing is throttled");
}
