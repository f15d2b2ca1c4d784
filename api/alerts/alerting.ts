import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Db } from '../db';
import type { Consumers } from '../events/consumers';
import type { EventLog } from '../events/events.log';
import type { EventFeed } from '../events/feed';
import { AddressPolicy } from '../notifications/address';
import { DeliveryWorker } from '../notifications/delivery.worker';
import { NotificationService } from '../notifications/notifications.service';
import { OutboxNotifier } from '../notifications/routing';
import { AlertService } from './alerts.service';
import { AlertEventStream } from './alerts.stream';
import { RuleService } from './rules.service';
import { SilenceService } from './silences.service';
import { statusConsumer } from './status.consumer';
import { AlertTicker } from './ticker';

/** Alerts and notifications, wired: their services, the status consumer, the ticker and the delivery worker. */
export function createAlerting(deps: { db: Db; events: EventLog; feed: EventFeed; consumers: Consumers; clock: Clock; config: Config; onError(what: string, err: unknown): void }) {
  const { db, events, clock, config } = deps;
  const notifier = new OutboxNotifier();
  const base = { db, events, clock, notifier, flap: config.alerts.flap };
  const rawRetentionDays = config.metrics.rawRetentionDays;
  const policy = new AddressPolicy({ allow: config.alerts.webhooks.allow, deny: config.alerts.webhooks.deny });
  const worker = new DeliveryWorker({
    db,
    clock,
    policy,
    config: { ...config.alerts.webhooks, externalUrl: config.publicUrl?.replace(/\/$/, '') ?? '' },
    onError: (err) => deps.onError('webhook delivery', err),
  });
  const consumer = deps.consumers.register(statusConsumer(base));
  const ticker = new AlertTicker({ ...base, tickMs: config.alerts.tickMs, evalIntervalMs: config.alerts.evalIntervalMs, rawRetentionDays, consumer, onError: deps.onError });
  const services = {
    alerts: new AlertService(base),
    alertEvents: new AlertEventStream(deps.feed, events),
    rules: new RuleService({ ...base, rawRetentionDays }),
    silences: new SilenceService(base),
    notifications: new NotificationService({ db, clock, policy, worker }),
  };
  return {
    services,
    worker,
    ticker,
    async start() {
      await services.rules.ensureBuiltin();
      ticker.start();
      worker.start();
    },
    async stop() {
      await ticker.stop();
      await worker.stop();
    },
  };
}
