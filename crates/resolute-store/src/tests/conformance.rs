//! One conformance suite, run against every backend: what each `Write` does and what each `Txn`
//! read promises (filter, order, bound): MemStore, SQLite (memory and file) and PostgreSQL.

use resolute_core::command::{DueFilter, Page, PromiseQuery, ScheduleQuery, TaskQuery};
use resolute_core::txn::TxnResult;
use resolute_core::{
    Callback, Listener, MessageBody, MessageKey, Promise, PromiseState, Schedule, Task, TaskState,
    TaskTimer, TimerKind, Timestamp, Txn, TxnError, TxnErrorKind, Value, Write,
};

use crate::MemStore;

/// A backend under test: runs a closure in one transaction, kept only on success.
trait Backend {
    fn run(&self, f: &mut dyn FnMut(&mut dyn Txn) -> TxnResult<()>) -> TxnResult<()>;
}

impl Backend for MemStore {
    fn run(&self, f: &mut dyn FnMut(&mut dyn Txn) -> TxnResult<()>) -> TxnResult<()> {
        self.transaction(|txn| f(txn))
    }
}

impl Backend for rusqlite::Connection {
    fn run(&self, f: &mut dyn FnMut(&mut dyn Txn) -> TxnResult<()>) -> TxnResult<()> {
        crate::sqlite::with_txn(self, |txn| f(txn))
    }
}

#[cfg(feature = "postgres")]
impl Backend for std::cell::RefCell<postgres::Client> {
    fn run(&self, f: &mut dyn FnMut(&mut dyn Txn) -> TxnResult<()>) -> TxnResult<()> {
        crate::postgres::with_txn(&mut self.borrow_mut(), |txn| f(txn))
    }
}

/// A fresh database on the test cluster, when PostgreSQL is installed. Under `RESOLUTE_E2E=1`
/// (`cargo xtask test`, CI) a missing PostgreSQL fails the suite instead of skipping it.
#[cfg(feature = "postgres")]
fn postgres_backend() -> Option<Box<dyn Backend>> {
    let required = std::env::var("RESOLUTE_E2E").is_ok_and(|value| value == "1");
    let cluster = match resolute_testpg::PgCluster::shared() {
        Ok(cluster) => cluster,
        Err(error) if !required => {
            eprintln!("SKIPPED the PostgreSQL backend: {error}");
            return None;
        }
        Err(error) => panic!("PostgreSQL test cluster: {error}"),
    };
    let url = cluster.fresh_database().expect("fresh database");
    let client = crate::postgres::open_client(&url).expect("postgres connection");
    Some(Box::new(std::cell::RefCell::new(client)))
}

#[cfg(not(feature = "postgres"))]
fn postgres_backend() -> Option<Box<dyn Backend>> {
    None
}

/// Every backend, fresh. SQLite runs both in memory and on a file.
fn backends() -> Vec<(&'static str, Box<dyn Backend>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = crate::sqlite::open_connection(&dir.path().join("c.db"), Default::default())
        .expect("sqlite file");
    let memory =
        crate::sqlite::open_connection(std::path::Path::new(":memory:"), Default::default())
            .expect("sqlite");
    let mut backends: Vec<(&'static str, Box<dyn Backend>, Option<tempfile::TempDir>)> = vec![
        ("mem", Box::new(MemStore::default()), None),
        ("sqlite-memory", Box::new(memory), None),
        ("sqlite-file", Box::new(file), Some(dir)),
    ];
    backends.extend(postgres_backend().map(|backend| ("postgres", backend, None)));
    backends
}

fn each(check: impl Fn(&str, &dyn Backend)) {
    for (name, backend, _dir) in backends() {
        check(name, backend.as_ref());
    }
}

fn promise(id: &str, timeout_at: i64, tags: &[(&str, &str)]) -> Promise {
    Promise {
        id: id.into(),
        state: PromiseState::Pending,
        param: Value {
            headers: Some([("h".into(), "v".into())].into()),
            data: Some("ZA==".into()),
        },
        value: Value::default(),
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        timeout_at: Timestamp(timeout_at),
        created_at: Timestamp(1),
        settled_at: None,
    }
}

fn task(id: &str, state: TaskState, timer: Option<(TimerKind, i64)>) -> Task {
    let timer = timer.map(|(kind, at)| match kind {
        TimerKind::Lease => TaskTimer::lease("w", 5, Timestamp(at - 5)),
        TimerKind::Retry => TaskTimer::retry(Timestamp(at), 5),
    });
    Task { id: id.into(), state, version: 3, timer, resumes: 0 }
}

