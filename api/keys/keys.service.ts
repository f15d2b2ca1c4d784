import { tagList } from '../agents/agents.input';
import { authorize } from '../auth/authenticator';
import { actorOf, hashToken, newOperatorToken, type Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import type { Db } from '../db';
import { AppError, badInput, notFound } from '../errors';
import type { EventLog } from '../events/events.log';
import type { EventRecord } from '../events/events.types';
import { parseCursor } from '../events/position';
import { isStorableTime, isUuid, TIME_OUT_OF_RANGE, Validator } from '../validation';
import type { KeyRing } from './keys.ring';
import { keyStore, type NewApiKey } from './keys.store';
import { apiKeyRole, type ApiKeyRole, type ApiKeyRow } from './keys.table';

/** The subject kind of API key events in the log. */
export const API_KEY_KIND = 'api_key';
export const API_KEY_EVENT_TYPES = ['created', 'rotated', 'revoked'] as const;
export type ApiKeyEventType = (typeof API_KEY_EVENT_TYPES)[number];

export type ApiKeyState = 'active' | 'expired' | 'revoked';

/** A key as clients see it: never its secret nor its hash. */
export type PublicApiKey = Omit<ApiKeyRow, 'tokenHash'> & { state: ApiKeyState };

export interface ApiKeyEvent {
  cursor: string;
  type: ApiKeyEventType;
  keyId: string;
  /** The key as it was right after the event. */
  key: Omit<PublicApiKey, 'state' | 'lastUsedAt'>;
  /** The name of the key that did it. */
  actor: string;
  data: Record<string, unknown>;
  at: Date;
}

/** The secret's visible start: the kind and four characters of the random part (or three characters of a token chosen by hand). */
export function secretPrefix(token: string): string {
  const cut = token.startsWith('am_') ? token.indexOf('_', 3) : -1;
  return cut > 0 ? token.slice(0, cut + 5) : token.slice(0, 3);
}

const MAX_KEYS_LISTED = 1000;

/**
 * An admin key counts as one left in force, for the last-admin guard, only when it stays
 * in force at least this long: revoking the last key without an expiry while the only
 * other one expires in seconds would lock everybody out all the same.
 */
export const LAST_ADMIN_MARGIN_MS = 60 * 60 * 1000;

/** Admin-only management of API keys; every change is an event naming the key that made it. */
export class KeyService {
  constructor(private readonly deps: { db: Db; events: EventLog; clock: Clock; ring: KeyRing }) {}

  state(row: Pick<ApiKeyRow, 'revokedAt' | 'expiresAt'>, now = this.deps.clock.now()): ApiKeyState {
    if (row.revokedAt) return 'revoked';
    if (row.expiresAt && row.expiresAt <= now) return 'expired';
    return 'active';
  }

  private public(row: ApiKeyRow): PublicApiKey {
    const { tokenHash: _hash, ...rest } = row;
    return { ...rest, state: this.state(row) };
  }

  async list(principal: Principal | undefined, opts: { includeRevoked?: boolean | null } = {}): Promise<PublicApiKey[]> {
    authorize(principal, 'admin');
    const rows = await keyStore.all(this.deps.db);
    return rows
      .filter((r) => opts.includeRevoked || !r.revokedAt)
      .slice(0, MAX_KEYS_LISTED)
      .map((r) => this.public(r));
  }

  /** Creates a key; its secret is in the answer and nowhere else. */
  async create(principal: Principal | undefined, raw: Record<string, unknown>): Promise<{ key: PublicApiKey; secret: string }> {
    authorize(principal, 'admin');
    const input = this.parse(raw);
    const secret = newOperatorToken(input.role);
    const row = await this.deps.events.transaction(async (tx) => {
      const row = await this.insert(tx, { ...input, tokenHash: hashToken(secret), prefix: secretPrefix(secret), createdBy: actorOf(principal!) });
      await this.append(tx, row, 'created', principal!, {});
      return row;
    });
    await this.deps.ring.refresh();
    return { key: this.public(row), secret };
  }

  /**
   * A new secret for a key: a new key with the same name, role, expiry (or `expiresAt`)
   * and defaults, and the old one revoked, in one transaction.
   */
  async rotate(principal: Principal | undefined, id: string, rawExpiresAt?: unknown): Promise<{ key: PublicApiKey; secret: string }> {
    authorize(principal, 'admin');
    const v = new Validator();
    const expiresAt = rawExpiresAt === undefined || rawExpiresAt === null ? undefined : this.expiry(v, rawExpiresAt);
    v.done();
    const result = await this.deps.events.transaction(async (tx) => {
      const old = await this.lock(tx, id);
      if (old.revokedAt) throw new AppError('CONFLICT', `the API key "${old.name}" is revoked and cannot be rotated; create a new key`);
      const expiry = expiresAt ?? old.expiresAt;
      if (expiry && expiry <= this.deps.clock.now()) {
        throw badInput({ expiresAt: `the key "${old.name}" expired at ${expiry.toISOString()}: give a new expiry in the future to rotate it` });
      }
      const now = this.deps.clock.now();
      const revoked = await keyStore.revoke(tx, old.id, now, actorOf(principal!));
      const secret = newOperatorToken(old.role);
      const row = await this.insert(tx, {
        name: old.name,
        role: old.role,
        expiresAt: expiry,
        defaultTags: old.defaultTags,
        defaultEnvironment: old.defaultEnvironment,
        tokenHash: hashToken(secret),
        prefix: secretPrefix(secret),
        createdBy: actorOf(principal!),
      });
      await this.append(tx, revoked, 'rotated', principal!, { replacedBy: row.id });
      await this.append(tx, row, 'created', principal!, { rotatedFrom: old.id });
      return { key: this.public(row), secret };
    });
    await this.deps.ring.refresh();
    return result;
  }

  /**
   * Revokes a key at once on this replica, and within the key ring's refresh interval on
   * every other. The last admin key in force cannot be revoked (CONFLICT), nor one whose
   * revocation would leave only admin keys that expire within LAST_ADMIN_MARGIN_MS.
   *
   * Lock order, the same in every revocation so that concurrent ones wait for each other
   * rather than deadlock: the key's subject (EventLog.lockSubjects, before any row lock,
   * which would give the transaction an id), then, for an admin key, every admin key in
   * force in id order (the key itself among them), then the key's own row.
   */
  async revoke(principal: Principal | undefined, id: string): Promise<PublicApiKey> {
    authorize(principal, 'admin');
    if (!isUuid(id)) throw notFound(`API key ${id}`);
    const row = await this.deps.events.transaction(async (tx) => {
      await this.deps.events.lockSubjects(tx, API_KEY_KIND, [id]);
      // A key's role never changes: read unlocked, it tells whether the admins need locking.
      const seen = await keyStore.get(tx, id);
      if (!seen) throw notFound(`API key ${id}`);
      const now = this.deps.clock.now();
      // Only a key in force counts for the guard; locking the admins for another would lock its own row out of id order.
      const admins = seen.role === 'admin' && this.state(seen, now) === 'active' ? await keyStore.lockActiveAdmins(tx, now) : [];
      const key = await keyStore.lock(tx, id);
      if (!key) throw notFound(`API key ${id}`);
      if (key.revokedAt) return key;
      if (key.role === 'admin' && this.state(key, now) === 'active') this.guardLastAdmin(key, admins, now);
      const revoked = await keyStore.revoke(tx, key.id, now, actorOf(principal!));
      await this.append(tx, revoked, 'revoked', principal!, {});
      return revoked;
    });
    await this.deps.ring.refresh();
    return this.public(row);
  }

  /**
   * Refuses to revoke `key` unless another admin key stays in force for LAST_ADMIN_MARGIN_MS
   * at least: one that expires in seconds would leave the fleet without an admin as surely
   * as none. `admins`: the admin keys in force, locked.
   */
  private guardLastAdmin(key: ApiKeyRow, admins: Pick<ApiKeyRow, 'id' | 'name' | 'expiresAt'>[], now: Date): void {
    const until = now.getTime() + LAST_ADMIN_MARGIN_MS;
    const others = admins.filter((a) => a.id !== key.id);
    if (others.some((a) => !a.expiresAt || a.expiresAt.getTime() > until)) return;
    const expiring = others.map((a) => `"${a.name}" expires at ${a.expiresAt!.toISOString()}`);
    throw new AppError(
      'CONFLICT',
      `"${key.name}" is the last admin key in force` +
        (expiring.length > 0 ? ` for the next hour (${expiring.join(', ')})` : '') +
        '; create another admin key (without an expiry, or expiring later than an hour from now) before revoking it, or retry if one was just created or rotated',
    );
  }

  /** Key events, oldest first: the `last` ones before `before` (default: the newest). */
  async history(principal: Principal | undefined, opts: { before?: unknown; last: number }): Promise<ApiKeyEvent[]> {
    authorize(principal, 'admin');
    const before = parseCursor(opts.before, 'before');
    if (opts.last < 1 || opts.last > 1000) throw badInput({ last: 'must be from 1 to 1000' });
    const records = await this.deps.events.before(before, opts.last, { kind: API_KEY_KIND });
    return records.map(toApiKeyEvent).filter((e): e is ApiKeyEvent => e !== null);
  }

  /** Adds a key the server itself holds (an environment token, or one generated on the first start); nothing when its hash is known. */
  async addStartKey(key: Omit<NewApiKey, 'createdBy'>): Promise<void> {
    await this.deps.events.transaction(async (tx) => {
      const row = await keyStore.insert(tx, { ...key, createdBy: null });
      if (row) await this.append(tx, row, 'created', { role: row.role, key: { id: row.id, name: 'server start' } }, { atStart: true });
    });
  }

  private async insert(tx: Db, key: NewApiKey): Promise<ApiKeyRow> {
    const row = await keyStore.insert(tx, key);
    if (!row) throw badInput({ name: `a key in force is already named "${key.name}": choose another name, or revoke that key first` });
    return row;
  }

  private async lock(tx: Db, id: string): Promise<ApiKeyRow> {
    if (!isUuid(id)) throw notFound(`API key ${id}`);
    await this.deps.events.lockSubjects(tx, API_KEY_KIND, [id]);
    const row = await keyStore.lock(tx, id);
    if (!row) throw notFound(`API key ${id}`);
    return row;
  }

  private append(tx: Db, row: ApiKeyRow, type: ApiKeyEventType, principal: Principal, data: Record<string, unknown>) {
    if (type === 'created') this.deps.events.created(tx, API_KEY_KIND, row.id);
    const { tokenHash: _hash, lastUsedAt: _used, ...key } = row;
    return this.deps.events.append(tx, [{ kind: API_KEY_KIND, subjectId: row.id, type, payload: { key, actor: actorOf(principal), data } }]);
  }

  private expiry(v: Validator, raw: unknown): Date | undefined {
    const at = raw instanceof Date ? raw : typeof raw === 'string' ? new Date(raw) : undefined;
    if (!at || Number.isNaN(at.getTime())) return v.fail('expiresAt', 'must be an ISO-8601 date and time');
    if (!isStorableTime(at)) return v.fail('expiresAt', TIME_OUT_OF_RANGE);
    if (at <= this.deps.clock.now()) return v.fail('expiresAt', 'must be in the future');
    return at;
  }

  private parse(raw: Record<string, unknown>): Omit<NewApiKey, 'tokenHash' | 'prefix' | 'createdBy'> {
    const v = new Validator();
    const name = v.string(raw.name, 'name', { max: 100, required: true });
    const role = raw.role as ApiKeyRole;
    if (!apiKeyRole.enumValues.includes(role)) v.fail('role', `must be one of ${apiKeyRole.enumValues.join(', ')}`);
    const expiresAt = raw.expiresAt === undefined || raw.expiresAt === null ? null : (this.expiry(v, raw.expiresAt) ?? null);
    const hasTags = raw.defaultTags !== undefined && raw.defaultTags !== null;
    const defaultTags = hasTags ? tagList(v, raw.defaultTags, 'defaultTags') : [];
    const defaultEnvironment = v.string(raw.defaultEnvironment, 'defaultEnvironment', { max: 64 }) || null;
    if (role !== 'enrollment') {
      if (defaultTags.length > 0) v.fail('defaultTags', 'only enrollment keys give agents default tags');
      if (defaultEnvironment) v.fail('defaultEnvironment', 'only enrollment keys give agents an environment');
    }
    v.done();
    return { name: name!, role, expiresAt, defaultTags, defaultEnvironment };
  }
}

const isType = (t: string): t is ApiKeyEventType => (API_KEY_EVENT_TYPES as readonly string[]).includes(t);

function toApiKeyEvent(record: EventRecord): ApiKeyEvent | null {
  const p = record.payload as { key?: ApiKeyEvent['key'] & { createdAt: string; expiresAt: string | null; revokedAt: string | null }; actor?: string; data?: Record<string, unknown> } | null;
  if (record.kind !== API_KEY_KIND || !isType(record.type) || !p?.key) return null;
  const date = (s: string | null) => (s ? new Date(s) : null);
  return {
    cursor: record.cursor,
    type: record.type,
    keyId: record.subjectId,
    key: { ...p.key, createdAt: new Date(p.key.createdAt), expiresAt: date(p.key.expiresAt), revokedAt: date(p.key.revokedAt) },
    actor: p.actor ?? 'unknown',
    data: p.data ?? {},
    at: record.at,
  };
}

