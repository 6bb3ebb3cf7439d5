/**
 * Basic-class content properties (AMQP 0-9-1 section 4.2.6.1 and the basic class definition).
 *
 * `raw` below is the property part of a content header payload: one or more 16-bit property-flags
 * words (bit 0 set = another flags word follows) and then the values of the present properties,
 * in flag order. The broker keeps these bytes as they arrived and re-sends them unchanged; it
 * decodes only what it needs, and the read* fast paths below get at single properties without
 * decoding the rest.
 */
import { AmqpError } from '../amqp-error.js';
import { SYNTAX_ERROR } from '../reply-codes.js';
import { Reader, Writer } from './buffer-io.js';
import type { FieldTable } from './field-table.js';
import { skipTable } from './field-table.js';

export interface BasicProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: FieldTable;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  /** Seconds since the epoch. */
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
  clusterId?: string;
}

// Flag bits of the first flags word, most significant bit = first property.
export const F_CONTENT_TYPE = 0x8000;
export const F_CONTENT_ENCODING = 0x4000;
export const F_HEADERS = 0x2000;
const F_DELIVERY_MODE = 0x1000;
const F_PRIORITY = 0x0800;
const F_CORRELATION_ID = 0x0400;
export const F_REPLY_TO = 0x0200;
export const F_EXPIRATION = 0x0100;
const F_MESSAGE_ID = 0x0080;
const F_TIMESTAMP = 0x0040;
const F_TYPE = 0x0020;
export const F_USER_ID = 0x0010;
const F_APP_ID = 0x0008;
const F_CLUSTER_ID = 0x0004;
const F_CONTINUED = 0x0001;

/**
 * Whether a property is present, from the first flags word alone (no decoding): lets the publish
 * path skip decoding for the common message that has no reply_to or user_id.
 */
export function hasPropertyFlag(raw: Buffer, flag: number): boolean {
  return raw.length >= 2 && (((raw[0]! << 8) | raw[1]!) & flag) !== 0;
}

function truncated(what: string, at: number, len: number): AmqpError {
  return new AmqpError(SYNTAX_ERROR, `content header properties truncated reading ${what} at offset ${at} of ${len}`);
}

/** Reads the flags word(s); returns the first word and leaves `r` at the property list. */
function readFlags(r: Reader): number {
  const flags = r.u16();
  // Basic has 14 properties, so any further words carry no properties we know; skip them.
  let more = flags & F_CONTINUED;
  while (more) more = r.u16() & F_CONTINUED;
  return flags;
}

export function decodeProperties(raw: Buffer): BasicProperties {
  const r = new Reader(raw);
  const f = readFlags(r);
  const p: BasicProperties = {};
  if (f & F_CONTENT_TYPE) p.contentType = r.shortStr();
  if (f & F_CONTENT_ENCODING) p.contentEncoding = r.shortStr();
  if (f & F_HEADERS) p.headers = r.table();
  if (f & F_DELIVERY_MODE) p.deliveryMode = r.u8();
  if (f & F_PRIORITY) p.priority = r.u8();
  if (f & F_CORRELATION_ID) p.correlationId = r.shortStr();
  if (f & F_REPLY_TO) p.replyTo = r.shortStr();
  if (f & F_EXPIRATION) p.expiration = r.shortStr();
  if (f & F_MESSAGE_ID) p.messageId = r.shortStr();
  if (f & F_TIMESTAMP) p.timestamp = r.u64();
  if (f & F_TYPE) p.type = r.shortStr();
  if (f & F_USER_ID) p.userId = r.shortStr();
  if (f & F_APP_ID) p.appId = r.shortStr();
  if (f & F_CLUSTER_ID) p.clusterId = r.shortStr();
  return p;
}

