import { isUtf8 } from 'node:buffer';
/** Refused input: the message says what is wrong, for a 400. */
export class DecodeError extends Error {}

/** Input over a limit of size or of work, for a 413. */
export class TooLargeError extends Error {}

/**
 * Fields one body may hold, nested ones included. Reading a field costs 0.1–0.3 µs, on
 * the event loop, so no body holds it for more than a few tens of milliseconds, whatever
 * its size: 32 MiB of empty messages was 16 million fields (16 s). 2 000 samples take
 * 10 000–30 000.
 */
export const MAX_FIELDS = 200_000;

export const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/**
 * The protobuf wire format, read in place: a message is a byte range of `buf`, and
 * `fields` visits its fields without building objects. Decoders extend it with what
 * their messages mean.
 */
export class WireReader {
  private pos = 0;
  private visited = 0;
  /** The value of the last varint field `fields` read, and where it starts. */
  protected lastVarint = 0;
  private lastVarintStart = 0;

  constructor(protected readonly buf: Buffer) {}

  /** The last varint as a signed 64-bit integer (exact up to 2^53, as protobufjs' Long.toNumber). */
  protected get lastInt64(): number {
    let lo = 0;
    let hi = 0;
    let p = this.lastVarintStart;
    for (let shift = 0; shift < 64; shift += 7, p++) {
      const b = this.buf[p] & 0x7f;
      if (shift < 28) lo |= b << shift;
      else if (shift === 28) (lo |= b << 28), (hi |= b >>> 4);
      else hi |= b << (shift - 32);
      if (this.buf[p] < 0x80) break;
    }
    return (hi | 0) * 2 ** 32 + (lo >>> 0);
  }

  /**
   * Calls `visit` for each field of the message in [start, end): its number, wire type and
   * where its payload is (a varint's value is in lastVarint). Refuses what is not the wire
   * format: truncated fields, lengths past the end, unknown wire types.
   */
  protected fields(start: number, end: number, visit: (field: number, wire: number, start: number, end: number) => unknown): void {
    let p = start;
    while (p < end) {
      if (++this.visited > MAX_FIELDS) throw new TooLargeError(`the body holds more than ${MAX_FIELDS} protobuf fields; send fewer samples per request`);
      this.pos = p;
      const tag = this.varint(end);
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      if (field === 0) throw new DecodeError(`field number 0 at byte ${p}`);
      let s = this.pos;
      let e: number;
      if (wire === WIRE_VARINT) {
        this.lastVarintStart = s;
        this.lastVarint = this.varint(end);
        e = this.pos;
      } else if (wire === WIRE_I64) e = s + 8;
      else if (wire === WIRE_I32) e = s + 4;
      else if (wire === WIRE_LEN) {
        const length = this.varint(end);
        s = this.pos;
        e = s + length;
      } else throw new DecodeError(`field ${field} at byte ${p} has wire type ${wire}, which no message read here uses`);
      if (e > end) throw new DecodeError(`field ${field} at byte ${p} runs past the end of its message`);
      visit(field, wire, s, e);
      p = e;
    }
  }

  private varint(end: number): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++, scale *= 128) {
      if (this.pos >= end) throw new DecodeError(`a varint at byte ${this.pos} runs past the end of its message`);
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
    }
    throw new DecodeError(`a varint at byte ${this.pos} is longer than 10 bytes`);
  }

  protected len(wire: number, field: number): true {
    if (wire !== WIRE_LEN) throw new DecodeError(`field ${field} must be length-delimited, not wire type ${wire}`);
    return true;
  }

  protected i64(wire: number, field: number): true {
    if (wire !== WIRE_I64) throw new DecodeError(`field ${field} must be a 64-bit value, not wire type ${wire}`);
    return true;
  }

  /** Whether two byte ranges of the body hold the same bytes: short ones (labels mostly) compared here, long ones natively. */
  protected sameBytes(s1: number, e1: number, s2: number, e2: number): boolean {
    const n = e1 - s1;
    if (n !== e2 - s2) return false;
    if (n > 64) return this.buf.compare(this.buf, s2, e2, s1, e1) === 0;
    for (let i = 0; i < n; i++) if (this.buf[s1 + i] !== this.buf[s2 + i]) return false;
    return true;
  }

  /** A string field; one that is not UTF-8 is refused, not rewritten with U+FFFD (two such names could become one). */
  protected string(start: number, end: number): string {
    // Names and label values are short and ASCII nearly always: checked here byte by byte
    // and read as Latin-1, which for ASCII is the same text, without the view and the
    // native check. A long text is checked natively.
    let ascii = end - start <= 64;
    for (let i = start; ascii && i < end; i++) if (this.buf[i] >= 0x80) ascii = false;
    if (ascii) return this.buf.toString('latin1', start, end);
    if (!isUtf8(this.buf.subarray(start, end))) throw new DecodeError('a string field is not valid UTF-8 (a lone UTF-16 surrogate, \\uD800-\\uDFFF without its pair, has no UTF-8 form)');
    return this.buf.toString('utf8', start, end);
  }
}
