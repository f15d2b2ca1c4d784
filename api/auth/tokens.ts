import crypto, { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type OperatorKind = 'admin' | 'viewer' | 'enrollment';
export type Role = OperatorKind | 'agent';

/** Carries the hash unverified: the agent's own requests check it against the row they touch. */
export type AgentPrincipal = { role: 'agent'; agentId: string; tokenHash: string };
/** An operator: the role and the API key that carries it (absent only for the server's own work, such as the demo seed). */
export type OperatorPrincipal = { role: OperatorKind; key?: OperatorKey };
/** An enrollment key's defaults ride along, for the registrations it makes. */
export interface OperatorKey {
  id: string;
  name: string;
  defaultTags?: string[];
  defaultEnvironment?: string | null;
}
export type Principal = OperatorPrincipal | AgentPrincipal;

/** Who did something, as the event log records it: the key's name, or the role for the server's own work. */
export const actorOf = (p: Principal): string => (p.role === 'agent' ? `agent ${p.agentId}` : (p.key?.name ?? p.role));

// crypto.hash (Node ≥ 20.12) hashes a short string about three times faster than a Hash object.
const oneShot = (crypto as { hash?: <E extends 'buffer' | 'hex'>(algorithm: string, data: string, encoding: E) => E extends 'hex' ? string : Buffer }).hash;

/** Tokens are 256 random bits, so a single sha256 is as strong as any slow hash here. */
export const digestToken: (token: string) => Buffer = oneShot
  ? (token) => oneShot('sha256', token, 'buffer')
  : (token) => createHash('sha256').update(token).digest();

/** The digest as stored: hex, computed as hex rather than through a Buffer. */
export const hashToken: (token: string) => string = oneShot
  ? (token) => oneShot('sha256', token, 'hex')
  : (token) => createHash('sha256').update(token).digest('hex');

export function sameDigest(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sameHash(a: string, b: string): boolean {
  return sameDigest(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

const PREFIX: Record<Role, string> = { admin: 'am_admin', viewer: 'am_viewer', enrollment: 'am_enroll', agent: 'am_agent' };

export const newOperatorToken = (kind: OperatorKind) => `${PREFIX[kind]}_${randomBytes(32).toString('base64url')}`;

/** The agent id rides in the token so a heartbeat needs no lookup to learn who sent it. */
export const newAgentToken = (agentId: string) =>
  `${PREFIX.agent}_${agentId.replaceAll('-', '')}_${randomBytes(32).toString('base64url')}`;

const AGENT_TOKEN = /^am_agent_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$/;

export function agentIdOfToken(token: string): string | undefined {
  const hex = AGENT_TOKEN.exec(token)?.[1];
  if (!hex) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function bearer(authorization: unknown): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return m?.[1];
}
