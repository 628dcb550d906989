-- Version 4: the small, hot tables keep their rows in their primary-key b-tree (WITHOUT ROWID).
-- A rowid table with a TEXT or composite key is two b-trees, the rows and the key index, and every
-- insert, lease and delete dirtied pages of both; each dirtied page is a WAL frame at commit.
-- Promises stay rowid tables: their params and values can be large, and a WITHOUT ROWID row
-- spills to overflow pages at about a quarter of the size a rowid row does.
CREATE TABLE tasks_v4 (
    id                TEXT PRIMARY KEY,
    state             TEXT NOT NULL,
    version           INTEGER NOT NULL,
    timer_kind        INTEGER,
    timer_at          INTEGER,
    timer_pid         TEXT,
    timer_ttl         INTEGER,
    lease_started_at  INTEGER,
    lease_progress_at INTEGER
) WITHOUT ROWID;
INSERT INTO tasks_v4
    SELECT id, state, version, timer_kind, timer_at, timer_pid, timer_ttl, lease_started_at,
           lease_progress_at
    FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_v4 RENAME TO tasks;
CREATE INDEX tasks_timer ON tasks (timer_kind, timer_at, id) WHERE timer_kind IS NOT NULL;

CREATE TABLE callbacks_v4 (
    awaited TEXT NOT NULL,
    awaiter TEXT NOT NULL,
    ready   INTEGER NOT NULL,
    PRIMARY KEY (awaited, awaiter)
) WITHOUT ROWID;
INSERT INTO callbacks_v4 SELECT awaited, awaiter, ready FROM callbacks;
DROP TABLE callbacks;
ALTER TABLE callbacks_v4 RENAME TO callbacks;
CREATE INDEX callbacks_awaiter ON callbacks (awaiter, ready);

CREATE TABLE listeners_v4 (
    promise_id TEXT NOT NULL,
    address    TEXT NOT NULL,
    PRIMARY KEY (promise_id, address)
) WITHOUT ROWID;
INSERT INTO listeners_v4 SELECT promise_id, address FROM listeners;
DROP TABLE listeners;
ALTER TABLE listeners_v4 RENAME TO listeners;

CREATE TABLE outbox_v4 (
    kind      TEXT NOT NULL,
    ref_id    TEXT NOT NULL,
    addr_key  TEXT NOT NULL,
    address   TEXT NOT NULL,
    lane      TEXT NOT NULL,
    version   INTEGER NOT NULL,
    due_at    INTEGER NOT NULL,
    attempts  INTEGER NOT NULL,
    leased    INTEGER NOT NULL,
    queued_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, ref_id, addr_key)
) WITHOUT ROWID;
INSERT INTO outbox_v4
    SELECT kind, ref_id, addr_key, address, lane, version, due_at, attempts, leased, queued_at
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v4 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (due_at, kind, ref_id, addr_key);
CREATE INDEX outbox_lane ON outbox (lane, leased, due_at);
CREATE INDEX outbox_lane_age ON outbox (lane, queued_at);
