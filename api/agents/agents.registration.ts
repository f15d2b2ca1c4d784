import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { invalidAgentToken } from '../auth/agent-tokens';
import { authorize, requirePrincipal, verifyAgentToken } from '../auth/authenticator';
import { actorOf, hashToken, newAgentToken, type Principal } from '../auth/tokens';
import type { Db } from '../db';
import { AppError, badInput } from '../errors';
import { appendAgentEvents } from './agents.events';
import { MAX_TAGS, parseRegistration } from './agents.input';
import type { AgentDeps } from './agents.service';
import { publicAgent, type PublicAgent } from './agents.snapshot';
import { agentStore, type AgentChangeRow } from './agents.store';
import type { AgentRow } from './agents.table';
import { AGENT_KIND } from './agents.types';

const notOwnIdentity = () =>
  new AppError(
    'FORBIDDEN',
    "an agent token may re-register only its own agent (the same name, host, port and environment); register a new agent with an enrollment or admin token",
  );

/** The agent was deregistered between the conflicting insert and the re-read. */
class Vanished extends Error {}

/** Runs `run` again (a few times) when it fails with an error of class `E`. */
async function retryIf<T>(E: new () => Error, run: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof E) || i >= attempts) throw err;
    }
  }
}

/**
 * Registers an agent, or re-registers the one with the same name, host, port and
 * environment: same id, updated fields, and a fresh token that revokes the old one.
 * The unique key makes concurrent registrations of one agent converge on one row.
 *
 * Re-registration is guarded (see `guardReregistration`): an agent that is alive can be
 * re-registered only with its own token or an admin token. Tags an admin set survive
 * it, and each change it makes is an event of its own.
 */
export async function registerAgent(deps: AgentDeps, principal: Principal | undefined, raw: Record<string, unknown>): Promise<{ agent: PublicAgent; token: string; created: boolean }> {
  const caller = requirePrincipal(principal);
  if (caller.role !== 'agent') authorize(caller, 'register');
  // An enrollment key's defaults: its environment (the only one it may register in) and its tags, which count as an admin's.
  const key = caller.role === 'enrollment' ? caller.key : undefined;
  const input = parseRegistration(raw, deps.config, key?.defaultEnvironment);
  const keyTags = key?.defaultTags ?? [];
  // The tags sent and the key's are each within MAX_TAGS; together they must be too.
  const merged = new Set([...(input.tags ?? []), ...keyTags]).size;
  if (merged > MAX_TAGS) {
    throw badInput({
      tags: `with the enrollment key's ${keyTags.length} default tags, these would give the agent ${merged} tags, over the limit of ${MAX_TAGS} per agent; send at most ${MAX_TAGS - keyTags.length} tags the key does not give`,
    });
  }
  const now = deps.clock.now();
  const fields = {
    type: input.type,
    metadata: input.metadata,
    heartbeatIntervalSeconds: input.heartbeatIntervalSeconds,
    ...deps.policy.initial(now, input.heartbeatIntervalSeconds),
    updatedAt: now,
  };
  const identity = { name: input.name, host: input.host, port: input.port, environment: input.environment };
  // A new agent is one insert. One that exists is changed in a transaction of its own,
  // which locks it before writing (EventLog.lockSubjects), so its events stay in order
  // with those of heartbeats and sweeps that change it at the same time.
  return retryIf(Vanished, async () => {
    // An agent's own token re-registers that agent; it never creates one.
    // A new agent, its tags and its event are one statement: one round trip.
    if (caller.role !== 'agent') {
      const id = randomUUID();
      const token = newAgentToken(id);
      const tags = [
        ...(input.tags ?? []).filter((t) => !keyTags.includes(t)).map((tag) => ({ tag, source: 'agent' as const })),
        ...keyTags.map((tag) => ({ tag, source: 'admin' as const })),
      ];
      const values = { id, ...identity, tokenHash: hashToken(token), createdAt: now, statusChangedAt: now, ...fields };
      const data = { reregistered: false, actor: actorOf(caller) };
      const agent = await deps.events.createWith((db, at) => agentStore.insertRegistered(db, at, values, tags, data));
      if (agent) return { agent, token, created: true };
    }
    const existing = await agentStore.idByIdentity(deps.db, identity);
    if (caller.role === 'agent' && existing !== caller.agentId) {
      // The token's own agent was deregistered: the token is dead, not another agent's.
      if (!(await agentStore.exists(deps.db, caller.agentId))) throw invalidAgentToken();
      throw notOwnIdentity();
    }
    // Deregistered since our insert found it: the caller may simply retry.
    if (!existing) throw new Vanished();
    return deps.events.transaction(async (tx) => {
      await deps.events.lockSubjects(tx, AGENT_KIND, [existing]);
      const current = await agentStore.lock(tx, existing);
      if (!current) {
        if (caller.role === 'agent') throw invalidAgentToken();
        throw new Vanished();
      }
      guardReregistration(caller, current, now);
      const token = newAgentToken(existing);
      const statusChangedAt = current.status === fields.status ? current.statusChangedAt : now;
      const row = await agentStore.update(tx, existing, { ...fields, statusChangedAt, tokenHash: hashToken(token) });
      const changed = (['type', 'metadata'] as const).filter((f) => !isDeepStrictEqual(current[f], row[f]));
      const changes: AgentChangeRow[] = [{ agentId: existing, type: 'updated', status: row.status, data: { reregistered: true, changed, actor: actorOf(caller) } }];
      const tagChange = input.tags || keyTags.length ? await registrationTags(tx, current, input.tags, keyTags) : undefined;
      if (tagChange) changes.push({ agentId: existing, type: 'tags_changed', data: { ...tagChange.diff, reregistered: true, actor: actorOf(caller) } });
      if (current.heartbeatIntervalSeconds !== row.heartbeatIntervalSeconds) {
        changes.push({
          agentId: existing,
          type: 'interval_changed',
          data: { previous: current.heartbeatIntervalSeconds, interval: row.heartbeatIntervalSeconds, reregistered: true, actor: actorOf(caller) },
        });
      }
      if (current.status !== row.status) {
        changes.push({ agentId: existing, type: 'status_changed', previousStatus: current.status, status: row.status, reason: deps.policy.reasons.reregistered });
      }
      await appendAgentEvents(deps.events, tx, changes);
      const tags = tagChange?.tags ?? (await agentStore.tagsOf(tx, existing));
      return { agent: publicAgent(row, tags), token, created: false };
    });
  });
}

