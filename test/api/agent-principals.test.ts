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
  it('give each Authorization value its own agent and hash, across generations, and hold at most two generations', () => {
    const remembered = new AgentPrincipals(3);
    const agents = Array.from({ length: 10 }, agent);
    for (const a of agents) remembered.add(a.header, { role: 'agent', agentId: a.id, tokenHash: hashToken(a.token) });
    // Ten added, three per generation: the last generation full (7, 8, 9 would have made a
    // fourth), so only the newest six at most are still known.
    const known = agents.filter((a) => remembered.get(a.header));
    expect(known.length).toBeLessThanOrEqual(6);
    expect(known.map((a) => a.id)).toEqual(agents.slice(-known.length).map((a) => a.id));
    for (const a of known) expect(remembered.get(a.header)).toEqual({ role: 'agent', agentId: a.id, tokenHash: hashToken(a.token) });
    expect(remembered.get(agents[0].header)).toBeUndefined();
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
    expect(auth.authenticate(`${a.header}`)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
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
