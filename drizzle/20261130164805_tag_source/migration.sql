CREATE TYPE "tag_source" AS ENUM('agent', 'admin');--> statement-breakpoint
-- Tags that exist already may have been set by an admin: they are kept as an admin's, so a re-registration cannot remove them.
ALTER TABLE "agent_tags" ADD COLUMN "source" "tag_source" DEFAULT 'admin'::"tag_source" NOT NULL;--> statement-breakpoint
ALTER TABLE "agent_tags" ALTER COLUMN "source" SET DEFAULT 'agent'::"tag_source";