fn write_all(backend: &dyn Backend, writes: Vec<Write>) {
    let mut writes = Some(writes);
    backend
        .run(&mut |txn| {
            for write in writes.take().unwrap_or_default() {
                txn.write(write)?;
            }
            Ok(())
        })
        .expect("writes");
}

fn read<T>(backend: &dyn Backend, f: impl Fn(&dyn Txn) -> TxnResult<T>) -> T {
    let mut out = None;
    backend
        .run(&mut |txn| {
            out = Some(f(txn)?);
            Ok(())
        })
        .expect("read");
    out.expect("read ran")
}

#[test]
fn promises_round_trip_and_settle() {
    each(|name, backend| {
        let stored = promise("p", 10, &[("resonate:branch", "b"), ("k", "v")]);
        write_all(backend, vec![Write::InsertPromise(stored.clone())]);
        assert_eq!(read(backend, |t| t.promise("p")), Some(stored.clone()), "{name}");
        let value = Value { headers: None, data: Some("eQ==".into()) };
        write_all(
            backend,
            vec![Write::SettlePromise {
                id: "p".into(),
                state: PromiseState::Resolved,
                value: value.clone(),
                settled_at: Timestamp(7),
            }],
        );
        let settled = read(backend, |t| t.promise("p")).unwrap();
        assert_eq!(
            (settled.state, settled.value, settled.settled_at),
            (PromiseState::Resolved, value, Some(Timestamp(7))),
            "{name}"
        );
        assert_eq!(read(backend, |t| t.branch_promises("b")).len(), 1, "{name}");
        assert_eq!(read(backend, |t| t.promise("nope")), None, "{name}");
    });
}

#[test]
fn expired_promises_are_pending_ordered_and_bounded() {
    each(|name, backend| {
        let mut settled = promise("s", 1, &[]);
        settled.state = PromiseState::Resolved;
        write_all(
            backend,
            vec![
                Write::InsertPromise(promise("c", 5, &[])),
                Write::InsertPromise(promise("b", 5, &[])),
                Write::InsertPromise(promise("a", 9, &[])),
                Write::InsertPromise(promise("late", 50, &[])),
                Write::InsertPromise(settled),
            ],
        );
        let ids = |limit| {
            read(backend, |t| t.expired_promises(Timestamp(10), limit))
                .into_iter()
                .map(|p| p.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(10), vec!["b", "c", "a"], "{name}");
        assert_eq!(ids(2), vec!["b", "c"], "{name}");
    });
}

#[test]
fn tasks_carry_their_timer_and_count_ready_callbacks() {
    each(|name, backend| {
        write_all(
            backend,
            vec![
                Write::InsertTask(task("t1", TaskState::Pending, Some((TimerKind::Retry, 5)))),
                Write::InsertTask(task("t2", TaskState::Acquired, Some((TimerKind::Lease, 3)))),
                Write::InsertTask(task("t3", TaskState::Pending, Some((TimerKind::Retry, 99)))),
                Write::InsertCallback { awaited: "x".into(), awaiter: "t1".into(), ready: true },
                Write::InsertCallback { awaited: "y".into(), awaiter: "t1".into(), ready: false },
                Write::InsertCallback { awaited: "y".into(), awaiter: "t1".into(), ready: true },
            ],
        );
        assert_eq!(
            read(backend, |t| t.task("t1")).unwrap().resumes,
            1,
            "{name}: insert keeps the existing pair"
        );
        let due = read(backend, |t| t.due_tasks(TimerKind::Retry, Timestamp(10), 10));
        assert_eq!(due.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), vec!["t1"], "{name}");
        let lease = read(backend, |t| t.due_tasks(TimerKind::Lease, Timestamp(10), 10));
        assert_eq!(lease[0].timer.as_ref().unwrap().pid.as_deref(), Some("w"), "{name}");
        write_all(backend, vec![Write::MarkCallbacksReady { awaited: "y".into() }]);
        assert_eq!(read(backend, |t| t.task("t1")).unwrap().resumes, 2, "{name}");
        write_all(backend, vec![Write::DeleteReadyCallbacks { awaiter: "t1".into() }]);
        assert_eq!(read(backend, |t| t.task("t1")).unwrap().resumes, 0, "{name}");
        write_all(
            backend,
            vec![
                Write::InsertCallback { awaited: "z".into(), awaiter: "t1".into(), ready: false },
                Write::UpdateTask {
                    id: "t1".into(),
                    state: TaskState::Suspended,
                    version: 4,
                    timer: None,
                },
            ],
        );
        let t1 = read(backend, |t| t.task("t1")).unwrap();
        assert_eq!((t1.state, t1.version, t1.timer), (TaskState::Suspended, 4, None), "{name}");
        assert_eq!(read(backend, |t| t.callbacks_on("z")).len(), 1, "{name}");
        write_all(backend, vec![Write::DeleteCallbacksOfAwaiter { awaiter: "t1".into() }]);
        assert!(read(backend, |t| t.callbacks_on("z")).is_empty(), "{name}");
    });
}

