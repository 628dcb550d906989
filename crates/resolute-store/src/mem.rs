//! `MemStore`: the reference backend, plain ordered maps. Deterministic iteration everywhere, so
//! the simulator and the conformance suite can compare it with SQLite row for row.

use std::collections::{BTreeMap, BTreeSet};

use resolute_core::command::{PromiseQuery, ScheduleQuery, TaskQuery};
use resolute_core::reply::{LaneBacklog, Snapshot};
use resolute_core::txn::TxnResult;
use resolute_core::{
    Callback, Listener, Message, MessageBody, MessageKey, Promise, Schedule, Task, TaskState,
    TaskTimer, TimerKind, Timestamp, Txn, Write,
};

#[derive(Clone, Debug, PartialEq, Eq)]
struct TaskRow {
    state: TaskState,
    version: i64,
    timer: Option<TaskTimer>,
}

/// Every table of the store as ordered maps. Cloning it is how `MemStore` rolls back.
#[derive(Clone, Debug, Default)]
pub struct MemState {
    promises: BTreeMap<String, Promise>,
    tasks: BTreeMap<String, TaskRow>,
    /// (awaited, awaiter) → ready.
    callbacks: BTreeMap<(String, String), bool>,
    listeners: BTreeSet<(String, String)>,
    outbox: BTreeMap<MessageKey, Message>,
    schedules: BTreeMap<String, Schedule>,
}

impl MemState {
    fn task_of(&self, id: &str, row: &TaskRow) -> Task {
        let resumes =
            self.callbacks.iter().filter(|((_, awaiter), ready)| awaiter == id && **ready).count();
        Task {
            id: id.to_owned(),
            state: row.state,
            version: row.version,
            timer: row.timer.clone(),
            resumes: i64::try_from(resumes).unwrap_or(i64::MAX),
        }
    }

    fn apply_message_write(&mut self, write: Write) {
        match write {
            Write::PutExecute { task_id, version, address, lane, due_at } => {
                let key = MessageKey::Execute(task_id.clone());
                // A re-queued execute keeps its original age for stuck detection.
                let queued_at = self.outbox.get(&key).map_or(due_at, |old| old.queued_at);
                let body = MessageBody::Execute { task_id, version };
                let message =
                    Message { address, lane, body, due_at, attempts: 0, leased: false, queued_at };
                self.outbox.insert(key, message);
            }
            Write::PutUnblock { promise_id, address, lane, due_at } => {
                let key = MessageKey::Unblock(promise_id.clone(), address.clone());
                let body = MessageBody::Unblock { promise_id };
                let message = Message {
                    address,
                    lane,
                    body,
                    due_at,
                    attempts: 0,
                    leased: false,
                    queued_at: due_at,
                };
                self.outbox.entry(key).or_insert(message);
            }
            Write::LeaseMessage { key, due_at, attempts } => {
                if let Some(message) = self.outbox.get_mut(&key) {
                    (message.due_at, message.attempts, message.leased) = (due_at, attempts, true);
                }
            }
            Write::DelayMessage { key, due_at } => {
                if let Some(message) = self.outbox.get_mut(&key) {
                    (message.due_at, message.leased) = (due_at, false);
                }
            }
            Write::DeleteMessage { key } => {
                self.outbox.remove(&key);
            }
            Write::WakeLanes { lanes, now } => {
                for message in self.outbox.values_mut() {
                    if !message.leased && message.due_at > now && lanes.contains(&message.lane) {
                        message.due_at = now;
                    }
                }
            }
            Write::ReleaseLeases { now } => {
                for message in self.outbox.values_mut().filter(|message| message.leased) {
                    (message.due_at, message.leased) = (now, false);
                }
            }
            other => debug_assert!(false, "not a message write: {other:?}"),
        }
    }

