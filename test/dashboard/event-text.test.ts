import { describe, expect, it } from 'vitest';
import { eventDetail, eventTitle } from '../../dashboard/src/lib/event-text';

describe('timeline wording', () => {
  it('a status change reads as from → to with the server’s reason', () => {
    const e = { type: 'STATUS_CHANGED', previousStatus: 'ONLINE', status: 'OFFLINE', reason: 'no heartbeat for 3 × 1 s', data: {} };
    expect(eventTitle(e)).toBe('online → offline');
    expect(eventDetail(e)).toBe('no heartbeat for 3 × 1 s');
  });

  it('tag changes list what was added and removed', () => {
    expect(eventDetail({ type: 'TAGS_CHANGED', data: { added: ['eu', 'db'], removed: ['us'] } })).toBe('+eu +db −us');
  });

  it('configuration changes name the key, the action and the revision', () => {
    expect(eventDetail({ type: 'CONFIGURATION_CHANGED', data: { key: 'limits', action: 'set', revision: 3 } })).toBe(
      'limits set (revision 3)',
    );
  });

  it('a re-registration says what it changed, and an interval change gives both intervals', () => {
    expect(eventDetail({ type: 'UPDATED', data: { reregistered: true, changed: ['type', 'metadata'] } })).toBe(
      're-registered with a new token; type and metadata changed',
    );
    expect(eventDetail({ type: 'UPDATED', data: { reregistered: true, changed: [] } })).toBe('re-registered with a new token');
    const interval = { type: 'INTERVAL_CHANGED', data: { previous: 30, interval: 3600, reregistered: true } };
    expect(eventTitle(interval)).toBe('heartbeat interval');
    expect(eventDetail(interval)).toBe('30 s → 3600 s');
  });

  it('names who made a change after the detail, and leaves the actor out of raw data', () => {
    expect(eventDetail({ type: 'TAGS_CHANGED', data: { added: ['eu'], removed: [], actor: 'ops' }, actor: 'ops' })).toBe('+eu · by ops');
    expect(eventDetail({ type: 'DEREGISTERED', data: { actor: 'ops' }, actor: 'ops' })).toBe('by ops');
  });

  it('an event of a kind it does not know still shows its data', () => {
    const e = { type: 'SOMETHING_NEW', data: { a: 1 } };
    expect(eventTitle(e)).toBe('something new');
    expect(eventDetail(e)).toBe('{"a":1}');
  });
});