#[test]
fn a_lease_keeps_its_start_and_records_progress() {
    each(|name, backend| {
        let lease = TaskTimer::lease("w", 1_000, Timestamp(100));
        let acquired = Task {
            id: "t".into(),
            state: TaskState::Acquired,
            version: 1,
            timer: Some(lease.clone()),
            resumes: 0,
        };
        write_all(backend, vec![Write::InsertTask(acquired)]);
        let timer = read(backend, |t| t.task("t")).unwrap().timer.unwrap();
        assert_eq!(
            (timer.started_at, timer.progress_at),
            (Some(Timestamp(100)), Some(Timestamp(100))),
            "{name}"
        );
        let update = |timer| Write::UpdateTask {
            id: "t".into(),
            state: TaskState::Acquired,
            version: 1,
            timer: Some(timer),
        };
        write_all(backend, vec![update(lease.renewed(Timestamp(700)))]);
        let timer = read(backend, |t| t.task("t")).unwrap().timer.unwrap();
        assert_eq!(timer, lease.renewed(Timestamp(700)), "{name}: a heartbeat round-trips");
        assert_eq!(
            (timer.started_at, timer.progress_at, timer.at),
            (Some(Timestamp(100)), Some(Timestamp(700)), Timestamp(1_700)),
            "{name}"
        );
        write_all(backend, vec![update(TaskTimer::retry(Timestamp(9), 5))]);
        let timer = read(backend, |t| t.task("t")).unwrap().timer.unwrap();
        assert_eq!((timer.started_at, timer.progress_at), (None, None), "{name}: a retry has none");
    });
}

#[test]
fn listeners_are_a_set_per_promise() {
    each(|name, backend| {
        write_all(
            backend,
            vec![
                Write::InsertListener { promise_id: "p".into(), address: "b".into() },
                Write::InsertListener { promise_id: "p".into(), address: "a".into() },
                Write::InsertListener { promise_id: "p".into(), address: "a".into() },
                Write::InsertListener { promise_id: "q".into(), address: "a".into() },
            ],
        );
        assert_eq!(read(backend, |t| t.listeners("p")), vec!["a", "b"], "{name}");
        write_all(backend, vec![Write::DeleteListeners { promise_id: "p".into() }]);
        assert!(read(backend, |t| t.listeners("p")).is_empty(), "{name}");
        assert_eq!(read(backend, |t| t.listeners("q")).len(), 1, "{name}");
    });
}

fn execute_key(id: &str) -> MessageKey {
    MessageKey::Execute(id.into())
}

#[test]
fn executes_upsert_per_task_and_unblocks_insert_once() {
    each(|name, backend| {
        let put = |version, due| Write::PutExecute {
            task_id: "t".into(),
            version,
            address: "poll://any@g".into(),
            lane: "poll:g".into(),
            due_at: Timestamp(due),
        };
        write_all(
            backend,
            vec![
                put(0, 5),
                Write::LeaseMessage { key: execute_key("t"), due_at: Timestamp(50), attempts: 1 },
            ],
        );
        let leased = read(backend, |t| t.message(&execute_key("t"))).unwrap();
        assert_eq!(
            (leased.leased, leased.attempts, leased.due_at),
            (true, 1, Timestamp(50)),
            "{name}"
        );
        write_all(backend, vec![put(1, 6)]);
        let replaced = read(backend, |t| t.message(&execute_key("t"))).unwrap();
        assert_eq!(
            replaced.body,
            MessageBody::Execute { task_id: "t".into(), version: 1 },
            "{name}"
        );
        assert_eq!(
            (replaced.leased, replaced.attempts, replaced.due_at),
            (false, 0, Timestamp(6)),
            "{name}"
        );
        let unblock = |due| Write::PutUnblock {
            promise_id: "p".into(),
            address: "poll://uni@c/1".into(),
            lane: "poll:c/1".into(),
            due_at: Timestamp(due),
        };
        write_all(backend, vec![unblock(3), unblock(9)]);
        let key = MessageKey::Unblock("p".into(), "poll://uni@c/1".into());
        assert_eq!(read(backend, |t| t.message(&key)).unwrap().due_at, Timestamp(3), "{name}");
        write_all(backend, vec![Write::DeleteMessage { key: key.clone() }]);
        assert_eq!(read(backend, |t| t.message(&key)), None, "{name}");
    });
}