    fn apply_row_write(&mut self, write: Write) {
        match write {
            Write::InsertPromise(promise) => {
                self.promises.insert(promise.id.clone(), promise);
            }
            Write::SettlePromise { id, state, value, settled_at } => {
                if let Some(promise) = self.promises.get_mut(&id) {
                    (promise.state, promise.value) = (state, value);
                    promise.settled_at = Some(settled_at);
                }
            }
            Write::InsertTask(task) => {
                let row = TaskRow { state: task.state, version: task.version, timer: task.timer };
                self.tasks.insert(task.id, row);
            }
            Write::UpdateTask { id, state, version, timer } => {
                self.tasks.insert(id, TaskRow { state, version, timer });
            }
            Write::InsertCallback { awaited, awaiter, ready } => {
                self.callbacks.entry((awaited, awaiter)).or_insert(ready);
            }
            Write::MarkCallbacksReady { awaited } => {
                for ((key_awaited, _), ready) in self.callbacks.iter_mut() {
                    if *key_awaited == awaited {
                        *ready = true;
                    }
                }
            }
            Write::DeleteReadyCallbacks { awaiter } => {
                self.callbacks
                    .retain(|(_, key_awaiter), ready| !(*key_awaiter == awaiter && *ready));
            }
            Write::DeleteCallbacksOfAwaiter { awaiter } => {
                self.callbacks.retain(|(_, key_awaiter), _| *key_awaiter != awaiter);
            }
            Write::InsertListener { promise_id, address } => {
                self.listeners.insert((promise_id, address));
            }
            Write::DeleteListeners { promise_id } => {
                self.listeners.retain(|(key_promise, _)| *key_promise != promise_id);
            }
            other => debug_assert!(false, "not a row write: {other:?}"),
        }
    }

    fn apply_schedule_write(&mut self, write: Write) {
        match write {
            Write::InsertSchedule(schedule) => {
                self.schedules.insert(schedule.id.clone(), schedule);
            }
            Write::UpdateScheduleRun { id, last_run_at, next_run_at } => {
                if let Some(schedule) = self.schedules.get_mut(&id) {
                    schedule.last_run_at = Some(last_run_at);
                    schedule.next_run_at = next_run_at;
                }
            }
            Write::DeleteSchedule { id } => {
                self.schedules.remove(&id);
            }
            Write::DeleteAll => *self = MemState::default(),
            other => debug_assert!(false, "not a schedule write: {other:?}"),
        }
    }
}

fn tags_match(tags: &resolute_core::Tags, wanted: &resolute_core::Tags) -> bool {
    wanted.iter().all(|(key, value)| tags.get(key) == Some(value))
}

fn after_cursor(id: &str, cursor: &Option<String>) -> bool {
    cursor.as_deref().is_none_or(|cursor| id > cursor)
}

impl Txn for MemState {
    fn promise(&self, id: &str) -> TxnResult<Option<Promise>> {
        Ok(self.promises.get(id).cloned())
    }

    fn task(&self, id: &str) -> TxnResult<Option<Task>> {
        Ok(self.tasks.get(id).map(|row| self.task_of(id, row)))
    }

    fn callback(&self, awaited: &str, awaiter: &str) -> TxnResult<Option<Callback>> {
        let key = (awaited.to_owned(), awaiter.to_owned());
        Ok(self.callbacks.get(&key).map(|ready| Callback {
            awaited: key.0.clone(),
            awaiter: key.1.clone(),
            ready: *ready,
        }))
    }

    fn callbacks_on(&self, awaited: &str) -> TxnResult<Vec<Callback>> {
        Ok(self
            .callbacks
            .iter()
            .filter(|((key_awaited, _), _)| key_awaited == awaited)
            .map(|((awaited, awaiter), ready)| Callback {
                awaited: awaited.clone(),
                awaiter: awaiter.clone(),
                ready: *ready,
            })
            .collect())
    }

    fn listeners(&self, promise_id: &str) -> TxnResult<Vec<String>> {
        Ok(self
            .listeners
            .iter()
            .filter(|(key_promise, _)| key_promise == promise_id)
            .map(|(_, address)| address.clone())
            .collect())
    }

    fn branch_promises(&self, branch: &str) -> TxnResult<Vec<Promise>> {
        Ok(self.promises.values().filter(|p| p.branch() == Some(branch)).cloned().collect())
    }

