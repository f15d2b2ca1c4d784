import { describe, expect, it } from 'vitest';
import { jsonInTurns } from '../../api/http/http';
import { countingTurns } from '../helpers/turns';

describe('jsonInTurns', () => {
  const item = (i: number) => ({ id: i, name: `agent-${i}`, at: new Date(Date.UTC(2026, 11, 2, 0, 0, i)), note: i % 3 ? undefined : 'ünïcode "quoted" \u2028', tags: ['a', 'b'] });
  const values: unknown[] = [
    [],
    [1],
    Array.from({ length: 100 }, (_, i) => item(i)),
    Array.from({ length: 101 }, (_, i) => item(i)),
    Array.from({ length: 200 }, (_, i) => item(i)),
    Array.from({ length: 201 }, (_, i) => item(i)),
    Array.from({ length: 250 }, (_, i) => (i % 7 === 0 ? undefined : item(i))),
    { agents: Array.from({ length: 1000 }, (_, i) => item(i)), limit: 1000, offset: 0, skipped: undefined, fn: () => 1 },
    { agents: [], nested: { list: Array.from({ length: 300 }, (_, i) => i) }, at: new Date(0) },
    {},
    { a: undefined },
    new Date(0),
    { toJSON: () => ['custom'] },
    null,
    'text',
    42,
  ];
  it.each(values.map((v, i) => [i, v]))('writes value %i exactly as JSON.stringify does', async (_i, value) => {
    expect(Buffer.concat(await jsonInTurns(value)).toString()).toBe(JSON.stringify(value));
  });

  it('writes a long list over several turns of the event loop', async () => {
    const { turns } = await countingTurns(() => jsonInTurns({ agents: Array.from({ length: 1000 }, (_, i) => item(i)) }));
    expect(turns).toBeGreaterThanOrEqual(9);
  });
});
