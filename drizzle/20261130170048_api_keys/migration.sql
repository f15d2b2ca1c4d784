CREATE TYPE "api_key_role" AS ENUM('admin', 'viewer', 'enrollment');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" varchar(100) NOT NULL,
	"role" "api_key_role" NOT NULL,
	"token_hash" varchar(64) NOT NULL,
	"prefix" varchar(24) NOT NULL,
	"expires_at" timestamp with time zone,
	"default_tags" varchar(64)[] DEFAULT '{}'::varchar(64)[] NOT NULL,
	"default_environment" varchar(64),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" varchar(100),
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"revoked_by" varchar(100)
);
--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_token_hash_key" ON "api_keys" ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_active_name_key" ON "api_keys" ("name") WHERE "revoked_at" is null;--> statement-breakpoint
CREATE INDEX "api_keys_created_at_idx" ON "api_keys" ("created_at");