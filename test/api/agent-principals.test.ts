import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgentPrincipals, Authenticator } from '../../api/auth/authenticator';
import { hashToken, newAgentToken } from '../../api/auth/tokens';
import type { KeyRing } from '../../api/keys/keys.ring';

const agent = () => {
  const id = randomUUID();
  const token = newAgentToken(id);
  return { id, token, header: `Bearer ${token}` };
};

describe('the agent principals an authenticator remembers', () => {
  it('give each Authorization value its own agent and hash, and hold two generations at most', () => {
    const remembered = new AgentPrincipals(3);
    const agents = Array.from({ length: 10 }, agent);
    for (const a of agents) remembered.add(a.header, { role: 'agent', agentId: a.id, tokenHash: hashToken(a.token) });
    // Three per generation: 1–3, then 4–6, 7–9 and 10 each start one, so 7–9 (older) and 10 (newer) are left.
    expect(agents.map((a) => remembered.get(a.header) !== undefined)).toEqual([false, false, false, false, false, false, true, true, true, true]);
    for (const a of agents.slice(6)) expect(remembered.get(a.header)).toEqual({ role: 'agent', agentId: a.id, tokenHash: hashToken(a.token) });
  });

  it('keep a value the older generation still knows when it is asked for again', () => {
    const remembered = new AgentPrincipals(2);
    const [first, ...rest] = Array.from({ length: 4 }, agent);
    remembered.add(first.header, { role: 'agent', agentId: first.id, tokenHash: hashToken(first.token) });
    remembered.add(rest[0].header, { role: 'agent', agentId: rest[0].id, tokenHash: hashToken(rest[0].token) });
    // Full: the next one starts a generation, and `first` is in the older one, asked for again.
    remembered.add(rest[1].header, { role: 'agent', agentId: rest[1].id, tokenHash: hashToken(rest[1].token) });
    expect(remembered.get(first.header)?.agentId).toBe(first.id);
    // Another turn drops the generation `first` was in, but not `first`, which moved.
    remembered.add(rest[2].header, { role: 'agent', agentId: rest[2].id, tokenHash: hashToken(rest[2].token) });
    expect(remembered.get(first.header)?.agentId).toBe(first.id);
    expect(remembered.get(rest[0].header)).toBeUndefined();
  });
});

describe('an authenticator', () => {
  it('answers an agent token with its agent and hash, the same on every request, frozen', () => {
    const auth = new Authenticator({ find: () => undefined } as unknown as KeyRing, { now: () => new Date() } as never);
    const a = agent();
    const first = auth.authenticate(a.header);
    expect(first).toEqual({ role: 'agent', agentId: a.id, tokenHash: hashToken(a.token) });
    // The same text in another string, as the next request's header would be.
    expect(auth.authenticate(Buffer.from(a.header).toString())).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('remembers only "Bearer <token>": a value padded with whitespace is worked out on each request, right each time', () => {
    const auth = new Authenticator({ find: () => undefined } as unknown as KeyRing, { now: () => new Date() } as never);
    const a = agent();
    for (const value of [`Bearer    ${a.token}`, `Bearer ${a.token}${' '.repeat(1 << 20)}`, `bearer ${a.token}`]) {
      const first = auth.authenticate(value);
      expect(first).toEqual({ role: 'agent', agentId: a.id, tokenHash: hashToken(a.token) });
      expect(auth.authenticate(value)).not.toBe(first);
    }
    const remembered = new AgentPrincipals();
    remembered.add(`Bearer ${a.token}${' '.repeat(100)}`, { role: 'agent', agentId: a.id, tokenHash: hashToken(a.token) });
    expect(remembered.get(`Bearer ${a.token}${' '.repeat(100)}`)).toBeUndefined();
  });

  it('looks an API key up on every request: a key revoked after one request is refused on the next', () => {
    const key = { id: 'k1', name: 'ops', role: 'admin', revokedAt: null as Date | null, expiresAt: null };
    const ring = { find: (hash: string) => (hash === hashToken('an-operator-secret') ? key : undefined), markUsed: () => {} };
    const auth = new Authenticator(ring as unknown as KeyRing, { now: () => new Date() } as never);
    expect(auth.authenticate('Bearer an-operator-secret')).toMatchObject({ role: 'admin', key: { name: 'ops' } });
    key.revokedAt = new Date();
    expect(() => auth.authenticate('Bearer an-operator-secret')).toThrow(/revoked/);
  });
});
