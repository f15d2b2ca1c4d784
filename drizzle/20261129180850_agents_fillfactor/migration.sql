-- Written by hand: drizzle-kit 1.0.0-rc.5 has no table storage options (WITH (...)).
-- Every heartbeat rewrites an agents row, now with its heartbeat history (about 400 bytes
-- more per row version). Leaving a fifth of each page free keeps room for the new version
-- on the same page, so heartbeats that do not change an indexed column stay HOT updates.
-- Applies to pages written from now on; existing pages fill as they are rewritten.
ALTER TABLE "agents" SET (fillfactor = 80);
