-- resolute schema on PostgreSQL, version 1: the same tables as SQLite's 0001+0002. Text keys use
-- the "C" collation so that ORDER BY id is byte order on every backend (the kernel relies on one
-- order everywhere: searches page by id).
CREATE TABLE promises (
    id            TEXT COLLATE "C" PRIMARY KEY,
    state         TEXT NOT NULL,
    param_headers TEXT,
    param_data    TEXT,
    value_headers TEXT,
    value_data    TEXT,
    tags          TEXT NOT NULL,
    branch        TEXT COLLATE "C",
    timeout_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    settled_at    BIGINT
);
CREATE INDEX promises_pending_timeout ON promises (timeout_at, id) WHERE state = 'pending';
CREATE INDEX promises_branch ON promises (branch, id) WHERE branch IS NOT NULL;

CREATE TABLE tasks (
    id         TEXT COLLATE "C" PRIMARY KEY,
    state      TEXT NOT NULL,
    version    BIGINT NOT NULL,
    timer_kind BIGINT,
    timer_at   BIGINT,
    timer_pid  TEXT,
    timer_ttl  BIGINT
);
CREATE INDEX tasks_timer ON tasks (timer_kind, timer_at, id) WHERE timer_kind IS NOT NULL;

CREATE TABLE callbacks (
    awaited TEXT COLLATE "C" NOT NULL,
    awaiter TEXT COLLATE "C" NOT NULL,
    ready   BOOLEAN NOT NULL,
    PRIMARY KEY (awaited, awaiter)
);
CREATE INDEX callbacks_awaiter ON callbacks (awaiter, ready);

CREATE TABLE listeners (
    promise_id TEXT COLLATE "C" NOT NULL,
    address    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (promise_id, address)
);

-- addr_key is '' for executes (one per task) and the address for unblocks.
CREATE TABLE outbox (
    kind      TEXT COLLATE "C" NOT NULL,
    ref_id    TEXT COLLATE "C" NOT NULL,
    addr_key  TEXT COLLATE "C" NOT NULL,
    address   TEXT COLLATE "C" NOT NULL,
    lane      TEXT COLLATE "C" NOT NULL,
    version   BIGINT NOT NULL,
    due_at    BIGINT NOT NULL,
    attempts  BIGINT NOT NULL,
    leased    BOOLEAN NOT NULL,
    queued_at BIGINT NOT NULL,
    PRIMARY KEY (kind, ref_id, addr_key)
);
CREATE INDEX outbox_due ON outbox (due_at, kind, ref_id, addr_key);
CREATE INDEX outbox_lane ON outbox (lane, leased, due_at);
CREATE INDEX outbox_lane_age ON outbox (lane, queued_at);

CREATE TABLE schedules (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    cron                  TEXT NOT NULL,
    promise_id            TEXT NOT NULL,
    promise_timeout       BIGINT NOT NULL,
    promise_param_headers TEXT,
    promise_param_data    TEXT,
    promise_tags          TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    next_run_at           BIGINT NOT NULL,
    last_run_at           BIGINT
);
CREATE INDEX schedules_next_run ON schedules (next_run_at, id);