/** Encodes the flags word and property list; properties that are `undefined` are absent. */
export function encodeProperties(p: BasicProperties): Buffer {
  const w = new Writer(64);
  w.u16(0); // patched below
  let f = 0;
  if (p.contentType !== undefined) { f |= F_CONTENT_TYPE; w.shortStr(p.contentType); }
  if (p.contentEncoding !== undefined) { f |= F_CONTENT_ENCODING; w.shortStr(p.contentEncoding); }
  if (p.headers !== undefined) { f |= F_HEADERS; w.table(p.headers); }
  if (p.deliveryMode !== undefined) { f |= F_DELIVERY_MODE; w.u8(p.deliveryMode); }
  if (p.priority !== undefined) { f |= F_PRIORITY; w.u8(p.priority); }
  if (p.correlationId !== undefined) { f |= F_CORRELATION_ID; w.shortStr(p.correlationId); }
  if (p.replyTo !== undefined) { f |= F_REPLY_TO; w.shortStr(p.replyTo); }
  if (p.expiration !== undefined) { f |= F_EXPIRATION; w.shortStr(p.expiration); }
  if (p.messageId !== undefined) { f |= F_MESSAGE_ID; w.shortStr(p.messageId); }
  if (p.timestamp !== undefined) { f |= F_TIMESTAMP; w.u64(p.timestamp); }
  if (p.type !== undefined) { f |= F_TYPE; w.shortStr(p.type); }
  if (p.userId !== undefined) { f |= F_USER_ID; w.shortStr(p.userId); }
  if (p.appId !== undefined) { f |= F_APP_ID; w.shortStr(p.appId); }
  if (p.clusterId !== undefined) { f |= F_CLUSTER_ID; w.shortStr(p.clusterId); }
  const out = Buffer.from(w.toBuffer());
  out.writeUInt16BE(f, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hot-path readers: skip the preceding properties structurally, allocate nothing.

/**
 * Offset of the property list (after the flags words), or throws 502. Returns the first flags
 * word in `flagsOut[0]` to avoid allocating a result object.
 */
const flagsOut = [0];
function listStart(raw: Buffer): number {
  if (raw.length < 2) throw truncated('property flags', 0, raw.length);
  let pos = 0;
  const first = raw.readUInt16BE(0);
  let word = first;
  pos = 2;
  while (word & F_CONTINUED) {
    if (pos + 2 > raw.length) throw truncated('property flags', pos, raw.length);
    word = raw.readUInt16BE(pos);
    pos += 2;
  }
  flagsOut[0] = first;
  return pos;
}

function skipShortStr(raw: Buffer, pos: number, what: string): number {
  if (pos >= raw.length) throw truncated(what, pos, raw.length);
  const end = pos + 1 + raw[pos]!;
  if (end > raw.length) throw truncated(what, pos, raw.length);
  return end;
}

/** Skips content-type .. priority as flagged up to (not including) `upTo`; returns the offset. */
function skipTo(raw: Buffer, upTo: number): number {
  let pos = listStart(raw);
  const f = flagsOut[0]!;
  if (upTo === F_CONTENT_TYPE) return pos;
  if (f & F_CONTENT_TYPE) pos = skipShortStr(raw, pos, 'content-type');
  if (upTo === F_CONTENT_ENCODING) return pos;
  if (f & F_CONTENT_ENCODING) pos = skipShortStr(raw, pos, 'content-encoding');
  if (upTo === F_HEADERS) return pos;
  if (f & F_HEADERS) {
    if (pos + 4 > raw.length) throw truncated('headers', pos, raw.length);
    pos += 4 + raw.readUInt32BE(pos);
    if (pos > raw.length) throw truncated('headers', pos, raw.length);
  }
  if (upTo === F_DELIVERY_MODE) return pos;
  if (f & F_DELIVERY_MODE) pos += 1;
  if (upTo === F_PRIORITY) return pos;
  if (f & F_PRIORITY) pos += 1;
  if (upTo === F_CORRELATION_ID) return pos;
  if (f & F_CORRELATION_ID) pos = skipShortStr(raw, pos, 'correlation-id');
  if (upTo === F_REPLY_TO) return pos;
  if (f & F_REPLY_TO) pos = skipShortStr(raw, pos, 'reply-to');
  return pos; // F_EXPIRATION
}

/** delivery-mode (1 transient, 2 persistent), or 0 when absent. */
export function readDeliveryMode(raw: Buffer): number {
  if (raw.length < 2) throw truncated('property flags', 0, raw.length);
  if (!(raw.readUInt16BE(0) & F_DELIVERY_MODE)) return 0;
  const pos = skipTo(raw, F_DELIVERY_MODE);
  if (pos >= raw.length) throw truncated('delivery-mode', pos, raw.length);
  return raw[pos]!;
}

/** priority, or 0 when absent. */
export function readPriority(raw: Buffer): number {
  if (raw.length < 2) throw truncated('property flags', 0, raw.length);
  if (!(raw.readUInt16BE(0) & F_PRIORITY)) return 0;
  const pos = skipTo(raw, F_PRIORITY);
  if (pos >= raw.length) throw truncated('priority', pos, raw.length);
  return raw[pos]!;
}

/** expiration (per-message TTL in ms, as a string), or undefined when absent. */
export function readExpiration(raw: Buffer): string | undefined {
  if (raw.length < 2) throw truncated('property flags', 0, raw.length);
  if (!(raw.readUInt16BE(0) & F_EXPIRATION)) return undefined;
  const pos = skipTo(raw, F_EXPIRATION);
  const end = skipShortStr(raw, pos, 'expiration');
  return raw.toString('utf8', pos + 1, end);
}

/** Shared by validateProperties: the publish path allocates no Reader per message. */
const scratchReader = new Reader(Buffer.alloc(0));

function skipShort(r: Reader): void {
  const len = r.u8();
  r.pos = r.need(len) + len;
}

/**
 * Checks that raw property bytes are well formed (flags, every present property, the headers
 * table's structure) without decoding them; throws 502 SYNTAX_ERROR otherwise. RabbitMQ refuses
 * such a publish too, and it keeps malformed bytes from reaching consumers' client libraries.
 */
export function validateProperties(raw: Buffer, start = 0, end = raw.length): void {
  const r = scratchReader;
  r.buf = raw;
  r.pos = start;
  r.end = end;
  try {
    const f = readFlags(r);
    if (f & F_CONTENT_TYPE) skipShort(r);
    if (f & F_CONTENT_ENCODING) skipShort(r);
    if (f & F_HEADERS) skipTable(r, 0);
    if (f & F_DELIVERY_MODE) r.pos = r.need(1) + 1;
    if (f & F_PRIORITY) r.pos = r.need(1) + 1;
    if (f & F_CORRELATION_ID) skipShort(r);
    if (f & F_REPLY_TO) skipShort(r);
    if (f & F_EXPIRATION) skipShort(r);
    if (f & F_MESSAGE_ID) skipShort(r);
    if (f & F_TIMESTAMP) r.pos = r.need(8) + 8;
    if (f & F_TYPE) skipShort(r);
    if (f & F_USER_ID) skipShort(r);
    if (f & F_APP_ID) skipShort(r);
    if (f & F_CLUSTER_ID) skipShort(r);
  } finally {
    r.buf = EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);
