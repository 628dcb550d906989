-- Version 3: a lease records when it was taken and when its holder last showed progress (acquire,
-- heartbeat), so `explain` can tell a slow holder from a dead one. For a lease taken before this
-- version the last renewal is exactly its end minus its ttl; its start is unknown and stays NULL.
ALTER TABLE tasks ADD COLUMN lease_started_at INTEGER;
ALTER TABLE tasks ADD COLUMN lease_progress_at INTEGER;
UPDATE tasks SET lease_progress_at = timer_at - timer_ttl WHERE timer_kind = 1;
