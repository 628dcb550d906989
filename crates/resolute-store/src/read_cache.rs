//! Rows one command has already read or written, so it does not read them from the store again.
//!
//! A command reads the same promise or task more than once: `task.fulfill` checks the lease and
//! then settles, `promise.create` inserts and then queues the execute that needs the target. Each
//! such read was a full statement on SQLite (about 10 k instructions) and a round trip on
//! PostgreSQL. The cache lives for one run of one command (a failed or retried run starts empty),
//! so it can only hold what this transaction itself saw. Writes keep it exact: a write that
//! changes a row updates or forgets it, and a write whose effect it cannot follow forgets all.
//! `tests::differential` runs seeded workloads with each answer compared to a fresh read.

use std::cell::RefCell;

use resolute_core::{Promise, Task, Write};

/// Entries kept per kind; a command touches a handful of rows, a tick may touch many.
const ENTRIES_MAX: usize = 8;

/// What one command's transaction knows of its promises and tasks (`None`: known absent).
#[derive(Default)]
pub(crate) struct ReadCache {
    promises: RefCell<Vec<(String, Option<Promise>)>>,
    tasks: RefCell<Vec<(String, Option<Task>)>>,
    /// Whether its user compares each answer with a fresh read (tests only).
    checked: bool,
}

impl ReadCache {
    #[cfg(test)]
    pub(crate) fn checked() -> ReadCache {
        ReadCache { checked: true, ..ReadCache::default() }
    }

    pub(crate) fn is_checked(&self) -> bool {
        self.checked
    }

    pub(crate) fn promise(&self, id: &str) -> Option<Option<Promise>> {
        lookup(&self.promises.borrow(), id)
    }

    pub(crate) fn task(&self, id: &str) -> Option<Option<Task>> {
        lookup(&self.tasks.borrow(), id)
    }

    pub(crate) fn remember_promise(&self, id: &str, promise: &Option<Promise>) {
        remember(&mut self.promises.borrow_mut(), id, promise.clone());
    }

    pub(crate) fn remember_task(&self, id: &str, task: &Option<Task>) {
        remember(&mut self.tasks.borrow_mut(), id, task.clone());
    }

    /// Brings the cache in line with a write about to be applied.
    pub(crate) fn note(&self, write: &Write) {
        match write {
            Write::InsertPromise(promise) => {
                remember(&mut self.promises.borrow_mut(), &promise.id, Some(promise.clone()));
            }
            Write::SettlePromise { id, state, value, settled_at } => {
                let mut promises = self.promises.borrow_mut();
                if let Some((_, Some(promise))) = promises.iter_mut().find(|(key, _)| key == id) {
                    promise.state = *state;
                    promise.value = value.clone();
                    promise.settled_at = Some(*settled_at);
                } else {
                    forget(&mut promises, id);
                }
            }
            // A task's `resumes` counts its ready callbacks, so it moves with them.
            Write::InsertTask(Task { id, .. }) | Write::UpdateTask { id, .. } => {
                forget(&mut self.tasks.borrow_mut(), id);
            }
            Write::InsertCallback { .. }
            | Write::MarkCallbacksReady { .. }
            | Write::DeleteReadyCallbacks { .. }
            | Write::DeleteCallbacksOfAwaiter { .. } => self.tasks.borrow_mut().clear(),
            Write::InsertListener { .. }
            | Write::DeleteListeners { .. }
            | Write::PutExecute { .. }
            | Write::PutUnblock { .. }
            | Write::LeaseMessage { .. }
            | Write::DelayMessage { .. }
            | Write::DeleteMessage { .. }
            | Write::WakeLanes { .. }
            | Write::ReleaseLeases { .. }
            | Write::InsertSchedule(_)
            | Write::UpdateScheduleRun { .. }
            | Write::DeleteSchedule { .. } => {}
            Write::DeleteAll => {
                self.promises.borrow_mut().clear();
                self.tasks.borrow_mut().clear();
            }
        }
    }
}

fn lookup<T: Clone>(entries: &[(String, Option<T>)], id: &str) -> Option<Option<T>> {
    entries.iter().find(|(key, _)| key == id).map(|(_, row)| row.clone())
}

fn remember<T>(entries: &mut Vec<(String, Option<T>)>, id: &str, row: Option<T>) {
    if let Some(entry) = entries.iter_mut().find(|(key, _)| key == id) {
        entry.1 = row;
        return;
    }
    if entries.len() >= ENTRIES_MAX {
        entries.remove(0);
    }
    entries.push((id.to_owned(), row));
}

fn forget<T>(entries: &mut Vec<(String, Option<T>)>, id: &str) {
    entries.retain(|(key, _)| key != id);
}

#[cfg(test)]
mod tests {
    use super::*;
    use resolute_core::{PromiseState, Timestamp, Value};

    fn pending(id: &str) -> Promise {
        Promise {
            id: id.into(),
            state: PromiseState::Pending,
            param: Value::default(),
            value: Value::default(),
            tags: Default::default(),
            timeout_at: Timestamp(10),
            created_at: Timestamp(1),
            settled_at: None,
        }
    }

    #[test]
    fn a_settle_updates_the_promise_it_settles_and_an_insert_is_remembered() {
        let cache = ReadCache::default();
        cache.remember_promise("a", &None);
        cache.note(&Write::InsertPromise(pending("a")));
        assert_eq!(cache.promise("a"), Some(Some(pending("a"))));
        let value = Value { headers: None, data: Some("eA==".into()) };
        let settle = Write::SettlePromise {
            id: "a".into(),
            state: PromiseState::Resolved,
            value: value.clone(),
            settled_at: Timestamp(5),
        };
        cache.note(&settle);
        let settled = cache.promise("a").flatten().unwrap();
        assert_eq!(
            (settled.state, settled.value, settled.settled_at),
            (PromiseState::Resolved, value, Some(Timestamp(5)))
        );
        assert_eq!(cache.promise("b"), None);
    }

    #[test]
    fn callback_writes_forget_every_task_and_task_writes_forget_theirs() {
        let cache = ReadCache::default();
        let task = Task {
            id: "t".into(),
            state: resolute_core::TaskState::Pending,
            version: 0,
            timer: None,
            resumes: 0,
        };
        cache.remember_task("t", &Some(task.clone()));
        cache.remember_task("u", &None);
        assert_eq!(cache.task("t"), Some(Some(task)));
        cache.note(&Write::MarkCallbacksReady { awaited: "p".into() });
        assert_eq!((cache.task("t"), cache.task("u")), (None, None));
        cache.remember_task("u", &None);
        cache.note(&Write::UpdateTask {
            id: "u".into(),
            state: resolute_core::TaskState::Pending,
            version: 1,
            timer: None,
        });
        assert_eq!(cache.task("u"), None);
    }

    #[test]
    fn the_oldest_entry_goes_when_the_cache_is_full() {
        let cache = ReadCache::default();
        for index in 0..=ENTRIES_MAX {
            cache.remember_promise(&format!("p{index}"), &None);
        }
        assert_eq!(cache.promise("p0"), None);
        assert_eq!(cache.promise(&format!("p{ENTRIES_MAX}")), Some(None));
    }
}
