/**
 * Bounds-checked big-endian primitives for AMQP 0-9-1 (spec section 4.2.5 "Field types"): a
 * `Reader` over a window of a Buffer and a growable `Writer`.
 *
 * Every Reader overrun throws AmqpError 502 SYNTAX_ERROR: a short read always means the peer sent a
 * truncated or malformed argument. Callers that know better (the frame reader, the method decoder)
 * catch and re-attribute it. Writer errors are programming errors on our side and throw plain
 * `Error`/`RangeError`.
 */
import { AmqpError } from '../amqp-error.js';
import { SYNTAX_ERROR } from '../reply-codes.js';
import { decodeTable, encodeTable } from './field-table.js';
import type { FieldTable } from './field-table.js';

const TWO_32 = 0x1_0000_0000;

export class Reader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Bytes left before `end`. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws 502 unless `n` more bytes are available; returns the current position. */
  need(n: number): number {
    const p = this.pos;
    if (n > this.end - p) {
      throw new AmqpError(SYNTAX_ERROR,
        `truncated data: needed ${n} byte(s) at offset ${p}, only ${this.end - p} left`);
    }
    return p;
  }

  u8(): number {
    const p = this.need(1);
    this.pos = p + 1;
    return this.buf[p]!;
  }

  i8(): number {
    const p = this.need(1);
    this.pos = p + 1;
    return this.buf.readInt8(p);
  }

  u16(): number {
    const p = this.need(2);
    this.pos = p + 2;
    return this.buf.readUInt16BE(p);
  }

  i16(): number {
    const p = this.need(2);
    this.pos = p + 2;
    return this.buf.readInt16BE(p);
  }

  u32(): number {
    const p = this.need(4);
    this.pos = p + 4;
    return this.buf.readUInt32BE(p);
  }

  i32(): number {
    const p = this.need(4);
    this.pos = p + 4;
    return this.buf.readInt32BE(p);
  }

  /** Unsigned 64-bit as a JS number; 502 when it does not fit a safe integer (2^53 - 1). */
  u64(): number {
    const p = this.need(8);
    const hi = this.buf.readUInt32BE(p);
    if (hi > 0x1f_ffff) {
      throw new AmqpError(SYNTAX_ERROR,
        `64-bit value at offset ${p} exceeds Number.MAX_SAFE_INTEGER`);
    }
    this.pos = p + 8;
    return hi * TWO_32 + this.buf.readUInt32BE(p + 4);
  }

  /** Unsigned 64-bit as a bigint (exact). */
  u64big(): bigint {
    const p = this.need(8);
    this.pos = p + 8;
    return this.buf.readBigUInt64BE(p);
  }

  /** Signed 64-bit as a bigint (exact). */
  i64(): bigint {
    const p = this.need(8);
    this.pos = p + 8;
    return this.buf.readBigInt64BE(p);
  }

  f32(): number {
    const p = this.need(4);
    this.pos = p + 4;
    return this.buf.readFloatBE(p);
  }

  f64(): number {
    const p = this.need(8);
    this.pos = p + 8;
    return this.buf.readDoubleBE(p);
  }

  /** shortstr: u8 length + bytes, decoded as UTF-8. */
  shortStr(): string {
    const len = this.u8();
    const p = this.need(len);
    this.pos = p + len;
    return this.buf.toString('utf8', p, p + len);
  }

  /** longstr: u32 length + bytes, returned as a view into the underlying buffer (no copy). */
  longStr(): Buffer {
    const len = this.u32();
    const p = this.need(len);
    this.pos = p + len;
    return this.buf.subarray(p, p + len);
  }

  /** field-table: u32 byte length + entries (spec 4.2.5.5, RabbitMQ's tag set). */
  table(): FieldTable {
    return decodeTable(this, 0);
  }
}

export class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  get length(): number {
    return this.pos;
  }

  /** Makes room for `n` more bytes, growing geometrically; returns the write position. */
  private room(n: number): number {
    const p = this.pos;
    if (p + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < p + n) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, 0, p);
      this.buf = next;
    }
    this.pos = p + n;
    return p;
  }

  u8(v: number): void {
    const p = this.room(1);
    this.buf.writeUInt8(v, p);
  }

  i8(v: number): void {
    const p = this.room(1);
    this.buf.writeInt8(v, p);
  }

  u16(v: number): void {
    const p = this.room(2);
    this.buf.writeUInt16BE(v, p);
  }

  i16(v: number): void {
    const p = this.room(2);
    this.buf.writeInt16BE(v, p);
  }

  u32(v: number): void {
    const p = this.room(4);
    this.buf.writeUInt32BE(v, p);
  }

  i32(v: number): void {
    const p = this.room(4);
    this.buf.writeInt32BE(v, p);
  }

  u64(v: number | bigint): void {
    if (typeof v === 'bigint') {
      const p = this.room(8);
      this.buf.writeBigUInt64BE(v, p);
      return;
    }
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`u64 value ${v} is not a non-negative safe integer`);
    }
    const p = this.room(8);
    this.buf.writeUInt32BE(Math.floor(v / TWO_32), p);
    this.buf.writeUInt32BE(v % TWO_32, p + 4);
  }

  i64(v: number | bigint): void {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      throw new RangeError(`i64 value ${v} is not a safe integer`);
    }
    const p = this.room(8);
    this.buf.writeBigInt64BE(BigInt(v), p);
  }

  f32(v: number): void {
    const p = this.room(4);
    this.buf.writeFloatBE(v, p);
  }

  f64(v: number): void {
    const p = this.room(8);
    this.buf.writeDoubleBE(v, p);
  }

  /** shortstr; throws Error when the UTF-8 encoding exceeds 255 bytes. */
  shortStr(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    if (len > 255) {
      throw new Error(`shortstr too long: ${len} bytes (max 255): ${JSON.stringify(s.slice(0, 40))}…`);
    }
    const p = this.room(1 + len);
    this.buf[p] = len;
    this.buf.write(s, p + 1, len, 'utf8');
  }

  longStr(v: Buffer | string): void {
    if (typeof v === 'string') {
      const len = Buffer.byteLength(v, 'utf8');
      const p = this.room(4 + len);
      this.buf.writeUInt32BE(len, p);
      this.buf.write(v, p + 4, len, 'utf8');
    } else {
      const p = this.room(4 + v.length);
      this.buf.writeUInt32BE(v.length, p);
      v.copy(this.buf, p + 4);
    }
  }

  /** field-table; `undefined` encodes as the empty table. */
  table(t: FieldTable | undefined): void {
    encodeTable(this, t, 0);
  }

  bytes(b: Buffer): void {
    const p = this.room(b.length);
    b.copy(this.buf, p);
  }

  /** Overwrites a u32 at an earlier position (frame and table sizes are patched after the fact). */
  setU32(at: number, v: number): void {
    if (at < 0 || at + 4 > this.pos) throw new RangeError(`setU32 at ${at} outside written data`);
    this.buf.writeUInt32BE(v, at);
  }

  /** Drops everything after `len` bytes (used to undo a partially written frame on error). */
  truncate(len: number): void {
    if (len < 0 || len > this.pos) throw new RangeError(`truncate(${len}) with length ${this.pos}`);
    this.pos = len;
  }

  /** A view of the written bytes; valid until the next write or reset. */
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}
