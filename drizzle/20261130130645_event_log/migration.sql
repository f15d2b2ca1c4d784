CREATE TABLE "event_consumers" (
	"name" varchar(64) PRIMARY KEY,
	"tx" xid8 NOT NULL,
	"id" bigint NOT NULL,
	"handled" bigint DEFAULT 0 NOT NULL,
	"owner" varchar(64),
	"lease_until" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY,
	"tx" xid8 DEFAULT pg_current_xact_id() NOT NULL,
	"subject_kind" varchar(32) NOT NULL,
	"subject_id" varchar(64) NOT NULL,
	"type" varchar(64) NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"payload" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_status_minutes" (
	"minute" timestamp with time zone,
	"status" "agent_status",
	"delta" integer NOT NULL,
	CONSTRAINT "agent_status_minutes_pkey" PRIMARY KEY("minute","status")
);
--> statement-breakpoint
CREATE TABLE "liveness_sweeps" (
	"id" integer PRIMARY KEY,
	"swept_at" timestamp with time zone
);
--> statement-breakpoint
-- Written by hand: the agent event log moves into the domain-neutral "events" table with
-- its history. Carried-over events get transaction id 0, so they come before every new
-- one in log order and keep their own order by id; a client still holding an old cursor
-- (a bare id) resumes exactly where it was (see api/events/position.ts).
INSERT INTO "events" ("id", "tx", "subject_kind", "subject_id", "type", "at", "payload")
SELECT "id", '0'::xid8, 'agent', "agent_id"::text, "type"::text, "at",
       jsonb_build_object('agent', "agent", 'previousStatus', "previous_status", 'status', "status", 'reason', "reason", 'data', "data")
FROM "agent_events";--> statement-breakpoint
SELECT setval(pg_get_serial_sequence('events', 'id'), coalesce((SELECT max("id") FROM "events"), 0) + 1, false);--> statement-breakpoint
-- By hand too: the one row of the sweep mark, with no sweep recorded yet. The first sweep
-- therefore grants agents a grace period, which an upgrade after downtime needs.
INSERT INTO "liveness_sweeps" ("id", "swept_at") VALUES (1, NULL);--> statement-breakpoint
DROP TABLE "agent_events";--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "grace_until" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "events_order_idx" ON "events" ("tx","id");--> statement-breakpoint
CREATE INDEX "events_subject_idx" ON "events" ("subject_kind","subject_id","tx","id");--> statement-breakpoint
DROP TYPE "agent_event_type";