ALTER TABLE "alert_instances" DROP CONSTRAINT "alert_instances_rule_id_alert_rules_id_fkey";--> statement-breakpoint
DROP TABLE "alert_instances";--> statement-breakpoint
DROP TABLE "alert_rules";--> statement-breakpoint
DROP TYPE "alert_rule_kind";--> statement-breakpoint
DROP TYPE "alert_severity";--> statement-breakpoint
DROP TYPE "alert_state";