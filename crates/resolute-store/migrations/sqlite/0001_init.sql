-- resolute schema, version 1. Timers live in their rows: a task's retry/lease timer is columns of
-- the task, a schedule's timer is next_run_at, a promise's timeout is timeout_at (while pending).
CREATE TABLE promises (
    id            TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    param_headers TEXT,
    param_data    TEXT,
    value_headers TEXT,
    value_data    TEXT,
    tags          TEXT NOT NULL,
    branch        TEXT,
    timeout_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    settled_at    INTEGER
);
CREATE INDEX promises_pending_timeout ON promises (timeout_at, id) WHERE state = 'pending';
CREATE INDEX promises_branch ON promises (branch, id) WHERE branch IS NOT NULL;

CREATE TABLE tasks (
    id         TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    timer_kind INTEGER,
    timer_at   INTEGER,
    timer_pid  TEXT,
    timer_ttl  INTEGER
);
CREATE INDEX tasks_timer ON tasks (timer_kind, timer_at, id) WHERE timer_kind IS NOT NULL;

CREATE TABLE callbacks (
    awaited TEXT NOT NULL,
    awaiter TEXT NOT NULL,
    ready   INTEGER NOT NULL,
    PRIMARY KEY (awaited, awaiter)
);
CREATE INDEX callbacks_awaiter ON callbacks (awaiter, ready);

CREATE TABLE listeners (
    promise_id TEXT NOT NULL,
    address    TEXT NOT NULL,
    PRIMARY KEY (promise_id, address)
);

-- addr_key is '' for executes (one per task) and the address for unblocks.
CREATE TABLE outbox (
    kind     TEXT NOT NULL,
    ref_id   TEXT NOT NULL,
    addr_key TEXT NOT NULL,
    address  TEXT NOT NULL,
    lane     TEXT NOT NULL,
    version  INTEGER NOT NULL,
    due_at   INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    leased   INTEGER NOT NULL,
    PRIMARY KEY (kind, ref_id, addr_key)
);
CREATE INDEX outbox_due ON outbox (due_at, kind, ref_id, addr_key);
CREATE INDEX outbox_lane ON outbox (lane, leased, due_at);

CREATE TABLE schedules (
    id                    TEXT PRIMARY KEY,
    cron                  TEXT NOT NULL,
    promise_id            TEXT NOT NULL,
    promise_timeout       INTEGER NOT NULL,
    promise_param_headers TEXT,
    promise_param_data    TEXT,
    promise_tags          TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    next_run_at           INTEGER NOT NULL,
    last_run_at           INTEGER
);
CREATE INDEX schedules_next_run ON schedules (next_run_at, id);