#[test]
fn due_messages_are_ordered_parked_and_woken_by_lane() {
    each(|name, backend| {
        let put = |id: &str, lane: &str, due| Write::PutExecute {
            task_id: id.into(),
            version: 0,
            address: format!("poll://any@{lane}"),
            lane: lane.into(),
            due_at: Timestamp(due),
        };
        write_all(
            backend,
            vec![put("b", "l1", 2), put("a", "l1", 2), put("c", "l2", 1), put("d", "l2", 30)],
        );
        let due = |now, limit| {
            read(backend, |t| t.due_messages(Timestamp(now), limit, &DueFilter::All))
                .into_iter()
                .map(|m| m.key())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            due(10, 10),
            vec![execute_key("c"), execute_key("a"), execute_key("b")],
            "{name}"
        );
        assert_eq!(due(10, 1), vec![execute_key("c")], "{name}");
        write_all(
            backend,
            vec![
                Write::DelayMessage { key: execute_key("a"), due_at: Timestamp(100) },
                Write::LeaseMessage { key: execute_key("b"), due_at: Timestamp(100), attempts: 1 },
                Write::WakeLanes { lanes: vec!["l1".into()], now: Timestamp(10) },
            ],
        );
        assert_eq!(
            due(10, 10),
            vec![execute_key("c"), execute_key("a")],
            "{name}: leased rows stay leased"
        );
        write_all(backend, vec![Write::ReleaseLeases { now: Timestamp(11) }]);
        let released = read(backend, |t| t.message(&execute_key("b"))).unwrap();
        assert_eq!(
            (released.leased, released.due_at, released.attempts),
            (false, Timestamp(11), 1),
            "{name}"
        );
    });
}

#[test]
fn due_messages_of_poll_lanes_a_node_cannot_serve_are_left_out() {
    each(|name, backend| {
        let put = |id: &str, address: &str, lane: &str| Write::PutExecute {
            task_id: id.into(),
            version: 0,
            address: address.into(),
            lane: lane.into(),
            due_at: Timestamp(1),
        };
        write_all(
            backend,
            vec![
                put("a", "poll://any@mine", "poll:mine"),
                put("b", "poll://any@theirs", "poll:theirs"),
                put("c", "http://h/x", "http:http://h"),
                put("d", "poll://uni@mine/w1", "poll:mine/w1"),
            ],
        );
        let due = |lanes: DueFilter| {
            let found = read(backend, |t| t.due_messages(Timestamp(5), 10, &lanes));
            found.into_iter().map(|m| m.key()).collect::<Vec<_>>()
        };
        let all = vec![execute_key("a"), execute_key("b"), execute_key("c"), execute_key("d")];
        assert_eq!(due(DueFilter::All), all, "{name}");
        let served = DueFilter::PollLanesOnly(vec!["poll:mine".into(), "poll:mine/w1".into()]);
        assert_eq!(
            due(served),
            vec![execute_key("a"), execute_key("c"), execute_key("d")],
            "{name}"
        );
        assert_eq!(due(DueFilter::PollLanesOnly(vec![])), vec![execute_key("c")], "{name}");
    });
}

