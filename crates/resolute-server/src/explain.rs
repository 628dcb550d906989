//! `explain`: why a promise or task is where it is and what happens next, in plain words, built
//! from the same rows and dispatcher state that decide its fate.

use resolute_core::model::{Message, Promise, Task, TaskState, TaskTimer};
use resolute_core::Timestamp;

/// What the explanation is built from.
pub struct Facts<'a> {
    pub promise: &'a Promise,
    pub task: Option<&'a Task>,
    pub message: Option<&'a Message>,
    /// Why the message's lane cannot move now, if it cannot (from the dispatcher).
    pub blockage: Option<&'static str>,
    pub now: Timestamp,
}

/// A duration in the largest sensible units: "4 m 12 s", "850 ms".
pub fn human(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{} m {} s", ms / 60_000, (ms % 60_000) / 1000),
        _ => format!("{} h {} m", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

/// The explanation, one sentence per line, most important first.
pub fn explain(facts: &Facts<'_>) -> Vec<String> {
    let promise = facts.promise;
    let now = facts.now.ms();
    if let Some(settled_at) = promise.settled_at {
        let ago = human(now - settled_at.ms());
        return vec![format!(
            "{} {ago} ago; nothing more will happen to it.",
            promise.state.as_str()
        )];
    }
    let mut lines = vec![format!(
        "pending for {}; times out in {} (at {}).",
        human(now - promise.created_at.ms()),
        human(promise.timeout_at.ms() - now),
        promise.timeout_at
    )];
    match facts.task {
        None => lines.push("it has no resonate:target, so nothing is dispatched for it.".into()),
        Some(task) => lines.extend(explain_task(task, facts)),
    }
    lines
}

fn explain_task(task: &Task, facts: &Facts<'_>) -> Vec<String> {
    let now = facts.now.ms();
    let timer_in = task.timer.as_ref().map(|timer| human(timer.at.ms() - now));
    match task.state {
        TaskState::Acquired => match task.lease() {
            Some(lease) => vec![explain_lease(task.version, lease, facts.now)],
            None => vec![format!("task v{} is acquired.", task.version)],
        },
        TaskState::Suspended => vec![format!(
            "task v{} is suspended, waiting for the promises it awaits to settle.",
            task.version
        )],
        TaskState::Halted => {
            vec!["task is halted by an operator; task.continue resumes it.".into()]
        }
        TaskState::Fulfilled => vec!["task is fulfilled.".into()],
        TaskState::Pending => explain_pending(task, facts, timer_in),
    }
}

/// "acquired by worker X 4 m 12 s ago, last heartbeat 3.0 s ago, lease expires in 12.0 s": the
/// start and last progress tell a slow holder (heartbeats keep coming) from a dead one.
fn explain_lease(version: i64, lease: &TaskTimer, now: Timestamp) -> String {
    let now = now.ms();
    let pid = lease.pid.as_deref().unwrap_or("?");
    let acquired = match lease.started_at {
        Some(at) => format!("acquired by worker `{pid}` {} ago", human(now - at.ms())),
        None => format!("held by worker `{pid}` (taken before lease times were recorded)"),
    };
    let progress = match lease.progress_at {
        Some(at) if Some(at) == lease.started_at => ", no heartbeat since".to_owned(),
        Some(at) => format!(", last heartbeat {} ago", human(now - at.ms())),
        None => String::new(),
    };
    let end = if lease.at.ms() > now {
        format!("lease expires in {} unless a heartbeat extends it", human(lease.at.ms() - now))
    } else {
        format!(
            "lease expired {} ago; the next timeout pass returns the task to pending",
            human(now - lease.at.ms())
        )
    };
    format!("task v{version} {acquired}{progress}, {end}.")
}

fn explain_pending(task: &Task, facts: &Facts<'_>, retry_in: Option<String>) -> Vec<String> {
    let now = facts.now.ms();
    let retry =
        retry_in.map(|at| format!(" The retry timer re-sends it in {at}.")).unwrap_or_default();
    let Some(message) = facts.message else {
        return vec![format!("task v{} is pending with no execute queued.{retry}", task.version)];
    };
    let waiting = human(now - message.queued_at.ms());
    let line = if message.leased {
        format!(
            "execute v{} to {} is being delivered (attempt {}); it has waited {waiting}.",
            message.version(),
            message.address,
            message.attempts
        )
    } else if let Some(reason) = facts.blockage {
        format!(
            "execute v{} to {} has waited {waiting}: {reason} on lane `{}`; it goes out as soon \
             as that changes (next check in {}).",
            message.version(),
            message.address,
            message.lane,
            human(message.due_at.ms() - now)
        )
    } else if message.due_at.ms() > now {
        format!(
            "execute v{} to {} failed {} time(s); next attempt in {}.",
            message.version(),
            message.address,
            message.attempts,
            human(message.due_at.ms() - now)
        )
    } else {
        format!(
            "execute v{} to {} is due now and goes out within a second.",
            message.version(),
            message.address
        )
    };
    vec![line + &retry]
}

#[cfg(test)]
mod tests;
