-- A notification of a transition refers to the transition's alert event instead of
-- holding a copy of the alert; reminders keep theirs. Rows written before say what they
-- tell in their copy.
ALTER TABLE "notifications" ADD COLUMN "event" varchar(16);--> statement-breakpoint
UPDATE "notifications" SET "event" = "alert"->>'event';--> statement-breakpoint
ALTER TABLE "notifications" ALTER COLUMN "event" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "event_id" bigint;--> statement-breakpoint
ALTER TABLE "notifications" ALTER COLUMN "alert" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_content_check" CHECK ("alert" is not null or "event_id" is not null);
