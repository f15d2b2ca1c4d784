import { describe, expect, it } from 'vitest';
import { decodeRemoteWrite } from '../../api/metrics/remote-write.decoder';
import { encodeRemoteWrite } from '../helpers/protocols';

const AT = 1_764_000_000_000;
const series = (labels: [string, string][], values = [1]) => ({
  labels: labels.map(([name, value]) => ({ name, value })),
  samples: values.map((value, i) => ({ value, timestamp: AT + i * 1000 })),
});
const decode = (timeseries: unknown[]) => decodeRemoteWrite(encodeRemoteWrite({ timeseries }), 1 << 20);

describe('remote-write decoder', () => {
  it('gives each series its own labels, whether they repeat the previous series’ or not', () => {
    const { points, refused } = decode([
      series([['__name__', 'a'], ['job', 'x'], ['instance', '1']], [1, 2]),
      // The same labels under another name, the name in another place.
      series([['job', 'x'], ['__name__', 'b'], ['instance', '1']]),
      // One value changed, of the same length.
      series([['__name__', 'c'], ['job', 'x'], ['instance', '2']]),
      // A label fewer; then an empty value (no label) and a label without a name.
      series([['__name__', 'd'], ['job', 'x']]),
      series([['__name__', 'e'], ['job', 'x'], ['instance', ''], ['', 'v']]),
      // The same text split differently between name and value.
      series([['__name__', 'f'], ['jo', 'bx']]),
      series([['__name__', 'g'], ['job', 'x'], ['instance', '2']]),
      // No name: refused, and it does not count as the series read last.
      series([['job', 'x'], ['instance', '3']]),
      series([['__name__', 'h'], ['job', 'x'], ['instance', '2']]),
      series([['__name__', 'i'], ['instance', '2'], ['job', 'x']]),
      // A repeated label: the later value holds, as before.
      series([['__name__', 'j'], ['job', 'x'], ['job', 'y']]),
      series([['__name__', 'k']]),
    ]);
    const labels = Object.fromEntries(points.map((p) => [`${p.name}@${p.at - AT}`, { ...p.labels }]));
    expect(labels).toEqual({
      'a@0': { job: 'x', instance: '1' },
      'a@1000': { job: 'x', instance: '1' },
      'b@0': { job: 'x', instance: '1' },
      'c@0': { job: 'x', instance: '2' },
      'd@0': { job: 'x' },
      'e@0': { job: 'x' },
      'f@0': { jo: 'bx' },
      'g@0': { job: 'x', instance: '2' },
      'h@0': { job: 'x', instance: '2' },
      'i@0': { instance: '2', job: 'x' },
      'j@0': { job: 'y' },
      'k@0': {},
    });
    expect(refused).toEqual([{ count: 1, reason: 'series without a __name__ label' }]);
    expect(points.map((p) => p.value)).toEqual([1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('reads names and label values that are not ASCII, and refuses bytes that are not UTF-8', () => {
    const { points } = decode([series([['__name__', 'temp_°c'], ['room', 'küche']]), series([['__name__', 'x'], ['room', 'küche']])]);
    expect(points.map((p) => [p.name, p.labels.room])).toEqual([
      ['temp_°c', 'küche'],
      ['x', 'küche'],
    ]);
    const body = Buffer.from(encodeRemoteWrite({ timeseries: [series([['__name__', 'x'], ['room', 'xyz']])] }));
    // Recompressed with one byte of the value replaced by a lead byte without its continuation.
    const raw = Buffer.from(require('snappyjs').uncompress(new Uint8Array(body)));
    raw[raw.indexOf(Buffer.from('xyz'))] = 0xc3;
    expect(() => decodeRemoteWrite(Buffer.from(require('snappyjs').compress(new Uint8Array(raw))), 1 << 20)).toThrow(/not valid UTF-8/);
  });
});
