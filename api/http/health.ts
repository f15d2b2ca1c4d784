import { sql } from 'drizzle-orm';
import type { ServerResponse } from 'node:http';
import type { Database } from '../db';
import { UNAVAILABLE_RETRY_AFTER } from '../errors';
import type { Logger } from '../log';
import { sendJson } from './http';

/** How long one database check may take, and how long its answer serves later probes. */
const CHECK_TIMEOUT_MS = 2_000;
const CHECK_TTL_MS = 1_000;

/**
 * /health is liveness: the process answers, whatever its database does (a restart would
 * not bring the database back). /ready is readiness: 503 while the database is out of
 * reach or the replica drains, so a load balancer sends traffic elsewhere.
 */
export class Readiness {
  draining = false;
  private last?: { at: number; problem?: string };
  private pending?: Promise<string | undefined>;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
  ) {}

  health(res: ServerResponse): void {
    sendJson(res, 200, { status: 'ok', database: this.database.kind });
  }

  async ready(res: ServerResponse): Promise<void> {
    const problem = this.draining ? 'draining: this replica is shutting down' : await this.databaseProblem();
    if (this.draining || problem) {
      return sendJson(res, 503, { status: this.draining ? 'draining' : 'unavailable', database: this.database.kind, reason: problem }, { 'retry-after': String(UNAVAILABLE_RETRY_AFTER) });
    }
    sendJson(res, 200, { status: 'ready', database: this.database.kind });
  }

  /** Undefined when `select 1` answers in time; one check at a time, its answer reused for a second. */
  private databaseProblem(): Promise<string | undefined> | string | undefined {
    if (this.last && Date.now() - this.last.at < CHECK_TTL_MS) return this.last.problem;
    this.pending ??= this.check().then((problem) => {
      this.last = { at: Date.now(), problem };
      this.pending = undefined;
      return problem;
    });
    return this.pending;
  }

  private async check(): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)));
      await Promise.race([this.database.db.execute(sql`select 1`), timeout]);
      return undefined;
    } catch (err) {
      this.log.warn('readiness: database unreachable', err);
      let root = err as { message?: string; cause?: unknown };
      while (root.cause) root = root.cause as typeof root;
      return `database unreachable: ${String(root.message).split('\n')[0].slice(0, 200)}`;
    } finally {
      clearTimeout(timer);
    }
  }
}