/**
 * Who may re-register an agent that exists (Consul's and Fleet's rule): its own token,
 * checked here against the locked row, or an admin, always; the enrollment token only
 * once the agent is offline or has never sent a heartbeat, so a shared secret cannot
 * take over a live agent (its token, interval and metadata).
 */
function guardReregistration(caller: Principal, current: AgentRow, now: Date): void {
  if (caller.role === 'agent') return verifyAgentToken(caller, current.tokenHash);
  if (caller.role === 'admin') return;
  const alive = current.status !== 'offline' && current.lastHeartbeat !== null && (current.offlineAt === null || current.offlineAt > now);
  if (alive) {
    throw new AppError(
      'CONFLICT',
      `agent "${current.name}" (${current.id}) is ${current.status} and already registered: re-register it with its own token ` +
        '(Authorization: Bearer am_agent_…), or ask an admin to re-register or deregister it; an enrollment token may re-register it only once it is offline',
    );
  }
}

/**
 * A registration's tags replace the agent's own earlier ones; an admin's stay whatever
 * it sends. Undefined when nothing changes.
 */
async function registrationTags(
  tx: Db,
  agent: AgentRow,
  sent: string[] | undefined,
  keyTags: string[],
): Promise<{ tags: string[]; diff: { added: string[]; removed: string[] } } | undefined> {
  const agentId = agent.id;
  const before = await agentStore.tagSources(tx, agentId);
  const had = new Set(before.map((t) => t.tag));
  const wanted = [...new Set([...(sent ?? []), ...keyTags])];
  const keep = new Set(wanted);
  const removed = sent ? before.filter((t) => t.source === 'agent' && !keep.has(t.tag)).map((t) => t.tag) : [];
  const added = wanted.filter((t) => !had.has(t)).sort();
  // An admin's tags stay whatever a registration sends: with them, the agent may pass the limit.
  const would = before.length - removed.length + added.length;
  if (added.length > 0 && would > MAX_TAGS) {
    const admins = before.filter((t) => t.source === 'admin').length;
    throw badInput({
      tags:
        `agent "${agent.name}" (${agentId}) has ${before.length} tags, ${admins} of them set by an admin (a registration cannot remove those); ` +
        `this registration would give it ${would}, over the limit of ${MAX_TAGS} per agent. Nothing was changed: send fewer tags, or ask an admin to remove some of its tags`,
    });
  }
  // The key's tags become an admin's even where the agent had set them already.
  await agentStore.putTags(tx, agentId, keyTags, 'admin');
  if (added.length === 0 && removed.length === 0) return undefined;
  await agentStore.removeTags(tx, agentId, removed);
  await agentStore.putTags(tx, agentId, added.filter((t) => !keyTags.includes(t)), 'agent');
  const tags = [...new Set([...before.map((t) => t.tag).filter((t) => !removed.includes(t)), ...added])].sort();
  return { tags, diff: { added, removed } };
}

