-- Edited by hand: drizzle-kit cannot create the function the generated column calls, and
-- wrote status_changed_at as NOT NULL at once, which existing rows would get as now().
--
-- natural_sort_key(name) is naturalKey of shared/agent-order.ts in SQL (the dashboard sorts
-- with that one): ASCII A-Z lowered; each run of digits becomes its length in 3 digits,
-- then its digits without leading zeros. test/api/fleet-order.test.ts checks they agree.
-- A stored generated column is recomputed only when name changes, never by a heartbeat.
CREATE FUNCTION natural_sort_key(name text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(string_agg(
           CASE WHEN r.p[1] ~ '^[0-9]' THEN lpad(length(ltrim(r.p[1], '0'))::text, 3, '0') || ltrim(r.p[1], '0') ELSE r.p[1] END,
           '' ORDER BY r.n), '')
  FROM regexp_matches(translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '[0-9]+|[^0-9]+', 'g') WITH ORDINALITY AS r(p, n)
$$;--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "name_key" text GENERATED ALWAYS AS (natural_sort_key(name)) STORED;--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "status_changed_at" timestamp with time zone;--> statement-breakpoint
-- When each agent's current status began: its latest transition (or registration) in the
-- event log; failing that, an offline agent's deadline, or its registration.
UPDATE "agents" a SET "status_changed_at" = date_trunc('milliseconds', coalesce(
  (SELECT max(e.at) FROM "events" e
    WHERE e.subject_kind = 'agent' AND e.subject_id = a.id::text AND e.type IN ('status_changed', 'registered')),
  CASE WHEN a.status = 'offline' THEN a.offline_at END,
  a.created_at));--> statement-breakpoint
ALTER TABLE "agents" ALTER COLUMN "status_changed_at" SET DEFAULT now();--> statement-breakpoint
ALTER TABLE "agents" ALTER COLUMN "status_changed_at" SET NOT NULL;
