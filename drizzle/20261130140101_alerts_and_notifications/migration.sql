CREATE TYPE "alert_rule_kind" AS ENUM('agent_status', 'metric_threshold', 'metric_absent', 'flapping');--> statement-breakpoint
CREATE TYPE "alert_severity" AS ENUM('critical', 'warning', 'info');--> statement-breakpoint
CREATE TYPE "alert_state" AS ENUM('pending', 'firing', 'resolved');--> statement-breakpoint
CREATE TYPE "channel_format" AS ENUM('json', 'alertmanager', 'slack');--> statement-breakpoint
CREATE TYPE "delivery_status" AS ENUM('pending', 'delivered', 'failed');--> statement-breakpoint
CREATE TABLE "alert_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" varchar(200) NOT NULL UNIQUE,
	"kind" "alert_rule_kind" NOT NULL,
	"scope" jsonb DEFAULT '{}' NOT NULL,
	"condition" jsonb NOT NULL,
	"for_seconds" integer DEFAULT 0 NOT NULL,
	"consecutive" integer,
	"keep_firing_for_seconds" integer DEFAULT 0 NOT NULL,
	"severity" "alert_severity" DEFAULT 'warning'::"alert_severity" NOT NULL,
	"labels" jsonb DEFAULT '{}' NOT NULL,
	"summary" text DEFAULT '' NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"builtin" varchar(64) UNIQUE,
	"next_eval_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "alert_silences" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"matchers" jsonb NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone,
	"schedule" jsonb,
	"comment" text NOT NULL,
	"created_by" varchar(200) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "alerts" (
	"id" uuid PRIMARY KEY,
	"rule_id" uuid,
	"rule_name" varchar(200) NOT NULL,
	"rule_kind" "alert_rule_kind" NOT NULL,
	"agent_id" uuid NOT NULL,
	"agent" jsonb NOT NULL,
	"state" "alert_state" NOT NULL,
	"severity" "alert_severity" NOT NULL,
	"labels" jsonb DEFAULT '{}' NOT NULL,
	"summary" text DEFAULT '' NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"value" double precision,
	"started_at" timestamp with time zone NOT NULL,
	"fired_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"clearing_since" timestamp with time zone,
	"resolve_reason" text,
	"streak" integer DEFAULT 0 NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"acknowledged_by" varchar(200),
	"acknowledge_comment" text,
	"silenced_by" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"flapping" boolean DEFAULT false NOT NULL,
	"next_reminder_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deliveries" (
	"id" uuid PRIMARY KEY,
	"channel_id" uuid NOT NULL,
	"group_key" varchar(1000) NOT NULL,
	"test" boolean DEFAULT false NOT NULL,
	"body" text NOT NULL,
	"alert_count" integer NOT NULL,
	"status" "delivery_status" DEFAULT 'pending'::"delivery_status" NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"lease_until" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "delivery_attempts" (
	"id" bigserial PRIMARY KEY,
	"delivery_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"status_code" integer,
	"error_class" varchar(32) NOT NULL,
	"error" text,
	"response_body" text,
	"next_attempt_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "notification_channels" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" varchar(200) NOT NULL UNIQUE,
	"url" text NOT NULL,
	"secret" varchar(128) NOT NULL,
	"previous_secret" varchar(128),
	"previous_secret_until" timestamp with time zone,
	"format" "channel_format" DEFAULT 'json'::"channel_format" NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"disabled_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_policies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" varchar(200) NOT NULL UNIQUE,
	"matchers" jsonb DEFAULT '[]' NOT NULL,
	"channel_ids" uuid[] NOT NULL,
	"group_by" varchar(64)[] DEFAULT '{alertname,environment}'::varchar(64)[] NOT NULL,
	"group_wait_ms" integer DEFAULT 500 NOT NULL,
	"repeat_interval_seconds" integer DEFAULT 14400 NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" bigserial PRIMARY KEY,
	"key" varchar(200) NOT NULL UNIQUE,
	"channel_id" uuid NOT NULL,
	"group_key" varchar(1000) NOT NULL,
	"alert_id" uuid NOT NULL,
	"alert" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"delivery_id" uuid
);
--> statement-breakpoint
CREATE INDEX "alert_silences_ends_idx" ON "alert_silences" ("ends_at");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_open_key" ON "alerts" ("rule_id","agent_id") WHERE "state" <> 'resolved';--> statement-breakpoint
CREATE INDEX "alerts_state_idx" ON "alerts" ("state","severity");--> statement-breakpoint
CREATE INDEX "alerts_agent_idx" ON "alerts" ("agent_id","started_at");--> statement-breakpoint
CREATE INDEX "alerts_rule_idx" ON "alerts" ("rule_id","started_at");--> statement-breakpoint
CREATE INDEX "alerts_started_idx" ON "alerts" ("started_at");--> statement-breakpoint
CREATE INDEX "deliveries_due_idx" ON "deliveries" ("next_attempt_at") WHERE "status" = 'pending';--> statement-breakpoint
CREATE INDEX "deliveries_channel_idx" ON "deliveries" ("channel_id","created_at");--> statement-breakpoint
CREATE INDEX "delivery_attempts_delivery_idx" ON "delivery_attempts" ("delivery_id","at");--> statement-breakpoint
CREATE INDEX "notifications_due_idx" ON "notifications" ("due_at") WHERE "delivery_id" is null;--> statement-breakpoint
CREATE INDEX "notifications_delivery_idx" ON "notifications" ("delivery_id");--> statement-breakpoint
CREATE INDEX "notifications_alert_idx" ON "notifications" ("alert_id");--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_rule_id_alert_rules_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "alert_rules"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_channel_id_notification_channels_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "notification_channels"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_delivery_id_deliveries_id_fkey" FOREIGN KEY ("delivery_id") REFERENCES "deliveries"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_channel_id_notification_channels_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "notification_channels"("id") ON DELETE CASCADE;