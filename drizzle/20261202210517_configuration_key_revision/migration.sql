ALTER TABLE "agent_configurations" ADD COLUMN "revision" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Written by hand: a key set before keys had revisions was last changed at or before its
-- agent's current revision, so it takes that one (0 would read as "no such key" to a
-- check-and-set).
UPDATE "agent_configurations" c SET "revision" = a."configuration_revision" FROM "agents" a WHERE a."id" = c."agent_id";
