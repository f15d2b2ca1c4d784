-- Written by hand: drizzle-kit 1.0.0-rc.5 cannot declare a partitioned table.
-- Closed hours of raw samples are compacted (api/metrics/compaction.store.ts) into one row
-- per series and hour: the samples' times as millisecond offsets from the hour, ascending
-- and distinct, and their values, in two arrays of one length. A raw row costs ~95 bytes
-- with its index; a block ~12 bytes a sample, less where PostgreSQL's TOAST compression
-- (on by default for arrays past ~2 KB) finds repeats. Partitioned by day like
-- metric_samples, so raw retention drops a day of blocks with its day of raw rows; the
-- partitions are made and dropped by the same maintenance job.
CREATE TABLE "metric_sample_blocks" (
	"series_id" integer NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"ats" integer[] NOT NULL,
	"vals" double precision[] NOT NULL,
	CONSTRAINT "metric_sample_blocks_pkey" PRIMARY KEY ("series_id", "hour"),
	CONSTRAINT "metric_sample_blocks_shape" CHECK (cardinality("ats") = cardinality("vals") AND cardinality("ats") > 0)
) PARTITION BY RANGE ("hour");
--> statement-breakpoint
-- How far the compaction has gone (every hour before hour_done was compacted once), and
-- closed hours that samples arrived for after that, to merge into their blocks again.
-- The state row is also the lock that lets one replica at a time compact.
CREATE TABLE "metric_compaction_state" (
	"id" smallint PRIMARY KEY NOT NULL,
	"hour_done" timestamp with time zone
);
--> statement-breakpoint
INSERT INTO "metric_compaction_state" ("id") VALUES (1) ON CONFLICT DO NOTHING;
--> statement-breakpoint
CREATE TABLE "metric_compaction_marks" (
	"hour" timestamp with time zone PRIMARY KEY NOT NULL
);