    fn expired_promises(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Promise>> {
        let mut expired: Vec<_> =
            self.promises.values().filter(|p| p.is_expired(now)).cloned().collect();
        expired.sort_by(|a, b| (a.timeout_at, &a.id).cmp(&(b.timeout_at, &b.id)));
        expired.truncate(limit);
        Ok(expired)
    }

    fn due_tasks(&self, kind: TimerKind, now: Timestamp, limit: usize) -> TxnResult<Vec<Task>> {
        let mut due: Vec<_> = self
            .tasks
            .iter()
            .filter_map(|(id, row)| {
                let timer = row.timer.as_ref()?;
                (timer.kind == kind && timer.at <= now).then(|| (timer.at, id.clone(), row))
            })
            .collect();
        due.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Ok(due.into_iter().take(limit).map(|(_, id, row)| self.task_of(&id, row)).collect())
    }

    fn schedule(&self, id: &str) -> TxnResult<Option<Schedule>> {
        Ok(self.schedules.get(id).cloned())
    }

    fn due_schedules(&self, now: Timestamp, limit: usize) -> TxnResult<Vec<Schedule>> {
        let mut due: Vec<_> =
            self.schedules.values().filter(|s| s.next_run_at <= now).cloned().collect();
        due.sort_by(|a, b| (a.next_run_at, &a.id).cmp(&(b.next_run_at, &b.id)));
        due.truncate(limit);
        Ok(due)
    }

    fn search_promises(&self, query: &PromiseQuery) -> TxnResult<Vec<Promise>> {
        Ok(self
            .promises
            .values()
            .filter(|p| after_cursor(&p.id, &query.page.cursor))
            .filter(|p| query.state.is_none_or(|state| p.state == state))
            .filter(|p| tags_match(&p.tags, &query.tags))
            .take(query.page.limit)
            .cloned()
            .collect())
    }

    fn search_tasks(&self, query: &TaskQuery) -> TxnResult<Vec<Task>> {
        Ok(self
            .tasks
            .iter()
            .filter(|(id, _)| after_cursor(id, &query.page.cursor))
            .filter(|(_, row)| query.state.is_none_or(|state| row.state == state))
            .take(query.page.limit)
            .map(|(id, row)| self.task_of(id, row))
            .collect())
    }

    fn search_schedules(&self, query: &ScheduleQuery) -> TxnResult<Vec<Schedule>> {
        Ok(self
            .schedules
            .values()
            .filter(|s| after_cursor(&s.id, &query.page.cursor))
            .filter(|s| tags_match(&s.promise_tags, &query.tags))
            .take(query.page.limit)
            .cloned()
            .collect())
    }

    fn due_messages(
        &self,
        now: Timestamp,
        limit: usize,
        lanes: &resolute_core::command::DueFilter,
    ) -> TxnResult<Vec<Message>> {
        let mut due: Vec<_> =
            self.outbox.iter().filter(|(_, m)| m.due_at <= now && lanes.admits(&m.lane)).collect();
        due.sort_by(|a, b| (a.1.due_at, a.0).cmp(&(b.1.due_at, b.0)));
        Ok(due.into_iter().take(limit).map(|(_, message)| message.clone()).collect())
    }

    fn message(&self, key: &MessageKey) -> TxnResult<Option<Message>> {
        Ok(self.outbox.get(key).cloned())
    }

    fn lane_backlogs(&self, limit: usize) -> TxnResult<Vec<LaneBacklog>> {
        let mut lanes: BTreeMap<&str, LaneBacklog> = BTreeMap::new();
        for message in self.outbox.values() {
            let entry = lanes.entry(&message.lane).or_insert_with(|| LaneBacklog {
                lane: message.lane.clone(),
                address: message.address.clone(),
                pending: 0,
                oldest_queued_at: message.queued_at,
            });
            entry.pending += 1;
            entry.oldest_queued_at = entry.oldest_queued_at.min(message.queued_at);
            if message.address < entry.address {
                entry.address = message.address.clone();
            }
        }
        let mut backlogs: Vec<_> = lanes.into_values().collect();
        backlogs.sort_by(|a, b| (a.oldest_queued_at, &a.lane).cmp(&(b.oldest_queued_at, &b.lane)));
        backlogs.truncate(limit);
        Ok(backlogs)
    }

    fn snapshot(&self) -> TxnResult<Snapshot> {
        Ok(Snapshot {
            promises: self.promises.values().cloned().collect(),
            tasks: self.tasks.iter().map(|(id, row)| self.task_of(id, row)).collect(),
            callbacks: self
                .callbacks
                .iter()
                .map(|((awaited, awaiter), ready)| Callback {
                    awaited: awaited.clone(),
                    awaiter: awaiter.clone(),
                    ready: *ready,
                })
                .collect(),
            listeners: self
                .listeners
                .iter()
                .map(|(promise_id, address)| Listener {
                    promise_id: promise_id.clone(),
                    address: address.clone(),
                })
                .collect(),
            messages: self.outbox.values().cloned().collect(),
            schedules: self.schedules.values().cloned().collect(),
        })
    }

    fn write(&mut self, write: Write) -> TxnResult<()> {
        match write {
            schedule @ (Write::InsertSchedule(_)
            | Write::UpdateScheduleRun { .. }
            | Write::DeleteSchedule { .. }
            | Write::DeleteAll) => self.apply_schedule_write(schedule),
            message @ (Write::PutExecute { .. }
            | Write::PutUnblock { .. }
            | Write::LeaseMessage { .. }
            | Write::DelayMessage { .. }
            | Write::DeleteMessage { .. }
            | Write::WakeLanes { .. }
            | Write::ReleaseLeases { .. }) => self.apply_message_write(message),
            row => self.apply_row_write(row),
        }
        Ok(())
    }
}
