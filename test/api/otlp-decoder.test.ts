import { describe, expect, it } from 'vitest';
import { decodeOtlpProtobuf } from '../../api/metrics/otlp.decoder';
import { decodeOtlpJson } from '../../api/metrics/otlp.json';
import { DecodeError } from '../../api/metrics/protobuf.wire';
import { encodeOtlp } from '../helpers/protocols';
import { countingTurns, turnCounter } from '../helpers/turns';

const NOW = 1_800_000_000_000;
const request = (metrics: unknown[]) => ({ resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'x' } }] }, scopeMetrics: [{ scope: { name: 's' }, metrics }] }] });
/** Both encodings of one request, decoded. */
const both = async (metrics: unknown[]) => {
  const json = request(metrics);
  return [decodeOtlpProtobuf(encodeOtlp(json), NOW), await decodeOtlpJson(Buffer.from(JSON.stringify(json)), NOW)];
};

describe('OTLP decoder', () => {
  it('reads every kind of metric the same from protobuf and from JSON', async () => {
    const attributes = [{ key: 'host', value: { stringValue: 'a' } }];
    const metrics = [
      { name: 'g', unit: '%', gauge: { dataPoints: [{ timeUnixNano: '1764000000123999999', asDouble: 1.5, attributes }, { asInt: '-7', attributes }] } },
      { name: 'c', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: '1764000000000000000', asInt: '9007199254740993' }] } },
      { name: 'u', sum: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: '1764000000000000000', asDouble: -1 }] } },
      { name: 'd', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: '1764000000000000000', asDouble: 3 }] } },
      { name: 'h', unit: 's', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: '1764000000000000000', count: '4', sum: 2.5, bucketCounts: ['1', '3'], explicitBounds: [1] }, { timeUnixNano: '1764000001000000000', count: '5' }] } },
      { name: 'e', exponentialHistogram: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: '1764000000000000000', count: '2', sum: 0.5 }] } },
      { name: 's', summary: { dataPoints: [{ timeUnixNano: '1764000000000000000', count: '10', quantileValues: [{ quantile: 0.5, value: 3 }, { quantile: 0.99, value: 8 }] }] } },
      { name: 'gap', gauge: { dataPoints: [{ timeUnixNano: '1764000000000000000', asDouble: 1, flags: 1 }] } },
      { name: 'nt', sum: { dataPoints: [{ asDouble: 1 }, { asDouble: 2 }] } },
      { name: 'empty' },
    ];
    const at = 1_764_000_000_000;
    for (const decoded of await both(metrics)) {
      expect(decoded.points).toEqual([
        // Nanoseconds are cut to the millisecond below, not rounded; a point without a time is now.
        { name: 'g', labels: { host: 'a' }, value: 1.5, at: at + 123, kind: 'gauge', unit: '%' },
        { name: 'g', labels: { host: 'a' }, value: -7, at: NOW, kind: 'gauge', unit: '%' },
        { name: 'c', labels: {}, value: 9007199254740992, at, kind: 'counter', unit: undefined },
        { name: 'u', labels: {}, value: -1, at, kind: 'gauge', unit: undefined },
        { name: 'd', labels: {}, value: 3, at, kind: 'delta', unit: undefined },
        { name: 'h_count', labels: {}, value: 4, at, kind: 'counter', unit: undefined },
        { name: 'h_sum', labels: {}, value: 2.5, at, kind: 'counter', unit: 's' },
        // No sum on the wire: no _sum point.
        { name: 'h_count', labels: {}, value: 5, at: at + 1000, kind: 'counter', unit: undefined },
        { name: 'e_count', labels: {}, value: 2, at, kind: 'delta', unit: undefined },
        { name: 'e_sum', labels: {}, value: 0.5, at, kind: 'delta', unit: undefined },
        { name: 's_count', labels: {}, value: 10, at, kind: 'counter', unit: undefined },
        { name: 's_sum', labels: {}, value: 0, at, kind: 'counter', unit: undefined },
        { name: 's', labels: { quantile: '0.5' }, value: 3, at, kind: 'gauge', unit: undefined },
        { name: 's', labels: { quantile: '0.99' }, value: 8, at, kind: 'gauge', unit: undefined },
      ]);
      expect(decoded.refused).toEqual([
        { reason: 'sum nt has no aggregation temporality', count: 2 },
        { reason: 'metric empty has no data', count: 1 },
      ]);
    }
  });

  it('turns attributes of every value type into labels, with keys made label-safe', async () => {
    const attributes = [
      { key: 'str', value: { stringValue: 'v' } },
      { key: 'flag', value: { boolValue: true } },
      { key: 'int', value: { intValue: '-42' } },
      { key: 'dbl', value: { doubleValue: 0.25 } },
      { key: 'bytes', value: { bytesValue: Buffer.from('hi').toString('base64') } },
      { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }] } } },
      { key: 'kv', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] } } },
      { key: 'http.status-code', value: { stringValue: 's' } },
      { key: '9lives', value: {} },
    ];
    for (const decoded of await both([{ name: 'm', gauge: { dataPoints: [{ asDouble: 1, attributes }] } }])) {
      expect(decoded.points[0].labels).toEqual({
        str: 'v',
        flag: 'true',
        int: '-42',
        dbl: '0.25',
        bytes: 'aGk=',
        arr: '["a","1"]',
        kv: '{"k":"false"}',
        'http.status_code': 's',
        _9lives: '',
      });
    }
  });

  it('keeps every value of keys that become one label name, joined with ";" in the order of the keys, as Prometheus does', async () => {
    const attributes = [
      { key: 'a_b', value: { stringValue: 'plain' } },
      { key: 'a/b', value: { stringValue: 'slash' } },
      { key: 'a-b', value: { stringValue: 'dash' } },
      { key: 'x-y', value: { stringValue: 'alone' } },
      { key: '1st', value: { stringValue: 'one' } },
      { key: '_1st', value: { stringValue: 'underscore' } },
    ];
    for (const decoded of await both([{ name: 'm', gauge: { dataPoints: [{ asDouble: 1, attributes }] } }])) {
      // "a-b" < "a/b" < "a_b" by their text; "1st" < "_1st".
      expect(decoded.points[0].labels).toEqual({ a_b: 'dash;slash;plain', x_y: 'alone', _1st: 'one;underscore' });
    }
  });

  it('gives the points of one series one labels object, and a series with other attributes its own', async () => {
    const a = [{ key: 'cpu', value: { stringValue: '0' } }];
    const b = [{ key: 'cpu', value: { stringValue: '1' } }];
    const [decoded] = await both([{ name: 'm', gauge: { dataPoints: [{ asDouble: 1, attributes: a }, { asDouble: 2, attributes: a }, { asDouble: 3, attributes: b }, { asDouble: 4, attributes: b }] } }]);
    const labels = decoded.points.map((p) => p.labels);
    expect(labels).toEqual([{ cpu: '0' }, { cpu: '0' }, { cpu: '1' }, { cpu: '1' }]);
    expect(labels[1]).toBe(labels[0]);
    expect(labels[3]).toBe(labels[2]);
    expect(labels[2]).not.toBe(labels[0]);
  });

  it('refuses what is not the wire format with a DecodeError that says where', () => {
    const good = encodeOtlp(request([{ name: 'm', gauge: { dataPoints: [{ asDouble: 1 }] } }]));
    const cases: [Buffer, RegExp][] = [
      [good.subarray(0, good.length - 3), /runs past the end/],
      [Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), /runs past the end/],
      [Buffer.from([0x08, 0x01]), /field 1 must be length-delimited/],
      [Buffer.from([0x0b]), /wire type 3/],
      [Buffer.from([0x0a, 0x00, 0x00]), /field number 0/],
      [Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /longer than 10 bytes/],
    ];
    for (const [body, message] of cases) {
      expect(() => decodeOtlpProtobuf(body, NOW)).toThrow(DecodeError);
      expect(() => decodeOtlpProtobuf(body, NOW)).toThrow(message);
    }
  });

  it('refuses attribute values nested deeper than 16 levels rather than recursing without end', () => {
    // Written by hand: protobufjs itself will not encode values nested this deep.
    const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
    const field = (number: number, bytes: Buffer) => Buffer.concat([Buffer.from([(number << 3) | 2, ...varint(bytes.length)]), bytes]);
    const nested = (levels: number) => {
      let value = field(1, Buffer.from('x'));
      for (let i = 0; i < levels; i++) value = field(5, field(1, value));
      const point = field(7, Buffer.concat([field(1, Buffer.from('deep')), field(2, value)]));
      const metric = Buffer.concat([field(1, Buffer.from('m')), field(5, field(1, point))]);
      return field(1, field(2, field(2, metric)));
    };
    expect(() => decodeOtlpProtobuf(nested(5000), NOW)).toThrow(/nested deeper than 16 levels/);
    expect(decodeOtlpProtobuf(nested(16), NOW).points[0]).toMatchObject({ name: 'm', labels: { deep: expect.stringMatching(/^\["\[.*x.*\]"\]$/) } });
  });

  it('reads a JSON body near its limits a step per turn of the event loop, to the same points as its protobuf twin', async () => {
    // 7 600 points with five attributes each: 2.4 MiB, under the 100 000 objects and arrays a JSON body may hold.
    const attributes = (m: number) => ['host', 'region', 'zone', 'rack', 'pod'].map((key) => ({ key, value: { stringValue: `${key}-${m % 7}` } }));
    const json = request(Array.from({ length: 38 }, (_, m) => ({ name: `metric_${m}`, gauge: { dataPoints: Array.from({ length: 200 }, (_, i) => ({ asDouble: i, timeUnixNano: String((NOW - i) * 1_000_000), attributes: attributes(m) })) } })));
    const { result, turns } = await countingTurns(() => decodeOtlpJson(Buffer.from(JSON.stringify(json)), NOW));

    expect(result.points).toHaveLength(7600);
    expect(result).toEqual(decodeOtlpProtobuf(encodeOtlp(json), NOW));
    // Parse, check, convert, encode and read, each in a turn of its own: all in one would be none.
    expect(turns).toBeGreaterThanOrEqual(4);
  });

  it('decodes two JSON bodies at once at most: a third starts once one of them is done', async () => {
    const body = Buffer.from(JSON.stringify(request([{ name: 'm', gauge: { dataPoints: [{ asDouble: 1 }] } }])));
    const counter = turnCounter();
    const doneAt = await Promise.all([1, 2, 3].map(() => decodeOtlpJson(body, NOW).then(() => counter.turns)));
    counter.stop();

    // Side by side, the first two finish in the same turn; the third took its steps after them.
    expect(doneAt[1]).toBe(doneAt[0]);
    expect(doneAt[2]).toBeGreaterThanOrEqual(doneAt[0] + 5);
  });
});
