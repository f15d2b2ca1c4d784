ALTER TABLE "metric_rollup_marks" DROP CONSTRAINT "metric_rollup_marks_pkey";--> statement-breakpoint
CREATE INDEX "metric_rollup_marks_level_bucket_idx" ON "metric_rollup_marks" ("level","bucket");