import { AppError } from '../errors';
import { agentIdOfToken, bearer, digestToken, hashToken, sameDigest, sameHash, type AgentPrincipal, type OperatorKind, type Principal, type Role } from './tokens';

/**
 * Turns an `Authorization` value — from an HTTP header or a WebSocket
 * `connection_init` payload alike — into a principal. Operator tokens are compared
 * in constant time against the hashes loaded at start.
 */
export class Authenticator {
  /** The operator hashes as raw digests, decoded once rather than on every request. */
  private readonly operatorDigests: [OperatorKind, Buffer][];

  constructor(operatorHashes: Map<OperatorKind, string>) {
    this.operatorDigests = [...operatorHashes].map(([kind, hex]) => [kind, Buffer.from(hex, 'hex')]);
  }

  /** Undefined when no token was given; throws FORBIDDEN for a token that is not ours. */
  authenticate(authorization: unknown): Principal | undefined {
    const token = bearer(authorization);
    if (token === undefined) {
      if (authorization !== undefined && authorization !== null && authorization !== '') {
        throw new AppError('UNAUTHENTICATED', 'Authorization must be "Bearer <token>"');
      }
      return undefined;
    }
    // An agent token names its agent; its hash is checked against that agent's row where
    // it is used. Operator tokens never have this form (the configuration refuses one that
    // does), so telling the two apart reveals nothing about any operator token.
    const agentId = agentIdOfToken(token);
    if (agentId) return { role: 'agent', agentId, tokenHash: hashToken(token) };
    const digest = digestToken(token);
    let match: OperatorKind | undefined;
    // Compare against every kind, so the time taken does not tell which one matched.
    for (const [kind, expected] of this.operatorDigests) if (sameDigest(digest, expected)) match = kind;
    if (match) return { role: match };
    throw new AppError('FORBIDDEN', 'the token is not valid');
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
  if (!sameHash(principal.tokenHash, storedHash)) throw new AppError('FORBIDDEN', 'the agent token is not valid (revoked by a later registration?)');
}
