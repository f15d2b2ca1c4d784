import { describe, expect, it } from 'vitest';
import { appendEvents, lastCursor, prependEvents } from '../../dashboard/src/lib/timeline';

const e = (cursor: string) => ({ cursor, type: 'UPDATED' });

describe('event timeline', () => {
  it('appends live events and resumes from the newest cursor', () => {
    const t = appendEvents([e('1'), e('2')], [e('3')]);
    expect(t.map((x) => x.cursor)).toEqual(['1', '2', '3']);
    expect(lastCursor(t)).toBe('3');
  });

  it('drops events replayed after a reconnect', () => {
    const t = appendEvents([e('1'), e('2')], [e('2'), e('3'), e('3')]);
    expect(t.map((x) => x.cursor)).toEqual(['1', '2', '3']);
  });

  it('keeps only the newest entries past the limit', () => {
    const t = appendEvents([e('1'), e('2')], [e('3'), e('4')], 3);
    expect(t.map((x) => x.cursor)).toEqual(['2', '3', '4']);
  });

  it('older pages go in front without overlap', () => {
    const t = prependEvents([e('3'), e('4')], [e('1'), e('2'), e('3')]);
    expect(t.map((x) => x.cursor)).toEqual(['1', '2', '3', '4']);
  });

  it('an empty timeline has no cursor to resume from', () => {
    expect(lastCursor([])).toBeNull();
  });
});
