import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import { uniqueOr, type Db } from '../db';
import { badInput, notFound } from '../errors';
import { isUuid, Validator } from '../validation';
import type { Matcher } from '../alerts/alerts.types';
import { urlProblem, type AddressPolicy } from './address';
import type { DeliveryWorker } from './delivery.worker';
import { testAlert } from './formats';
import { notificationStore } from './notifications.store';
import type { ChannelRow, PolicyRow } from './notifications.table';
import type { ChannelFormat } from './notifications.types';
import { newSecret } from './signature';

const FORMATS: ChannelFormat[] = ['json', 'alertmanager', 'slack'];
/** How long the old secret still signs after a rotation, so receivers can switch over. */
const ROTATION_OVERLAP_MS = 24 * 3_600_000;

export type PublicChannel = Omit<ChannelRow, 'secret' | 'previousSecret'>;
const publicChannel = ({ secret: _s, previousSecret: _p, ...rest }: ChannelRow): PublicChannel => rest;

function parseMatchers(v: Validator, raw: unknown, path: string): Matcher[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.length > 20) return v.fail(path, 'must be a list of at most 20 matchers') ?? [];
  return raw.flatMap((m: unknown, i) => {
    const o = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
    const name = v.string(o.name, `${path}.${i}.name`, { max: 64, required: true });
    const op = o.op ?? '=';
    if (op !== '=' && op !== '!=') v.fail(`${path}.${i}.op`, 'must be = or !=');
    const value = v.string(o.value, `${path}.${i}.value`, { max: 1024 }) ?? '';
    return name ? [{ name, op: op as Matcher['op'], value }] : [];
  });
}

/** Channels, routing policies and the delivery log. */
export class NotificationService {
  constructor(private readonly deps: { db: Db; clock: Clock; policy: AddressPolicy; worker: DeliveryWorker }) {}

  private parseChannel(raw: Record<string, unknown>) {
    const v = new Validator();
    const name = v.string(raw.name, 'name', { max: 200, required: true });
    const url = v.string(raw.url, 'url', { max: 2000, required: true });
    if (url !== undefined) {
      const problem = urlProblem(url, this.deps.policy);
      if (problem) v.fail('url', problem);
    }
    const format = (raw.format ?? 'json') as ChannelFormat;
    if (!FORMATS.includes(format)) v.fail('format', `must be one of ${FORMATS.join(', ')}`);
    const enabled = raw.enabled === undefined || raw.enabled === null ? true : raw.enabled === true;
    v.done();
    return { name: name!, url: url!, format, enabled };
  }

  async channels(principal: Principal | undefined): Promise<PublicChannel[]> {
    authorize(principal, 'read');
    return (await notificationStore.channels(this.deps.db)).map(publicChannel);
  }

  async channel(principal: Principal | undefined, id: string): Promise<PublicChannel | undefined> {
    authorize(principal, 'read');
    const row = isUuid(id) ? await notificationStore.channel(this.deps.db, id) : undefined;
    return row && publicChannel(row);
  }

  /** Creates a channel; its secret is in this answer and nowhere else. */
  async createChannel(principal: Principal | undefined, raw: Record<string, unknown>): Promise<{ channel: PublicChannel; secret: string }> {
    authorize(principal, 'admin');
    const input = this.parseChannel(raw);
    const secret = newSecret();
    const now = this.deps.clock.now();
    const taken = () => badInput({ name: `a channel named "${input.name}" exists already` });
    const row = await uniqueOr(() => notificationStore.insertChannel(this.deps.db, { ...input, secret, createdAt: now, updatedAt: now }), taken);
    if (!row) throw taken();
    return { channel: publicChannel(row), secret };
  }

  async updateChannel(principal: Principal | undefined, id: string, raw: Record<string, unknown>): Promise<PublicChannel> {
    authorize(principal, 'admin');
    const input = this.parseChannel(raw);
    const taken = () => badInput({ name: `a channel named "${input.name}" exists already` });
    if (isUuid(id) && (await notificationStore.channelNameTaken(this.deps.db, input.name, id))) throw taken();
    // Another channel may take the name between the check and the write: its unique key says so.
    const row = isUuid(id)
      ? await uniqueOr(() => notificationStore.updateChannel(this.deps.db, id, { ...input, disabledReason: input.enabled ? null : undefined, updatedAt: this.deps.clock.now() }), taken)
      : undefined;
    if (!row) throw notFound(`channel ${id}`);
    return publicChannel(row);
  }

  /** A new secret, shown once; the old one keeps signing for a day beside it. */
  async rotateSecret(principal: Principal | undefined, id: string): Promise<{ channel: PublicChannel; secret: string }> {
    authorize(principal, 'admin');
    if (!isUuid(id)) throw notFound(`channel ${id}`);
    const secret = newSecret();
    // Read and written under the row's lock: two rotations at once take effect one after
    // the other (the second keeps the first's secret as the previous one), none is lost.
    const row = await this.deps.db.transaction(async (tx) => {
      const current = await notificationStore.channel(tx, id, { forUpdate: true });
      if (!current) throw notFound(`channel ${id}`);
      const now = this.deps.clock.now();
      return notificationStore.updateChannel(tx, id, { secret, previousSecret: current.secret, previousSecretUntil: new Date(now.getTime() + ROTATION_OVERLAP_MS), updatedAt: now });
    });
    return { channel: publicChannel(row!), secret };
  }

  async deleteChannel(principal: Principal | undefined, id: string): Promise<{ id: string }> {
    authorize(principal, 'admin');
    if (!isUuid(id) || !(await notificationStore.deleteChannel(this.deps.db, id))) throw notFound(`channel ${id}`);
    return { id };
  }

