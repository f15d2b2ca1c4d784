import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import type { Db } from '../db';
import type { AddressPolicy } from './address';
import { messageBody } from './formats';
import { notificationStore, type ClaimedNotification } from './notifications.store';
import type { ChannelRow, DeliveryRow } from './notifications.table';
import type { NotificationAlert } from './notifications.types';
import { postWebhook, type AttemptResult } from './sender';
import { toldAlert } from './routing';
import { signatureHeaders } from './signature';

export interface WebhookConfig {
  /** How often each replica looks for due groups and deliveries. */
  pollMs: number;
  /** The most one attempt may take, all told. */
  timeoutMs: number;
  /** Waits after each failed attempt, in ms; past the last one a delivery has failed. */
  retryScheduleMs: number[];
  /** Alerts in one message at most; a larger group goes out in several. */
  maxAlertsPerMessage: number;
  /** Dashboard base URL for links in messages; empty when unknown. */
  externalUrl: string;
}

const CLAIM = 5_000;
const SENDS_PER_ROUND = 32;
const MAX_RETRY_AFTER_S = 86_400;

/** ±20 %, so receivers that failed together are not retried together. */
const jitter = (ms: number) => Math.round(ms * (0.8 + Math.random() * 0.4));

/**
 * The outbox's workers, on every replica: one turns due groups of notifications into
 * deliveries (rows claimed with SKIP LOCKED, so each becomes part of exactly one
 * delivery), the other sends due deliveries (leased under SKIP LOCKED), signs each
 * attempt, records it, and schedules the next with backoff and jitter.
 */
