//! A seeded generator of protocol commands over small id pools, so that collisions, races between
//! settlement and leases, and cascades happen often. Shared by the differential test and the
//! simulator; deterministic for a given seed.

use resolute_core::command::{
    CreatePromise, CreateSchedule, FenceAction, Handed, HeldTask, Page, PromiseQuery,
    SettlePromise, TaskQuery,
};
use resolute_core::{Command, SettleState, Tags, Timestamp, Value};

/// xorshift64*: small, fast, and good enough to spread choices.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound` (0 when bound is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const ROOTS: &[&str] = &["a", "b", "c"];
const TARGETS: &[&str] = &["poll://any@w", "poll://uni@w/1", "http://127.0.0.1:9/hook"];

/// Generates commands at a moving time.
pub struct Workload {
    pub rng: Rng,
    pub now: Timestamp,
}

impl Workload {
    pub fn new(seed: u64, start: Timestamp) -> Workload {
        Workload { rng: Rng::new(seed), now: start }
    }

    /// An id from the pools: a root, or a child of a root in either SDK generation.
    pub fn id(&mut self) -> String {
        let root = *self.rng.pick(ROOTS);
        match self.rng.below(4) {
            0 => root.to_owned(),
            1 => format!("{root}.{}", self.rng.below(3)),
            2 => format!("{root}:{}", self.rng.below(3)),
            _ => format!("{root}.{}.{}", self.rng.below(2), self.rng.below(2)),
        }
    }

    fn origin_of(id: &str) -> String {
        id.split(['.', ':']).next().unwrap_or(id).to_owned()
    }

    fn create(&mut self, id: String, targeted: bool) -> CreatePromise {
        let mut tags = Tags::new();
        let origin = Self::origin_of(&id);
        tags.insert("resonate:origin".into(), origin.clone());
        tags.insert("resonate:branch".into(), origin);
        if targeted {
            tags.insert("resonate:target".into(), (*self.rng.pick(TARGETS)).to_owned());
        }
        if self.rng.chance(10) {
            tags.insert("resonate:timer".into(), "true".into());
        }
        let timeout_at = self.now.plus_ms(self.rng.below(120_000) as i64 - 5_000);
        let data = Some(format!("{}", self.rng.below(1000)));
        CreatePromise { id, timeout_at, param: Value { headers: None, data }, tags }
    }

    fn settle(&mut self, id: String) -> SettlePromise {
        let state = *self.rng.pick(&[
            SettleState::Resolved,
            SettleState::Rejected,
            SettleState::RejectedCanceled,
        ]);
        SettlePromise { id, state, value: Value { headers: None, data: Some("dg==".into()) } }
    }

    /// The next command; also advances time now and then.
    pub fn next_command(&mut self) -> Command {
        if self.rng.chance(15) {
            self.now = self.now.plus_ms(self.rng.below(20_000) as i64);
            return Command::Tick { limit: 1 + self.rng.below(8) as usize };
        }
        match self.rng.below(10) {
            0..=2 => self.promise_command(),
            3..=8 => self.task_command(),
            _ => self.other_command(),
        }
    }

    fn promise_command(&mut self) -> Command {
        let id = self.id();
        match self.rng.below(5) {
            0 | 1 => {
                let targeted = self.rng.chance(70);
                Command::PromiseCreate(self.create(id, targeted))
            }
            2 => Command::PromiseSettle(self.settle(id)),
            3 => Command::PromiseRegisterListener { awaited: id, address: "poll://uni@c/1".into() },
            _ => {
                let awaiter = self.id();
                Command::PromiseRegisterCallback { awaited: id, awaiter }
            }
        }
    }

    fn task_command(&mut self) -> Command {
        let id = self.id();
        let version = self.rng.below(4) as i64;
        match self.rng.below(9) {
            0 | 1 => Command::TaskAcquire {
                id,
                version,
                pid: "w1".into(),
                ttl_ms: 1 + self.rng.below(30_000) as i64,
            },
            2 => Command::TaskRelease { id, version },
            3 => Command::TaskFulfill { id: id.clone(), version, settle: self.settle(id) },
            4 => {
                let awaited = vec![self.id(), self.id()];
                Command::TaskSuspend { id, version, awaited }
            }
            5 => {
                let child = format!("{id}.{}", self.rng.below(3));
                let action = if self.rng.chance(60) {
                    FenceAction::Create(self.create(child, true))
                } else {
                    FenceAction::Settle(self.settle(child))
                };
                Command::TaskFence { id, version, action }
            }
            6 => Command::TaskHeartbeat { pid: "w1".into(), tasks: vec![HeldTask { id, version }] },
            7 => {
                let promise = self.create(id, true);
                Command::TaskCreate {
                    pid: "w2".into(),
                    ttl_ms: 1 + self.rng.below(30_000) as i64,
                    promise,
                }
            }
            _ => {
                if self.rng.chance(50) {
                    Command::TaskHalt { id }
                } else {
                    Command::TaskContinue { id }
                }
            }
        }
    }

    fn other_command(&mut self) -> Command {
        let page = Page { limit: 1 + self.rng.below(5) as usize, cursor: None };
        match self.rng.below(5) {
            0 => Command::PromiseSearch(PromiseQuery { state: None, tags: Tags::new(), page }),
            1 => Command::TaskSearch(TaskQuery { state: None, page }),
            2 => {
                let mut promise_tags = Tags::new();
                promise_tags.insert("resonate:target".into(), "poll://any@w".into());
                Command::ScheduleCreate(CreateSchedule {
                    id: format!("s{}", self.rng.below(2)),
                    cron: "*/10 * * * * *".into(),
                    promise_id: "{{.id}}.{{.timestamp}}".into(),
                    promise_timeout_ms: self.rng.below(60_000) as i64,
                    promise_param: Value::default(),
                    promise_tags,
                })
            }
            3 => Command::ScheduleDelete { id: format!("s{}", self.rng.below(2)) },
            4 if self.rng.chance(50) => self.requeue_command(),
            _ => Command::TaskGet { id: self.id() },
        }
    }

    /// What a dead connection hands back: executes at some version, unblocks for the listener
    /// address the promise commands use.
    fn requeue_command(&mut self) -> Command {
        let handed = (0..1 + self.rng.below(3))
            .map(|_| match self.rng.chance(60) {
                true => Handed::Execute { task_id: self.id(), version: self.rng.below(4) as i64 },
                false => {
                    Handed::Unblock { promise_id: self.id(), address: "poll://uni@c/1".into() }
                }
            })
            .collect();
        Command::RequeueHanded { handed }
    }
}
