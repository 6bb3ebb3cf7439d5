/**
 * AMQP field tables and field values (spec section 4.2.5.5), using RabbitMQ's tag set, which is
 * what every client actually speaks (it differs from the 0-9-1 spec text for s/u/l/x/etc.).
 *
 * Wire tag → decoded JS value:
 *   t boolean              → boolean (any non-zero octet is true)
 *   b int8   B uint8       → TypedValue { type: 'b' | 'B', value: number }
 *   s int16  u uint16      → TypedValue { type: 's' | 'u', value: number }
 *   I int32                → number
 *   i uint32               → TypedValue { type: 'i', value: number }
 *   l int64                → bigint
 *   f float32              → TypedValue { type: 'f', value: number }
 *   d float64              → number when not an integer (incl. NaN/±Infinity), otherwise
 *                            TypedValue { type: 'd', value } — so that re-encoding reproduces 'd'
 *   D decimal (u8 scale, u32 value) → TypedValue { type: 'D', value: { scale, value } }
 *   S longstr              → string (UTF-8)
 *   x byte array           → Buffer (a copy, so it outlives the frame)
 *   T timestamp (u64 s)    → Date
 *   F table                → FieldTable
 *   A array (u32 bytes)    → FieldValue[]
 *   V void                 → null
 *
 * JS value → wire tag when encoding:
 *   boolean → t; number: an int32 integer → I, another safe integer → l, anything else (fractions,
 *   NaN, ±Infinity, -0, unsafe integers) → d; bigint → l; string → S; Buffer → x; Date → T (whole
 *   seconds, floored); null/undefined → V; array → A; TypedValue → its own tag; any other object → F.
 *
 * A TypedValue is recognised by shape: an object with exactly the keys `type` and `value` whose
 * `type` is one of the tags above. (A table that happens to have exactly that shape is therefore
 * re-encoded as a typed value; no client sends such tables in practice.)
 *
 * Decode → encode is byte-exact for every tag, except that a 't' octet other than 0/1 re-encodes as
 * 1 and an 'S' string that is not valid UTF-8 is decoded with replacement characters.
 */
import { AmqpError } from '../amqp-error.js';
import { SYNTAX_ERROR } from '../reply-codes.js';
import type { Reader, Writer } from './buffer-io.js';

export interface Decimal { scale: number; value: number }

export type TypedTag = 'b' | 'B' | 's' | 'u' | 'i' | 'f' | 'D' | 'l' | 'd' | 'I';

export interface TypedValue { type: TypedTag; value: number | bigint | Decimal }

export type FieldValue =
  | boolean | number | bigint | string | Buffer | Date | null | FieldValue[] | FieldTable | TypedValue;

export interface FieldTable { [key: string]: FieldValue }

const TYPED_TAGS = new Set<string>(['b', 'B', 's', 'u', 'i', 'f', 'D', 'l', 'd', 'I']);

/**
 * Nesting limit for tables/arrays. Real headers nest a few levels (x-death: table → array →
 * table); the limit turns a hostile deeply nested table into a 502 instead of a stack overflow.
 */
const MAX_DEPTH = 100;

const MAX_DATE_SECONDS = 8.64e12; // ECMAScript Date range is ±8.64e15 ms

export function isTypedValue(v: unknown): v is TypedValue {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (typeof o.type !== 'string' || !TYPED_TAGS.has(o.type) || !('value' in o)) return false;
  let n = 0;
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) n++;
  return n === 2;
}

// ---------------------------------------------------------------------------------------------
// Decoding

function syntax(text: string): AmqpError {
  return new AmqpError(SYNTAX_ERROR, text);
}