#[test]
fn searches_filter_by_state_and_tags_and_page_by_id() {
    each(|name, backend| {
        let mut done = promise("p3", 9, &[("team", "x")]);
        done.state = PromiseState::Resolved;
        write_all(
            backend,
            vec![
                Write::InsertPromise(promise("p1", 9, &[("team", "x"), ("other", "1")])),
                Write::InsertPromise(promise("p2", 9, &[("team", "y")])),
                Write::InsertPromise(done),
                Write::InsertPromise(promise("p4", 9, &[("team", "x")])),
                Write::InsertTask(task("p1", TaskState::Pending, None)),
                Write::InsertTask(task("p4", TaskState::Halted, None)),
            ],
        );
        let search = |state, tags: &[(&str, &str)], cursor: Option<&str>, limit| {
            let query = PromiseQuery {
                state,
                tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                page: Page { limit, cursor: cursor.map(str::to_owned) },
            };
            read(backend, |t| t.search_promises(&query))
                .into_iter()
                .map(|p| p.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(search(None, &[("team", "x")], None, 10), vec!["p1", "p3", "p4"], "{name}");
        assert_eq!(
            search(Some(PromiseState::Pending), &[("team", "x")], None, 10),
            vec!["p1", "p4"],
            "{name}"
        );
        assert_eq!(search(None, &[("team", "x")], Some("p1"), 1), vec!["p3"], "{name}");
        assert_eq!(search(None, &[("team", "x"), ("other", "1")], None, 10), vec!["p1"], "{name}");
        let tasks =
            TaskQuery { state: Some(TaskState::Halted), page: Page { limit: 10, cursor: None } };
        assert_eq!(read(backend, |t| t.search_tasks(&tasks)).len(), 1, "{name}");
    });
}

#[test]
fn a_failed_transaction_leaves_no_trace() {
    each(|name, backend| {
        let failed = backend.run(&mut |txn| {
            txn.write(Write::InsertPromise(promise("ghost", 1, &[])))?;
            Err(TxnError::new(TxnErrorKind::Unavailable, "injected"))
        });
        assert!(failed.is_err(), "{name}");
        assert_eq!(read(backend, |t| t.promise("ghost")), None, "{name}");
    });
}

#[test]
fn delete_all_empties_every_table() {
    each(|name, backend| {
        write_all(
            backend,
            vec![
                Write::InsertPromise(promise("p", 1, &[])),
                Write::InsertTask(task("p", TaskState::Pending, None)),
                Write::InsertListener { promise_id: "p".into(), address: "a".into() },
                Write::DeleteAll,
            ],
        );
        assert_eq!(read(backend, |t| t.snapshot()), Default::default(), "{name}");
    });
}

#[test]
fn a_requeued_execute_keeps_its_age_and_backlogs_group_by_lane() {
    each(|name, backend| {
        let put = |id: &str, lane: &str, due| Write::PutExecute {
            task_id: id.into(),
            version: 0,
            address: format!("poll://any@{lane}"),
            lane: lane.into(),
            due_at: Timestamp(due),
        };
        write_all(backend, vec![put("a", "l1", 5), put("b", "l1", 8), put("c", "l2", 7)]);
        write_all(backend, vec![put("a", "l1", 50)]);
        let requeued = read(backend, |t| t.message(&execute_key("a"))).unwrap();
        assert_eq!((requeued.queued_at, requeued.due_at), (Timestamp(5), Timestamp(50)), "{name}");
        let backlogs = read(backend, |t| t.lane_backlogs(10));
        let summary: Vec<_> = backlogs
            .iter()
            .map(|b| (b.lane.as_str(), b.pending, b.oldest_queued_at.ms()))
            .collect();
        assert_eq!(summary, vec![("l1", 2, 5), ("l2", 1, 7)], "{name}");
        assert_eq!(read(backend, |t| t.lane_backlogs(1)).len(), 1, "{name}");
    });
}

fn schedule(id: &str, next_run_at: i64, tags: &[(&str, &str)]) -> Schedule {
    Schedule {
        id: id.into(),
        cron: "* * * * *".into(),
        promise_id: "{{.id}}.{{.timestamp}}".into(),
        promise_timeout_ms: 60_000,
        promise_param: Value { headers: Some([("h".into(), "v".into())].into()), data: None },
        promise_tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        created_at: Timestamp(1),
        next_run_at: Timestamp(next_run_at),
        last_run_at: None,
    }
}

fn schedule_ids(schedules: Vec<Schedule>) -> Vec<String> {
    schedules.into_iter().map(|s| s.id).collect()
}

#[test]
fn schedules_round_trip_fire_and_delete() {
    each(|name, backend| {
        let stored = schedule("s", 50, &[("k", "v")]);
        write_all(backend, vec![Write::InsertSchedule(stored.clone())]);
        assert_eq!(read(backend, |t| t.schedule("s")), Some(stored.clone()), "{name}");
        let run = Write::UpdateScheduleRun {
            id: "s".into(),
            last_run_at: Timestamp(50),
            next_run_at: Timestamp(110),
        };
        write_all(backend, vec![run]);
        let fired = read(backend, |t| t.schedule("s")).unwrap();
        assert_eq!(
            fired,
            Schedule { last_run_at: Some(Timestamp(50)), next_run_at: Timestamp(110), ..stored },
            "{name}"
        );
        write_all(backend, vec![Write::DeleteSchedule { id: "s".into() }]);
        assert_eq!(read(backend, |t| t.schedule("s")), None, "{name}");
    });
}

#[test]
fn due_schedules_are_ordered_by_next_run_then_id_and_bounded() {
    each(|name, backend| {
        write_all(
            backend,
            vec![
                Write::InsertSchedule(schedule("c", 5, &[])),
                Write::InsertSchedule(schedule("b", 5, &[])),
                Write::InsertSchedule(schedule("a", 9, &[])),
                Write::InsertSchedule(schedule("late", 11, &[])),
            ],
        );
        let due = |limit| schedule_ids(read(backend, |t| t.due_schedules(Timestamp(10), limit)));
        assert_eq!(due(10), vec!["b", "c", "a"], "{name}");
        assert_eq!(due(2), vec!["b", "c"], "{name}");
        assert_eq!(due(0), Vec::<String>::new(), "{name}");
    });
}

#[test]
fn schedule_search_filters_tag_subsets_and_pages_by_id() {
    each(|name, backend| {
        write_all(
            backend,
            vec![
                Write::InsertSchedule(schedule("s3", 1, &[("team", "x")])),
                Write::InsertSchedule(schedule("s1", 1, &[("team", "x"), ("env", "prod")])),
                Write::InsertSchedule(schedule("s2", 1, &[("team", "y")])),
            ],
        );
        let search = |tags: &[(&str, &str)], cursor: Option<&str>, limit| {
            let query = ScheduleQuery {
                tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                page: Page { limit, cursor: cursor.map(str::to_owned) },
            };
            schedule_ids(read(backend, |t| t.search_schedules(&query)))
        };
        assert_eq!(search(&[], None, 10), vec!["s1", "s2", "s3"], "{name}");
        assert_eq!(search(&[("team", "x")], None, 10), vec!["s1", "s3"], "{name}");
        assert_eq!(search(&[("team", "x")], Some("s1"), 10), vec!["s3"], "{name}");
        assert_eq!(search(&[("team", "x"), ("env", "prod")], None, 10), vec!["s1"], "{name}");
        assert_eq!(search(&[("env", "x")], None, 10), Vec::<String>::new(), "{name}");
        assert_eq!(search(&[], None, 2), vec!["s1", "s2"], "{name}");
    });
}

#[test]
fn task_search_pages_by_id_and_due_tasks_break_ties_by_id() {
    each(|name, backend| {
        write_all(
            backend,
            vec![
                Write::InsertTask(task("t3", TaskState::Pending, Some((TimerKind::Retry, 4)))),
                Write::InsertTask(task("t1", TaskState::Pending, Some((TimerKind::Retry, 4)))),
                Write::InsertTask(task("t2", TaskState::Pending, Some((TimerKind::Retry, 2)))),
                Write::InsertTask(task("t4", TaskState::Acquired, Some((TimerKind::Lease, 1)))),
                Write::InsertTask(task("t5", TaskState::Fulfilled, None)),
            ],
        );
        let due = |kind, limit| {
            read(backend, |t| t.due_tasks(kind, Timestamp(4), limit))
                .into_iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(due(TimerKind::Retry, 10), vec!["t2", "t1", "t3"], "{name}");
        assert_eq!(due(TimerKind::Retry, 2), vec!["t2", "t1"], "{name}");
        assert_eq!(due(TimerKind::Lease, 10), vec!["t4"], "{name}");
        let search = |state, cursor: Option<&str>, limit| {
            let query =
                TaskQuery { state, page: Page { limit, cursor: cursor.map(str::to_owned) } };
            read(backend, |t| t.search_tasks(&query)).into_iter().map(|t| t.id).collect::<Vec<_>>()
        };
        assert_eq!(search(None, Some("t2"), 2), vec!["t3", "t4"], "{name}");
        assert_eq!(search(Some(TaskState::Pending), Some("t1"), 10), vec!["t2", "t3"], "{name}");
    });
}

#[test]
fn callbacks_read_one_pair_and_list_by_awaiter() {
    each(|name, backend| {
        write_all(
            backend,
            vec![
                Write::InsertCallback { awaited: "p".into(), awaiter: "t2".into(), ready: false },
                Write::InsertCallback { awaited: "p".into(), awaiter: "t1".into(), ready: true },
                Write::InsertCallback { awaited: "q".into(), awaiter: "t1".into(), ready: false },
            ],
        );
        let pair = |awaited: &str, awaiter: &str, ready| Callback {
            awaited: awaited.into(),
            awaiter: awaiter.into(),
            ready,
        };
        assert_eq!(read(backend, |t| t.callback("p", "t1")), Some(pair("p", "t1", true)), "{name}");
        assert_eq!(read(backend, |t| t.callback("q", "t2")), None, "{name}");
        assert_eq!(
            read(backend, |t| t.callbacks_on("p")),
            vec![pair("p", "t1", true), pair("p", "t2", false)],
            "{name}"
        );
    });
}

#[test]
fn a_transaction_reads_its_own_writes() {
    each(|name, backend| {
        let mut seen = None;
        backend
            .run(&mut |txn| {
                txn.write(Write::InsertPromise(promise("p", 1, &[])))?;
                txn.write(Write::InsertTask(task("p", TaskState::Pending, None)))?;
                txn.write(Write::InsertCallback {
                    awaited: "x".into(),
                    awaiter: "p".into(),
                    ready: true,
                })?;
                seen = Some((txn.promise("p")?.is_some(), txn.task("p")?.map(|t| t.resumes)));
                Ok(())
            })
            .expect("transaction");
        assert_eq!(seen, Some((true, Some(1))), "{name}");
    });
}

#[test]
fn snapshots_list_every_table_in_key_order() {
    each(|name, backend| {
        // Byte order, as SQLite's BINARY collation and Rust's `str` ordering both define it: an
        // upper-case letter sorts before a lower-case one, and non-ASCII after both.
        let ids = ["é", "b", "B", "a"];
        let mut writes = Vec::new();
        for id in ids {
            writes.push(Write::InsertPromise(promise(id, 1, &[])));
            writes.push(Write::InsertTask(task(id, TaskState::Pending, None)));
            writes.push(Write::InsertSchedule(schedule(id, 1, &[])));
            writes.push(Write::InsertListener { promise_id: id.into(), address: "x".into() });
            writes.push(Write::InsertCallback {
                awaited: id.into(),
                awaiter: "z".into(),
                ready: false,
            });
            writes.push(Write::PutUnblock {
                promise_id: id.into(),
                address: "x".into(),
                lane: "l".into(),
                due_at: Timestamp(1),
            });
            writes.push(Write::PutExecute {
                task_id: id.into(),
                version: 0,
                address: "x".into(),
                lane: "l".into(),
                due_at: Timestamp(1),
            });
        }
        write_all(backend, writes);
        let snapshot = read(backend, |t| t.snapshot());
        let sorted = ["B", "a", "b", "é"];
        let promises: Vec<_> = snapshot.promises.iter().map(|p| p.id.as_str()).collect();
        let tasks: Vec<_> = snapshot.tasks.iter().map(|t| t.id.as_str()).collect();
        let schedules: Vec<_> = snapshot.schedules.iter().map(|s| s.id.as_str()).collect();
        let callbacks: Vec<_> = snapshot.callbacks.iter().map(|c| c.awaited.as_str()).collect();
        let listeners: Vec<_> = snapshot
            .listeners
            .iter()
            .map(|Listener { promise_id, .. }| promise_id.as_str())
            .collect();
        assert_eq!((promises, tasks), (sorted.to_vec(), sorted.to_vec()), "{name}");
        assert_eq!((schedules, callbacks), (sorted.to_vec(), sorted.to_vec()), "{name}");
        assert_eq!(listeners, sorted.to_vec(), "{name}");
        let keys: Vec<_> = snapshot.messages.iter().map(|m| m.key()).collect();
        let executes = sorted.iter().map(|id| execute_key(id));
        let unblocks = sorted.iter().map(|id| MessageKey::Unblock((*id).into(), "x".into()));
        assert_eq!(keys, executes.chain(unblocks).collect::<Vec<_>>(), "{name}");
    });
}
