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

  it('an event of a kind it does not know still shows its data', () => {
    const e = { type: 'SOMETHING_NEW', data: { a: 1 } };
    expect(eventTitle(e)).toBe('something new');
    expect(eventDetail(e)).toBe('{"a":1}');
  });
});
