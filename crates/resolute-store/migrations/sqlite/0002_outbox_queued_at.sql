-- Version 2: when each message was first queued, so the age of a lane's backlog is known
-- ("work ready, nobody taking it") whatever the dispatcher's memory says.
ALTER TABLE outbox ADD COLUMN queued_at INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET queued_at = due_at;
CREATE INDEX outbox_lane_age ON outbox (lane, queued_at);
