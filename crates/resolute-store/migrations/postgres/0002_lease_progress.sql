-- Version 2: a lease records when it was taken and when its holder last showed progress (acquire,
-- heartbeat), as SQLite's 0003. For a lease taken before this version the last renewal is exactly
-- its end minus its ttl; its start is unknown and stays NULL.
ALTER TABLE tasks ADD COLUMN lease_started_at BIGINT;
ALTER TABLE tasks ADD COLUMN lease_progress_at BIGINT;
UPDATE tasks SET lease_progress_at = timer_at - timer_ttl WHERE timer_kind = 1;