  /** Sends a test message now and answers how it went; it stays in the delivery log (and is retried like any other). */
  async testChannel(principal: Principal | undefined, id: string) {
    authorize(principal, 'admin');
    const channel = isUuid(id) ? await notificationStore.channel(this.deps.db, id) : undefined;
    if (!channel) throw notFound(`channel ${id}`);
    const now = this.deps.clock.now();
    const { worker } = this.deps;
    const claim = await this.deps.db.transaction(async (tx) => {
      const id = await worker.createDelivery(tx, channel, 'test', [testAlert(now)], now, [], true);
      return (await notificationStore.claim(tx, id, now, worker.leaseMs))!;
    });
    return { deliveryId: claim.delivery.id, result: await worker.sendClaimed(claim) };
  }

  async redeliver(principal: Principal | undefined, deliveryId: string) {
    authorize(principal, 'admin');
    const { worker } = this.deps;
    const claim = isUuid(deliveryId) ? await notificationStore.claim(this.deps.db, deliveryId, this.deps.clock.now(), worker.leaseMs) : undefined;
    if (!claim) throw notFound(`delivery ${deliveryId}`);
    return { deliveryId, result: await worker.sendClaimed(claim) };
  }

  async deliveries(principal: Principal | undefined, opts: { channelId?: string; alertId?: string; limit?: number | null }) {
    authorize(principal, 'read');
    const limit = opts.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw badInput({ limit: 'must be from 1 to 500' });
    if ((opts.channelId && !isUuid(opts.channelId)) || (opts.alertId && !isUuid(opts.alertId))) return [];
    return notificationStore.deliveries(this.deps.db, { ...opts, limit });
  }

  attemptsOf(ids: string[]) {
    return notificationStore.attempts(this.deps.db, ids);
  }

  private parsePolicy(raw: Record<string, unknown>, channels: Set<string>) {
    const v = new Validator();
    const name = v.string(raw.name, 'name', { max: 200, required: true });
    const matchers = parseMatchers(v, raw.matchers, 'matchers');
    const ids = raw.channelIds;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 50) v.fail('channelIds', 'must list 1 to 50 channels');
    else ids.forEach((id, i) => (!isUuid(id) || !channels.has(id.toLowerCase())) && v.fail(`channelIds.${i}`, 'is not a channel'));
    const groupBy = Array.isArray(raw.groupBy) ? raw.groupBy : raw.groupBy === undefined || raw.groupBy === null ? ['alertname', 'environment'] : null;
    if (!groupBy || groupBy.length > 10 || !groupBy.every((g) => typeof g === 'string' && /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/.test(g))) v.fail('groupBy', 'must list at most 10 label names');
    const groupWaitSeconds = typeof raw.groupWaitSeconds === 'number' ? raw.groupWaitSeconds : 0.5;
    if (!(groupWaitSeconds >= 0 && groupWaitSeconds <= 3600)) v.fail('groupWaitSeconds', 'must be from 0 to 3600');
    const repeat = v.integer(raw.repeatIntervalSeconds ?? 14_400, 'repeatIntervalSeconds', { min: 0, max: 7 * 86_400 }) ?? 14_400;
    if (repeat > 0 && repeat < 60) v.fail('repeatIntervalSeconds', 'must be 0 (no reminders) or at least 60');
    const enabled = raw.enabled === undefined || raw.enabled === null ? true : raw.enabled === true;
    v.done();
    return { name: name!, matchers, channelIds: [...new Set((ids as string[]).map((i) => i.toLowerCase()))], groupBy: groupBy as string[], groupWaitMs: Math.round(groupWaitSeconds * 1000), repeatIntervalSeconds: repeat, enabled };
  }

  async policies(principal: Principal | undefined): Promise<PolicyRow[]> {
    authorize(principal, 'read');
    return notificationStore.policies(this.deps.db);
  }

  async createPolicy(principal: Principal | undefined, raw: Record<string, unknown>): Promise<PolicyRow> {
    authorize(principal, 'admin');
    const channels = new Set((await notificationStore.channels(this.deps.db)).map((c) => c.id));
    const input = this.parsePolicy(raw, channels);
    const now = this.deps.clock.now();
    const taken = () => badInput({ name: `a policy named "${input.name}" exists already` });
    const row = await uniqueOr(() => notificationStore.insertPolicy(this.deps.db, { ...input, createdAt: now, updatedAt: now }), taken);
    if (!row) throw taken();
    return row;
  }

  async updatePolicy(principal: Principal | undefined, id: string, raw: Record<string, unknown>): Promise<PolicyRow> {
    authorize(principal, 'admin');
    const channels = new Set((await notificationStore.channels(this.deps.db)).map((c) => c.id));
    const input = this.parsePolicy(raw, channels);
    const taken = () => badInput({ name: `a policy named "${input.name}" exists already` });
    if (isUuid(id) && (await notificationStore.policyNameTaken(this.deps.db, input.name, id))) throw taken();
    // Another policy may take the name between the check and the write: its unique key says so.
    const row = isUuid(id) ? await uniqueOr(() => notificationStore.updatePolicy(this.deps.db, id, { ...input, updatedAt: this.deps.clock.now() }), taken) : undefined;
    if (!row) throw notFound(`policy ${id}`);
    return row;
  }

  async deletePolicy(principal: Principal | undefined, id: string): Promise<{ id: string }> {
    authorize(principal, 'admin');
    if (!isUuid(id) || !(await notificationStore.deletePolicy(this.deps.db, id))) throw notFound(`policy ${id}`);
    return { id };
  }
}
