import { AppError } from '../errors';
import { invalidAgentToken } from './agent-tokens';
import type { Clock } from '../clock';
import type { KeyRing } from '../keys/keys.ring';
import { agentIdOfToken, bearer, hashToken, sameHash, type AgentPrincipal, type Principal, type Role } from './tokens';

/**
 * Turns an `Authorization` value — from an HTTP header or a WebSocket
 * `connection_init` payload alike — into a principal. Operator tokens are API keys,
 * found by the hash of the secret in the key ring (in memory, refreshed from the
 * database every few seconds); an expired or revoked key is refused.
 */
export class Authenticator {
  private readonly agents = new AgentPrincipals();

  constructor(
    private readonly keys: KeyRing,
    private readonly clock: Clock,
  ) {}

  /** Undefined when no token was given; throws UNAUTHENTICATED for a token that is not ours. */
  authenticate(authorization: unknown): Principal | undefined {
    const known = this.agents.get(authorization);
    if (known) return known;
    const token = bearer(authorization);
    if (token === undefined) {
      if (authorization !== undefined && authorization !== null && authorization !== '') {
        throw new AppError('UNAUTHENTICATED', 'Authorization must be "Bearer <token>"');
      }
      return undefined;
    }
    // An agent token names its agent; its hash is checked against that agent's row before
    // the request is served (AgentTokenVerifier, or the heartbeat's own write). API keys
    // never have this form (the configuration and key creation refuse one that does).
    const agentId = agentIdOfToken(token);
    if (agentId) {
      const principal: AgentPrincipal = { role: 'agent', agentId, tokenHash: hashToken(token) };
      // Remembered only as agents send it, "Bearer <token>": a value padded with whitespace
      // (a megabyte of it fits a WebSocket's connection_init) is worked out every time instead.
      return authorization === `Bearer ${token}` ? this.agents.add(authorization, principal) : principal;
    }
    // Looked up by the sha256 of a 256-bit secret: the time a lookup takes tells nothing about any secret.
    const key = this.keys.find(hashToken(token));
    if (!key) throw new AppError('UNAUTHENTICATED', 'the token is not valid');
    if (key.revokedAt) throw new AppError('UNAUTHENTICATED', `the API key "${key.name}" was revoked; ask an admin for a new one`);
    if (key.expiresAt && key.expiresAt <= this.clock.now()) {
      throw new AppError('UNAUTHENTICATED', `the API key "${key.name}" expired at ${key.expiresAt.toISOString()}; ask an admin for a new one`);
    }
    this.keys.markUsed(key);
    return {
      role: key.role,
      key: { id: key.id, name: key.name, defaultTags: key.defaultTags, defaultEnvironment: key.defaultEnvironment },
    };
  }
}

const MAX_REMEMBERED_LENGTH = 128;

/**
 * Agent principals by the Authorization value that named them: an agent sends the same
 * one with every heartbeat, and parsing, hashing and formatting it again cost each
 * heartbeat a microsecond. What is kept is only what the value itself says (the agent id
 * it carries and its hash), not whether it is valid: that is still checked against the
 * agent's row by every request. Two generations bound the memory: when the newer one is
 * full it becomes the older, and the older one is dropped.
 */
export class AgentPrincipals {
  private newer = new Map<string, AgentPrincipal>();
  private older = new Map<string, AgentPrincipal>();

  constructor(private readonly perGeneration = 50_000) {}

  get(authorization: unknown): AgentPrincipal | undefined {
    // Only "Bearer <token>" is remembered, and an agent token is 85 characters.
    if (typeof authorization !== 'string' || authorization.length > MAX_REMEMBERED_LENGTH) return undefined;
    const found = this.newer.get(authorization);
    if (found || this.older.size === 0) return found;
    const old = this.older.get(authorization);
    if (old) this.add(authorization, old);
    return old;
  }

  add(authorization: string, principal: AgentPrincipal): AgentPrincipal {
    if (authorization.length > MAX_REMEMBERED_LENGTH) return principal;
    if (this.newer.size >= this.perGeneration) {
      this.older = this.newer;
      this.newer = new Map();
    }
    this.newer.set(authorization, Object.freeze(principal));
    return principal;
  }
}

export function requirePrincipal(principal: Principal | undefined): Principal {
  if (!principal) {
    throw new AppError('UNAUTHENTICATED', 'a bearer token is required: send "Authorization: Bearer <token>"');
  }
  return principal;
}

const DESCRIPTIONS: Record<string, string> = {
  admin: 'an admin token',
  read: 'an admin or viewer token',
  register: 'an enrollment or admin token',
};

/** Who may do what; `read` and `register` are unions of roles. */
export type Permission = 'admin' | 'read' | 'register';

const GRANTS: Record<Permission, Role[]> = {
  admin: ['admin'],
  read: ['admin', 'viewer'],
  register: ['admin', 'enrollment'],
};

export function authorize(principal: Principal | undefined, permission: Permission): void {
  const p = requirePrincipal(principal);
  if (!GRANTS[permission].includes(p.role)) {
    throw new AppError('FORBIDDEN', `this needs ${DESCRIPTIONS[permission]}; the ${p.role} token may not do it`);
  }
}

/** An agent token may act only for its own agent; operators use their own tokens. */
export function authorizeAgent(principal: Principal | undefined, agentId: string): asserts principal is AgentPrincipal {
  const p = requirePrincipal(principal);
  if (p.role !== 'agent') throw new AppError('FORBIDDEN', 'this needs the agent\'s own token');
  if (p.agentId !== agentId) throw new AppError('FORBIDDEN', 'an agent token may act only for its own agent');
}

/** The token names the agent; this checks it is still the one the agent holds (re-registration revokes). */
export function verifyAgentToken(principal: AgentPrincipal, storedHash: string): void {
  if (!sameHash(principal.tokenHash, storedHash)) throw invalidAgentToken();
}
