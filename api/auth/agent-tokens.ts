import type { Db } from '../db';
import { AppError } from '../errors';
import { currentTokenHashes } from './agent-tokens.store';
import { sameHash, type AgentPrincipal } from './tokens';

export const invalidAgentToken = () =>
  new AppError('UNAUTHENTICATED', 'the agent token is not valid: revoked by a later registration, or its agent deregistered; register again');

/** Most agents looked up by one query. */
const LOOKUP_BATCH = 1000;
type Waiting = { tokenHash: string; settle: (valid: boolean) => void; fail: (err: unknown) => void };

/**
 * Checks an agent token against the hash its agent holds, at the door, before a request
 * is parsed. Answers, good and bad, are remembered for `ttlMs`: a token revoked on any
 * replica stops working everywhere within that time, and a flood of one forged token
 * costs one lookup per interval. Lookups of one token in flight are shared, and those
 * asked for within one turn of the event loop are made by one query: a fleet of agents
 * each sending a GraphQL heartbeat costs a round trip per turn, not one per request.
 *
 * Heartbeats over REST skip this: their batched write matches the token's hash itself,
 * so they are verified on the row they change at no extra cost.
 */
export class AgentTokenVerifier {
  private readonly known = new Map<string, { valid: boolean; until: number }>();
  private readonly pending = new Map<string, Promise<boolean>>();
  /** Tokens waiting for the next lookup, by agent id; it runs once this turn's requests are in. */
  private queued?: Map<string, Waiting[]>;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    /** Most tokens remembered; the oldest are forgotten first. */
    private readonly maxEntries = 50_000,
  ) {}

  async verify(principal: AgentPrincipal): Promise<void> {
    if (!(await this.isValid(principal))) throw invalidAgentToken();
  }

  private isValid({ agentId, tokenHash }: AgentPrincipal): boolean | Promise<boolean> {
    const known = this.known.get(tokenHash);
    if (known && known.until > Date.now()) return known.valid;
    let lookup = this.pending.get(tokenHash);
    if (!lookup) {
      lookup = new Promise<boolean>((settle, fail) => {
        if (!this.queued || this.queued.size >= LOOKUP_BATCH) {
          const queued = (this.queued = new Map<string, Waiting[]>());
          setImmediate(() => void this.lookUp(queued));
        }
        const waiting = this.queued.get(agentId) ?? [];
        waiting.push({ tokenHash, settle, fail });
        this.queued.set(agentId, waiting);
      }).finally(() => this.pending.delete(tokenHash));
      this.pending.set(tokenHash, lookup);
    }
    return lookup;
  }

  private async lookUp(queued: Map<string, Waiting[]>): Promise<void> {
    if (this.queued === queued) this.queued = undefined;
    try {
      const stored = await currentTokenHashes(this.db, [...queued.keys()]);
      for (const [agentId, waiting] of queued) {
        const hash = stored.get(agentId);
        for (const w of waiting) {
          const valid = hash !== undefined && sameHash(hash, w.tokenHash);
          this.remember(w.tokenHash, valid);
          w.settle(valid);
        }
      }
    } catch (err) {
      for (const waiting of queued.values()) for (const w of waiting) w.fail(err);
    }
  }

  private remember(tokenHash: string, valid: boolean): void {
    if (this.ttlMs <= 0) return;
    this.known.delete(tokenHash);
    if (this.known.size >= this.maxEntries) this.known.delete(this.known.keys().next().value!);
    this.known.set(tokenHash, { valid, until: Date.now() + this.ttlMs });
  }
}
