-- A status change rewrote every index of agents because status had one; see agents.table.ts.
DROP INDEX "agents_status_idx";
