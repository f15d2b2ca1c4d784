CREATE TYPE "metric_kind" AS ENUM('gauge', 'counter', 'delta');--> statement-breakpoint
CREATE TABLE "metric_rollup_marks" (
	"level" smallint,
	"bucket" timestamp with time zone,
	CONSTRAINT "metric_rollup_marks_pkey" PRIMARY KEY("level","bucket")
);
--> statement-breakpoint
CREATE TABLE "metric_rollup_state" (
	"id" smallint PRIMARY KEY,
	"minute_done" timestamp with time zone,
	"hour_done" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "metric_series" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "metric_series_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"agent_id" uuid NOT NULL,
	"name" varchar(200) NOT NULL,
	"labels" jsonb DEFAULT '{}' NOT NULL,
	"labels_hash" varchar(32) NOT NULL,
	"kind" "metric_kind" NOT NULL,
	"unit" varchar(32) DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "metric_series_identity_key" UNIQUE("agent_id","name","labels_hash")
);
--> statement-breakpoint
CREATE INDEX "metric_series_name_idx" ON "metric_series" ("name");--> statement-breakpoint
ALTER TABLE "metric_series" ADD CONSTRAINT "metric_series_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;