-- Written by hand: drizzle-kit 1.0.0-rc.5 cannot declare a partitioned table.
-- Samples and minute roll-ups are partitioned by day, so retention drops a whole day's
-- table instead of deleting rows one by one (no bloat, no vacuum debt), and a query over
-- a time range reads only the days it covers. The partitions themselves are created
-- ahead of time, and dropped at the end of retention, by the metrics maintenance job
-- (api/metrics/metrics.maintenance.ts), not here: which days exist depends on the clock.
--
-- A sample row is three narrow columns; its series' agent, name and labels are in
-- metric_series. The primary key finds a series' samples in time order and makes a
-- repeated (series, time) keep the value stored first. The BRIN index on time costs a
-- few pages per partition and serves the roll-up job's "every sample of this minute".
CREATE TABLE "metric_samples" (
	"series_id" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"value" double precision NOT NULL,
	CONSTRAINT "metric_samples_pkey" PRIMARY KEY ("series_id", "at")
) PARTITION BY RANGE ("at");
--> statement-breakpoint
CREATE INDEX "metric_samples_at_idx" ON "metric_samples" USING brin ("at");
--> statement-breakpoint
-- count, sum, min, max and the last value (with its time) of a series over one minute.
CREATE TABLE "metric_rollup_1m" (
	"series_id" integer NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"count" integer NOT NULL,
	"sum" double precision NOT NULL,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	"last" double precision NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	CONSTRAINT "metric_rollup_1m_pkey" PRIMARY KEY ("series_id", "bucket")
) PARTITION BY RANGE ("bucket");
--> statement-breakpoint
-- The same over one hour. Sixty times smaller than the minutes: one table, trimmed by a
-- DELETE once a day.
CREATE TABLE "metric_rollup_1h" (
	"series_id" integer NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"count" integer NOT NULL,
	"sum" double precision NOT NULL,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	"last" double precision NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	CONSTRAINT "metric_rollup_1h_pkey" PRIMARY KEY ("series_id", "bucket")
);
--> statement-breakpoint
CREATE INDEX "metric_rollup_1h_bucket_idx" ON "metric_rollup_1h" ("bucket");
--> statement-breakpoint
INSERT INTO "metric_rollup_state" ("id") VALUES (1) ON CONFLICT DO NOTHING;