export class DeliveryWorker {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly deps: { db: Db; clock: Clock; config: WebhookConfig; policy: AddressPolicy; onError(err: unknown): void },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), this.deps.config.pollMs).unref();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.round()
      .catch((err) => this.deps.onError(err))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Groups what is due, then sends what is due, until neither finds more. */
  async round(): Promise<void> {
    while (!this.stopped && (await this.group()) === CLAIM);
    while (!this.stopped && (await this.send()) === SENDS_PER_ROUND);
  }

  /** Turns due notifications into deliveries: one per channel, group and slice of `maxAlertsPerMessage`. */
  async group(): Promise<number> {
    const { db, clock, config } = this.deps;
    return db.transaction(async (tx) => {
      const now = clock.now();
      const claimed = (await notificationStore.claimDue(tx, now, CLAIM)).map((n) => ({ id: n.id, channelId: n.channelId, groupKey: n.groupKey, alert: toldAlert(n) }));
      if (claimed.length === 0) return 0;
      const channels = new Map((await notificationStore.channelsByIds(tx, [...new Set(claimed.map((c) => c.channelId))])).map((c) => [c.id, c]));
      const groups = new Map<string, ClaimedNotification[]>();
      for (const n of claimed) {
        const k = `${n.channelId}\u0000${n.groupKey}`;
        const list = groups.get(k);
        if (list) list.push(n);
        else groups.set(k, [n]);
      }
      for (const list of groups.values()) {
        const channel = channels.get(list[0].channelId);
        if (!channel) continue;
        // A group holding two transitions of one alert (it fired and resolved within the
        // wait) tells the newest.
        const latest = new Map<string, ClaimedNotification>();
        for (const n of list) latest.set(n.alert.id, n);
        const alerts = [...latest.values()].map((n) => n.alert);
        for (let i = 0; i < alerts.length; i += config.maxAlertsPerMessage) {
          const slice = alerts.slice(i, i + config.maxAlertsPerMessage);
          const ids = i === 0 ? list.map((n) => n.id) : [];
          await this.createDelivery(tx, channel, list[0].groupKey, slice, now, ids);
        }
      }
      return claimed.length;
    });
  }

  async createDelivery(tx: Db, channel: ChannelRow, groupKey: string, alerts: NotificationAlert[], now: Date, notificationIds: string[], test = false): Promise<string> {
    const id = randomUUID();
    const body = messageBody(channel.format, alerts, { channel: { id: channel.id, name: channel.name }, groupKey, externalUrl: this.deps.config.externalUrl, test });
    await notificationStore.insertDelivery(tx, { id, channelId: channel.id, groupKey, test, body, alertCount: alerts.length, createdAt: now, nextAttemptAt: now }, notificationIds);
    return id;
  }

  /** Sends the deliveries that are due (or just one); returns how many it attempted. */
  async send(onlyId?: string): Promise<number> {
    const { db, clock } = this.deps;
    const leased = await notificationStore.lease(db, clock.now(), this.leaseMs, SENDS_PER_ROUND, onlyId);
    await Promise.all(leased.map((d) => (d.attempts > this.deps.config.retryScheduleMs.length + 1 ? this.giveUp(d) : this.attempt(d)).catch((err) => this.deps.onError(err))));
    return leased.length;
  }

  /**
   * A lease counts an attempt before it is made, and the attempt's record says what comes
   * next, so a delivery leased again past the last attempt the schedule allows was sent
   * that last time and never recorded: its sender died, or the database kept refusing the
   * record. Sending again would go on for as long as that lasts; the delivery has failed
   * instead, and redeliver sends it again.
   */
  private async giveUp(d: DeliveryRow): Promise<void> {
    await notificationStore.giveUp(this.deps.db, d);
    this.deps.onError(new Error(`delivery ${d.id} failed: its last attempt (${d.attempts - 1}) was made but never recorded`));
  }

  /** How long a sender holds a delivery it attempts before another may take it. */
  get leaseMs(): number {
    return this.deps.config.timeoutMs + 5_000;
  }

  /**
   * Sends a delivery its caller has claimed (notificationStore.claim), as the test and
   * redeliver buttons do; resolves with how it went, or null when its channel is disabled.
   */
  async sendClaimed(claim: { delivery: DeliveryRow; held: boolean }): Promise<AttemptResult | null> {
    return claim.held ? this.attempt(claim.delivery) : null;
  }

  private async attempt(d: DeliveryRow): Promise<AttemptResult> {
    const { db, clock, config, policy } = this.deps;
    const channel = await notificationStore.channel(db, d.channelId);
    if (!channel) throw new Error(`channel ${d.channelId} of delivery ${d.id} is gone`);
    const now = clock.now();
    const secrets = channel.previousSecret && channel.previousSecretUntil && channel.previousSecretUntil > now ? [channel.secret, channel.previousSecret] : [channel.secret];
    const headers = signatureHeaders(`msg_${d.id}`, Math.floor(now.getTime() / 1000), d.body, secrets);
    const result = await postWebhook(channel.url, d.body, headers, { timeoutMs: config.timeoutMs, policy });
    const at = new Date(now.getTime());
    let status: DeliveryRow['status'] = 'pending';
    let next: Date | null = null;
    let disable: { id: string; reason: string } | undefined;
    if (result.errorClass === 'ok') status = 'delivered';
    else if (result.statusCode === 410) {
      status = 'failed';
      result.errorClass = 'gone';
      disable = { id: channel.id, reason: `the receiver answered 410 Gone at ${at.toISOString()}: it no longer wants these messages` };
    } else if (d.attempts > config.retryScheduleMs.length) status = 'failed';
    else {
      let wait = jitter(config.retryScheduleMs[d.attempts - 1]);
      if (result.retryAfter !== null) wait = Math.max(wait, Math.min(result.retryAfter, MAX_RETRY_AFTER_S) * 1000);
      next = new Date(clock.now().getTime() + wait);
    }
    const attempt = {
      deliveryId: d.id,
      at,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      errorClass: result.errorClass,
      error: result.error,
      responseBody: result.responseBody,
      nextAttemptAt: next,
    };
    try {
      await notificationStore.recordAttempt(db, attempt, { status, nextAttemptAt: next }, disable);
    } catch (err) {
      // The receiver has answered. Left unrecorded, the delivery would be sent again once
      // its lease ran out, and again each time the record failed; should the database have
      // refused the receiver's words (its answer, quoted), the attempt goes in without them.
      this.deps.onError(err);
      const without = { ...attempt, error: 'the database refused the record of this attempt; its answer is left out', responseBody: null };
      await notificationStore.recordAttempt(db, without, { status, nextAttemptAt: next }, disable);
    }
    return result;
  }
}
