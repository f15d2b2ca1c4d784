import { describe, expect, it } from 'vitest';
import snappy from 'snappyjs';
import { WriteRequest } from '../../api/metrics/proto';
import { decodeRemoteWrite } from '../../api/metrics/remote-write.decoder';
import { DecodeError, TooLargeError } from '../../api/metrics/protobuf.wire';
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
      // A label name given twice, the name or another: refused (as Prometheus does), and
      // neither counts as the series read last.
      series([['__name__', 'j'], ['job', 'x'], ['job', 'y']]),
      series([['__name__', 'j'], ['__name__', 'jj'], ['job', 'x']]),
      series([['__name__', 'k']]),
      // A value that begins the previous one's.
      series([['__name__', 'l'], ['job', 'xy']]),
      series([['__name__', 'm'], ['job', 'x']]),
      // Long values (compared natively): the same, then one byte changed at the end.
      series([['__name__', 'n'], ['job', `${'v'.repeat(100)}1`]]),
      series([['__name__', 'o'], ['job', `${'v'.repeat(100)}1`]]),
      series([['__name__', 'p'], ['job', `${'v'.repeat(100)}2`]]),
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
      'k@0': {},
      'l@0': { job: 'xy' },
      'm@0': { job: 'x' },
      'n@0': { job: `${'v'.repeat(100)}1` },
      'o@0': { job: `${'v'.repeat(100)}1` },
      'p@0': { job: `${'v'.repeat(100)}2` },
    });
    expect(refused).toEqual([
      { count: 1, reason: 'series without a __name__ label' },
      { count: 2, reason: 'series with a label name given twice' },
    ]);
    expect(points.map((p) => p.value)).toEqual([1, 2, ...Array(14).fill(1)]);
  });

  it('reads names and label values that are not ASCII, and refuses bytes that are not UTF-8', () => {
    const long = `${'ü'.repeat(40)}`;
    const { points } = decode([series([['__name__', 'temp_°c'], ['room', 'küche']]), series([['__name__', 'x'], ['room', 'küche']]), series([['__name__', 'y'], ['room', long]])]);
    expect(points.map((p) => [p.name, p.labels.room])).toEqual([
      ['temp_°c', 'küche'],
      ['x', 'küche'],
      ['y', long],
    ]);
    const body = Buffer.from(encodeRemoteWrite({ timeseries: [series([['__name__', 'x'], ['room', 'xyz']])] }));
    // Recompressed with one byte of the value replaced by a lead byte without its continuation.
    const raw = Buffer.from(snappy.uncompress(new Uint8Array(body)));
    raw[raw.indexOf(Buffer.from('xyz'))] = 0xc3;
    expect(() => decodeRemoteWrite(Buffer.from(snappy.compress(new Uint8Array(raw))), 1 << 20)).toThrow(/not valid UTF-8/);
    // The same in a long value, which is checked another way.
    const longRaw = Buffer.from(WriteRequest.encode(WriteRequest.fromObject({ timeseries: [series([['__name__', 'x'], ['room', `${'r'.repeat(100)}xyz`]])] })).finish());
    longRaw[longRaw.indexOf(Buffer.from('xyz'))] = 0xc3;
    expect(() => decodeRemoteWrite(Buffer.from(snappy.compress(new Uint8Array(longRaw))), 1 << 20)).toThrow(/not valid UTF-8/);
  });

  it('reads random requests as their messages say, and refuses damaged ones with a decode error only', () => {
    // A fixed seed: the same requests every run.
    let seed = 12_345;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
    // Few texts, some beginning others, so that series often repeat or nearly repeat the one before.
    const texts = ['', 'a', 'ab', 'b', 'ba', '__name__', 'ü', 'üb', '日本'];
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const timeseries = Array.from({ length: Math.floor(random() * 8) }, () => {
        const labels = Array.from({ length: Math.floor(random() * 3) }, () => ({ name: pick(texts), value: pick(texts) }));
        // Mostly named, the name anywhere among the labels.
        if (random() < 0.9) labels.splice(Math.floor(random() * (labels.length + 1)), 0, { name: '__name__', value: pick(['m', 'n']) });
        return { labels, samples: Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({ value: Math.floor(random() * 100), timestamp: AT + Math.floor(random() * 1e6) })) };
      });
      // What the messages mean, read from protobufjs' objects: __name__ names the series,
      // empty names and values are no labels, and a series with __name__ twice, or another
      // label name twice with values, is refused.
      const expected = [];
      let refusedSamples = 0;
      for (const ts of timeseries) {
        const names = ts.labels.filter((l) => l.name === '__name__');
        const kept = ts.labels.filter((l) => l.name !== '__name__' && l.name && l.value);
        const name = names[0]?.value ?? '';
        if (names.length > 1 || new Set(kept.map((l) => l.name)).size < kept.length || !name) refusedSamples += ts.samples.length;
        else for (const s of ts.samples) expected.push({ name, labels: Object.fromEntries(kept.map((l) => [l.name, l.value])), value: s.value, at: s.timestamp });
      }
      const raw = WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish();
      const decoded = decodeRemoteWrite(Buffer.from(snappy.compress(raw)), 1 << 20);
      expect(decoded.points.map((p) => ({ name: p.name, labels: { ...p.labels }, value: p.value, at: p.at }))).toEqual(expected);
      expect(decoded.refused.reduce((n, r) => n + r.count, 0)).toBe(refusedSamples);

      const damaged = Buffer.from(raw);
      for (let k = 0; k < 3 && damaged.length > 0; k++) damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
      try {
        decodeRemoteWrite(Buffer.from(snappy.compress(new Uint8Array(damaged))), 1 << 20);
      } catch (err) {
        expect(err instanceof DecodeError || err instanceof TooLargeError).toBe(true);
        refused++;
      }
    }
    // Most damage is seen; some leaves a readable message (a changed value or length of a string).
    expect(refused).toBeGreaterThan(1000);
  });
});
