import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import type { Channel } from '../events/channel';
import type { EventLog } from '../events/events.log';
import type { EventFeed } from '../events/feed';
import { resumableStream } from '../events/resumable';
import { ALERT_KIND, toAlertEvent, type AlertEvent } from './alerts.events';
import { parseAlertFilter } from './alerts.service';
import type { AlertFilter } from './alerts.types';

function passes(e: AlertEvent, f: AlertFilter): boolean {
  const a = e.alert;
  if (f.state && !f.state.includes(a.state)) return false;
  if (f.severity && !f.severity.includes(a.severity)) return false;
  if (f.ruleId && a.ruleId !== f.ruleId) return false;
  if (f.agentId && a.agentId !== f.agentId) return false;
  if (f.acknowledged !== undefined && (a.acknowledgement !== null) !== f.acknowledged) return false;
  if (f.silenced !== undefined && a.silencedBy.length > 0 !== f.silenced) return false;
  return true;
}

/** alertChanged: every change of matching alerts, live; with a cursor, first every later change from the log (see resumableStream). */
export class AlertEventStream {
  constructor(
    private readonly feed: EventFeed,
    private readonly log: EventLog,
  ) {}

  changes(principal: Principal | undefined, opts: { after?: unknown; filter?: Record<string, unknown> | null }): Channel<AlertEvent> {
    authorize(principal, 'read');
    const filter = parseAlertFilter(opts.filter);
    return resumableStream({
      feed: this.feed,
      log: this.log,
      kind: ALERT_KIND,
      after: opts.after,
      select: (record) => {
        const e = toAlertEvent(record);
        return e && passes(e, filter) ? e : null;
      },
    });
  }
}