/** Reads a field-table (u32 byte length then entries) at the reader's position. */
export function decodeTable(r: Reader, depth: number): FieldTable {
  if (depth > MAX_DEPTH) throw syntax(`field table nested deeper than ${MAX_DEPTH} levels`);
  const len = r.u32();
  const end = r.need(len) + len;
  const outerEnd = r.end;
  r.end = end;
  const t: FieldTable = {};
  while (r.pos < end) {
    const key = r.shortStr();
    const value = decodeValue(r, depth);
    if (key === '__proto__') {
      // A plain assignment would replace the prototype instead of creating a key.
      Object.defineProperty(t, key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      t[key] = value;
    }
  }
  r.end = outerEnd;
  return t;
}

function decodeArray(r: Reader, depth: number): FieldValue[] {
  if (depth > MAX_DEPTH) throw syntax(`field array nested deeper than ${MAX_DEPTH} levels`);
  const len = r.u32();
  const end = r.need(len) + len;
  const outerEnd = r.end;
  r.end = end;
  const a: FieldValue[] = [];
  while (r.pos < end) a.push(decodeValue(r, depth));
  r.end = outerEnd;
  return a;
}

/** Reads one tagged field value. */
export function decodeValue(r: Reader, depth: number): FieldValue {
  const at = r.pos;
  const tag = r.u8();
  switch (tag) {
    case 0x74: return r.u8() !== 0; // t
    case 0x62: return { type: 'b', value: r.i8() };
    case 0x42: return { type: 'B', value: r.u8() };
    case 0x73: return { type: 's', value: r.i16() };
    case 0x75: return { type: 'u', value: r.u16() };
    case 0x49: return r.i32(); // I
    case 0x69: return { type: 'i', value: r.u32() };
    case 0x6c: return r.i64(); // l
    case 0x66: return { type: 'f', value: r.f32() };
    case 0x64: { // d
      const v = r.f64();
      return Number.isInteger(v) ? { type: 'd', value: v } : v;
    }
    case 0x44: { // D
      const scale = r.u8();
      return { type: 'D', value: { scale, value: r.u32() } };
    }
    case 0x53: return r.longStr().toString('utf8'); // S
    case 0x78: return Buffer.from(r.longStr()); // x
    case 0x54: { // T
      const p = r.pos;
      const s = r.u64();
      if (s > MAX_DATE_SECONDS) throw syntax(`timestamp ${s} at offset ${p} is out of the Date range`);
      return new Date(s * 1000);
    }
    case 0x46: return decodeTable(r, depth + 1); // F
    case 0x41: return decodeArray(r, depth + 1); // A
    case 0x56: return null; // V
    default:
      throw syntax(`unknown field value type 0x${tag.toString(16).padStart(2, '0')}` +
        ` ('${String.fromCharCode(tag)}') at offset ${at}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation without decoding

/** Fixed payload sizes of the scalar field types, by tag (0 = not a fixed-size type). */
const FIXED_SIZE = new Uint8Array(256);
for (const [tag, size] of [['t', 1], ['b', 1], ['B', 1], ['s', 2], ['u', 2], ['I', 4], ['i', 4], ['l', 8],
  ['f', 4], ['d', 8], ['D', 5], ['T', 8]] as const) FIXED_SIZE[tag.charCodeAt(0)] = size;

/**
 * Walks a field table checking its structure (lengths, known tags, nesting) without building any
 * value: the publish path uses it to refuse malformed headers (502) before they reach consumers.
 */
export function skipTable(r: Reader, depth: number): void {
  if (depth > MAX_DEPTH) throw syntax(`field table nested deeper than ${MAX_DEPTH} levels`);
  const len = r.u32();
  const end = r.need(len) + len;
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) {
    const keyLen = r.u8();
    r.pos = r.need(keyLen) + keyLen;
    skipValue(r, depth);
  }
  r.end = outerEnd;
}

function skipValue(r: Reader, depth: number): void {
  const at = r.pos;
  const tag = r.u8();
  const fixed = FIXED_SIZE[tag]!;
  if (fixed > 0) {
    r.pos = r.need(fixed) + fixed;
    return;
  }
  switch (tag) {
    case 0x53: case 0x78: { // S x
      const len = r.u32();
      r.pos = r.need(len) + len;
      return;
    }
    case 0x46: return skipTable(r, depth + 1); // F
    case 0x41: { // A
      const len = r.u32();
      const end = r.need(len) + len;
      const outerEnd = r.end;
      r.end = end;
      while (r.pos < end) skipValue(r, depth + 1);
      r.end = outerEnd;
      return;
    }
    case 0x56: return; // V
    default:
      throw syntax(`unknown field value type 0x${tag.toString(16).padStart(2, '0')} at offset ${at}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Writes a field-table; `undefined` is the empty table. */
export function encodeTable(w: Writer, t: FieldTable | undefined, depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError(`field table nested deeper than ${MAX_DEPTH} levels`);
  const at = w.length;
  w.u32(0);
  if (t !== undefined) {
    for (const key of Object.keys(t)) {
      w.shortStr(key);
      encodeValue(w, t[key], depth);
    }
  }
  w.setU32(at, w.length - at - 4);
}

function encodeArray(w: Writer, a: readonly FieldValue[], depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError(`field array nested deeper than ${MAX_DEPTH} levels`);
  const at = w.length;
  w.u32(0);
  for (let i = 0; i < a.length; i++) encodeValue(w, a[i], depth);
  w.setU32(at, w.length - at - 4);
}

function isPlainInt(v: number): boolean {
  return Number.isSafeInteger(v) && !Object.is(v, -0);
}

/** The wire tag a value encodes as (see the table at the top of the file). */
export function wireTag(v: FieldValue | undefined): string {
  switch (typeof v) {
    case 'string': return 'S';
    case 'boolean': return 't';
    case 'number':
      if (!isPlainInt(v)) return 'd';
      return v >= -0x8000_0000 && v <= 0x7fff_ffff ? 'I' : 'l';
    case 'bigint': return 'l';
    case 'undefined': return 'V';
    case 'object':
      if (v === null) return 'V';
      if (Buffer.isBuffer(v)) return 'x';
      if (v instanceof Date) return 'T';
      if (Array.isArray(v)) return 'A';
      if (isTypedValue(v)) return v.type;
      return 'F';
    default:
      throw new TypeError(`cannot encode a ${typeof v} as an AMQP field value`);
  }
}

function num(v: TypedValue): number {
  if (typeof v.value !== 'number') {
    throw new TypeError(`typed field value '${v.type}' needs a number, got ${typeof v.value}`);
  }
  return v.value;
}

export function encodeValue(w: Writer, v: FieldValue | undefined, depth: number): void {
  const tag = wireTag(v);
  w.u8(tag.charCodeAt(0));
  switch (tag) {
    case 'S': w.longStr(v as string); return;
    case 't': w.u8(v ? 1 : 0); return;
    case 'V': return;
    case 'x': w.longStr(v as Buffer); return;
    case 'A': encodeArray(w, v as FieldValue[], depth + 1); return;
    case 'F': encodeTable(w, v as FieldTable, depth + 1); return;
    case 'T': {
      const ms = (v as Date).getTime();
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot encode date ${String(v)} as a timestamp`);
      w.u64(Math.floor(ms / 1000));
      return;
    }
    default: break;
  }
  // Numbers: plain (I/l/d) or typed.
  if (typeof v === 'number') {
    if (tag === 'I') w.i32(v);
    else if (tag === 'l') w.i64(v);
    else w.f64(v);
    return;
  }
  if (typeof v === 'bigint') {
    w.i64(v);
    return;
  }
  const tv = v as TypedValue;
  switch (tv.type) {
    case 'b': w.i8(num(tv)); return;
    case 'B': w.u8(num(tv)); return;
    case 's': w.i16(num(tv)); return;
    case 'u': w.u16(num(tv)); return;
    case 'I': w.i32(num(tv)); return;
    case 'i': w.u32(num(tv)); return;
    case 'f': w.f32(num(tv)); return;
    case 'd': w.f64(num(tv)); return;
    case 'l': {
      const x = tv.value;
      if (typeof x !== 'number' && typeof x !== 'bigint') throw new TypeError(`typed field value 'l' needs a number or bigint`);
      w.i64(x);
      return;
    }
    case 'D': {
      const d = tv.value as Decimal;
      if (typeof d !== 'object' || d === null) throw new TypeError(`typed field value 'D' needs { scale, value }`);
      w.u8(d.scale);
      w.u32(d.value);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Accessors and comparison used by the broker core

/** A numeric field value (number, bigint, or numeric TypedValue) as a JS number. */
export function fieldNumber(v: FieldValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (isTypedValue(v)) {
    const x = v.value;
    if (typeof x === 'number') return x;
    if (typeof x === 'bigint') return Number(x);
    return x.value / 10 ** x.scale;
  }
  return undefined;
}

/** A string field value (S, or x interpreted as UTF-8). */
export function fieldString(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return undefined;
}

function valuesEqual(a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  const tag = wireTag(a);
  if (tag !== wireTag(b)) return false;
  switch (tag) {
    case 'V': return true;
    case 'S': case 't': return a === b;
    case 'x': return (a as Buffer).equals(b as Buffer);
    case 'T': return Math.floor((a as Date).getTime() / 1000) === Math.floor((b as Date).getTime() / 1000);
    case 'A': {
      const x = a as FieldValue[];
      const y = b as FieldValue[];
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (!valuesEqual(x[i], y[i])) return false;
      return true;
    }
    case 'F': return tablesEqual(a as FieldTable, b as FieldTable);
    case 'D': {
      const x = (a as TypedValue).value as Decimal;
      const y = (b as TypedValue).value as Decimal;
      return x.scale === y.scale && x.value === y.value;
    }
    default: {
      // Numeric tags; plain or typed on either side. Compare as the wire would carry them.
      const x = isTypedValue(a) ? a.value : a;
      const y = isTypedValue(b) ? b.value : b;
      if (typeof x === 'bigint' || typeof y === 'bigint') return BigInt(x as number) === BigInt(y as number);
      return Object.is(x, y);
    }
  }
}

/**
 * Deep, type-aware table equality (1 as 'I' differs from 1n as 'l', as in RabbitMQ's argument
 * equivalence checks); key order is irrelevant; `undefined` equals `{}`.
 */
export function tablesEqual(a: FieldTable | undefined, b: FieldTable | undefined): boolean {
  if (a === b) return true;
  const ka = a === undefined ? [] : Object.keys(a);
  const kb = b === undefined ? [] : Object.keys(b);
  if (ka.length !== kb.length) return false;
  if (ka.length === 0) return true;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!valuesEqual(a![k], b![k])) return false;
  }
  return true;
}
