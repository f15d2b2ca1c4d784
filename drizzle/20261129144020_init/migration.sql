CREATE TYPE "agent_status" AS ENUM('online', 'degraded', 'offline');--> statement-breakpoint
CREATE TYPE "health_status" AS ENUM('healthy', 'degraded', 'unhealthy');--> statement-breakpoint
CREATE TYPE "alert_rule_kind" AS ENUM('agent_status', 'metric_threshold', 'heartbeat_absent');--> statement-breakpoint
CREATE TYPE "alert_severity" AS ENUM('info', 'warning', 'critical');--> statement-breakpoint
CREATE TYPE "alert_state" AS ENUM('pending', 'firing', 'resolved');--> statement-breakpoint
CREATE TYPE "operator_token_kind" AS ENUM('admin', 'viewer', 'enrollment');--> statement-breakpoint
CREATE TYPE "agent_event_type" AS ENUM('registered', 'updated', 'deregistered', 'status_changed', 'tags_changed', 'configuration_changed');--> statement-breakpoint
CREATE TABLE "agent_configurations" (
	"agent_id" uuid,
	"key" varchar(255),
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_configurations_pkey" PRIMARY KEY("agent_id","key")
);
--> statement-breakpoint
CREATE TABLE "agent_tags" (
	"agent_id" uuid,
	"tag" varchar(64),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_tags_pkey" PRIMARY KEY("agent_id","tag")
);
--> statement-breakpoint
CREATE TABLE "agents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" varchar(255) NOT NULL,
	"type" varchar(64) NOT NULL,
	"host" varchar(255) NOT NULL,
	"port" integer NOT NULL,
	"environment" varchar(64) NOT NULL,
	"status" "agent_status" DEFAULT 'online'::"agent_status" NOT NULL,
	"health" "health_status" DEFAULT 'healthy'::"health_status" NOT NULL,
	"health_message" varchar(1024),
	"metadata" jsonb DEFAULT '{}' NOT NULL,
	"heartbeat_interval_seconds" integer DEFAULT 30 NOT NULL,
	"last_heartbeat" timestamp with time zone,
	"last_sequence" integer,
	"offline_at" timestamp with time zone,
	"configuration_revision" integer DEFAULT 0 NOT NULL,
	"token_hash" varchar(64) NOT NULL CONSTRAINT "agents_token_hash_key" UNIQUE,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agents_identity_key" UNIQUE("name","host","port","environment")
);
--> statement-breakpoint
CREATE TABLE "alert_instances" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"rule_id" uuid NOT NULL,
	"agent_id" uuid,
	"fingerprint" varchar(64) NOT NULL,
	"state" "alert_state" DEFAULT 'pending'::"alert_state" NOT NULL,
	"value" double precision,
	"labels" jsonb DEFAULT '{}' NOT NULL,
	"active_at" timestamp with time zone DEFAULT now() NOT NULL,
	"fired_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"last_evaluated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"acknowledged_by" varchar(255)
);
--> statement-breakpoint
CREATE TABLE "alert_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" varchar(255) NOT NULL UNIQUE,
	"kind" "alert_rule_kind" NOT NULL,
	"scope" jsonb DEFAULT '{}' NOT NULL,
	"condition" jsonb NOT NULL,
	"for_seconds" integer DEFAULT 0 NOT NULL,
	"severity" "alert_severity" DEFAULT 'warning'::"alert_severity" NOT NULL,
	"labels" jsonb DEFAULT '{}' NOT NULL,
	"annotations" jsonb DEFAULT '{}' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "operator_tokens" (
	"kind" "operator_token_kind" PRIMARY KEY,
	"token_hash" varchar(64) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_events" (
	"id" bigserial PRIMARY KEY,
	"agent_id" uuid NOT NULL,
	"type" "agent_event_type" NOT NULL,
	"previous_status" "agent_status",
	"status" "agent_status",
	"reason" text,
	"agent" jsonb NOT NULL,
	"data" jsonb DEFAULT '{}' NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "agent_tags_tag_idx" ON "agent_tags" ("tag");--> statement-breakpoint
CREATE INDEX "agents_status_idx" ON "agents" ("status");--> statement-breakpoint
CREATE INDEX "agents_type_idx" ON "agents" ("type");--> statement-breakpoint
CREATE INDEX "agents_environment_idx" ON "agents" ("environment");--> statement-breakpoint
CREATE INDEX "agents_created_at_idx" ON "agents" ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "alert_instances_open_key" ON "alert_instances" ("rule_id","fingerprint") WHERE "state" <> 'resolved';--> statement-breakpoint
CREATE INDEX "alert_instances_state_idx" ON "alert_instances" ("state");--> statement-breakpoint
CREATE INDEX "alert_instances_agent_idx" ON "alert_instances" ("agent_id");--> statement-breakpoint
CREATE INDEX "agent_events_agent_id_idx" ON "agent_events" ("agent_id","id");--> statement-breakpoint
ALTER TABLE "agent_configurations" ADD CONSTRAINT "agent_configurations_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "agent_tags" ADD CONSTRAINT "agent_tags_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "alert_instances" ADD CONSTRAINT "alert_instances_rule_id_alert_rules_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "alert_rules"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "alert_instances" ADD CONSTRAINT "alert_instances_agent_id_agents_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE SET NULL;