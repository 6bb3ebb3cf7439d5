import type { Message } from '../../core/message.js';
import { crc32c } from './crc32c.js';

/**
 * On-disk format of a durable queue's message log, version 1. Every integer is big-endian.
 *
 * A queue's directory holds:
 *
 *   msgs.NNNNNNNNNN   segment files, NNNNNNNNNN = segment id (increasing), each at most
 *                     `segmentBytes` long unless a single record is bigger.
 *   acks.NNNNNNNNNN   the ack file of segment NNNNNNNNNN: which of its records are done.
 *   state             the delivered high-water mark (see below).
 *   queue.json        {vhost, name}: which queue owns the directory, for people and clean-up.
 *
 * Segment file: a 16-byte header, then records back to back.
 *
 *   header   "WSEG" | u16 version (1) | u16 0 | u32 segment id | u32 0
 *   record   u32 length L         bytes that follow the crc field (the record is 8 + L bytes)
 *            u32 crc32c           CRC-32C of those L bytes
 *            u8  flags            bit 0: persistent (delivery_mode 2)
 *            u32 seq_hi, u32 seq_lo        queue position, increasing in publish order
 *            u32 time_hi, u32 time_lo      enqueue time, ms since the epoch
 *            u8  n + exchange (UTF-8, n bytes)
 *            u8  n + routing key (UTF-8, n bytes)
 *            u32 n + raw AMQP content-header properties (flags + property list)
 *            body (the rest of the record)
 *
 * Ack file: a 16-byte header ("WACK" | u16 version (1) | u16 0 | u32 segment id | u32 0), then one
 * u32 per finished record: the record's byte offset in the segment. A torn last entry (fewer than 4
 * bytes) is ignored. Acks are not fsynced: losing one to a crash means a redelivery, flagged as such.
 *
 * State file: u32 hw_hi | u32 hw_lo | u32 crc32c of those 8 bytes. Every message with seq < hw may
 * have been delivered, so it comes back with `redelivered` set after a restart. The mark is written
 * ahead of deliveries (see segment-queue-store.ts), so it over-approximates, as AMQP allows.
 */
export const FORMAT_VERSION = 1;
export const FILE_HEADER_BYTES = 16;
export const RECORD_PREFIX_BYTES = 8;
/** Bytes of a record after the crc that do not depend on the message (flags, seq, time, lengths). */
export const RECORD_FIXED_BYTES = 1 + 8 + 8 + 1 + 1 + 4;
export const FLAG_PERSISTENT = 1;
export const SEGMENT_MAGIC = 0x5753_4547; // "WSEG"
export const ACK_MAGIC = 0x5741_434b; // "WACK"

const TWO_32 = 2 ** 32;

export function segmentFileName(id: number): string {
  return `msgs.${String(id).padStart(10, '0')}`;
}

export function ackFileName(id: number): string {
  return `acks.${String(id).padStart(10, '0')}`;
}

/** The segment id in a file name like `msgs.0000000007`, or -1. */
export function parseSegmentFileName(name: string): number {
  const m = /^msgs\.(\d{10})$/.exec(name);
  return m ? Number(m[1]) : -1;
}

export function fileHeader(magic: number, id: number): Buffer {
  const b = Buffer.alloc(FILE_HEADER_BYTES);
  b.writeUInt32BE(magic, 0);
  b.writeUInt16BE(FORMAT_VERSION, 4);
  b.writeUInt32BE(id, 8);
  return b;
}

/** Null when the header is right; otherwise what is wrong with it. */
export function checkFileHeader(buf: Buffer, magic: number, id: number): string | null {
  if (buf.length < FILE_HEADER_BYTES) return 'short header';
  if (buf.readUInt32BE(0) !== magic) return 'bad magic';
  const version = buf.readUInt16BE(4);
  if (version !== FORMAT_VERSION) return `unsupported version ${version}`;
  if (buf.readUInt32BE(8) !== id) return 'segment id does not match the file name';
  return null;
}

/** Bytes `encodeRecord` writes for this message. */
export function recordSize(message: Message): number {
  return RECORD_PREFIX_BYTES + RECORD_FIXED_BYTES + Buffer.byteLength(message.exchange) +
    Buffer.byteLength(message.routingKey) + message.rawProperties.length + message.body.length;
}

/** Writes one record at buf[pos] (room for recordSize(message) bytes needed); returns the end. */
export function encodeRecord(buf: Buffer, pos: number, message: Message, seq: number, time: number, persistent: boolean): number {
  let p = pos + RECORD_PREFIX_BYTES;
  buf[p++] = persistent ? FLAG_PERSISTENT : 0;
  p = writeU64(buf, p, seq);
  p = writeU64(buf, p, time);
  p = writeShortString(buf, p, message.exchange);
  p = writeShortString(buf, p, message.routingKey);
  const props = message.rawProperties;
  buf.writeUInt32BE(props.length, p);
  p += 4 + props.copy(buf, p + 4);
  p += message.body.copy(buf, p);
  const length = p - pos - RECORD_PREFIX_BYTES;
  buf.writeUInt32BE(length, pos);
  buf.writeUInt32BE(crc32c(buf, pos + RECORD_PREFIX_BYTES, p), pos + 4);
  return p;
}

function writeU64(buf: Buffer, p: number, v: number): number {
  buf.writeUInt32BE(Math.floor(v / TWO_32), p);
  buf.writeUInt32BE(v >>> 0, p + 4);
  return p + 8;
}

function writeShortString(buf: Buffer, p: number, s: string): number {
  const n = buf.write(s, p + 1, 'utf8');
  buf[p] = n;
  return p + 1 + n;
}

/** A parsed record, reused by the caller across records (no allocation per record). */
export class RecordView {
  /** Offset of the record in the buffer, and the total record size (prefix included). */
  start = 0;
  size = 0;
  flags = 0;
  seq = 0;
  time = 0;
  exchangeStart = 0;
  exchangeEnd = 0;
  routingKeyStart = 0;
  routingKeyEnd = 0;
  propertiesStart = 0;
  bodyStart = 0;
  end = 0;

  get persistent(): boolean {
    return (this.flags & FLAG_PERSISTENT) !== 0;
  }
}

export const PARSE_OK = 1;
export const PARSE_INCOMPLETE = 0;
export const PARSE_CORRUPT = -1;

/**
 * Parses the record at buf[pos, end). PARSE_INCOMPLETE: fewer bytes than the record needs (when
 * reading a segment that is all there, that is a torn tail). PARSE_CORRUPT: the lengths do not add
 * up, or (with `verify`) the crc does not match.
 */
export function parseRecord(buf: Buffer, pos: number, end: number, view: RecordView, verify: boolean): number {
  if (end - pos < RECORD_PREFIX_BYTES) return PARSE_INCOMPLETE;
  const length = buf.readUInt32BE(pos);
  if (length < RECORD_FIXED_BYTES) return PARSE_CORRUPT;
  const recordEnd = pos + RECORD_PREFIX_BYTES + length;
  if (recordEnd > end) return PARSE_INCOMPLETE;
  let p = pos + RECORD_PREFIX_BYTES;
  if (verify && crc32c(buf, p, recordEnd) !== buf.readUInt32BE(pos + 4)) return PARSE_CORRUPT;
  view.start = pos;
  view.size = recordEnd - pos;
  view.end = recordEnd;
  view.flags = buf[p++]!;
  view.seq = buf.readUInt32BE(p) * TWO_32 + buf.readUInt32BE(p + 4);
  view.time = buf.readUInt32BE(p + 8) * TWO_32 + buf.readUInt32BE(p + 12);
  p += 16;
  view.exchangeStart = p + 1;
  p = view.exchangeEnd = p + 1 + buf[p]!;
  if (p >= recordEnd) return PARSE_CORRUPT;
  view.routingKeyStart = p + 1;
  p = view.routingKeyEnd = p + 1 + buf[p]!;
  if (p + 4 > recordEnd) return PARSE_CORRUPT;
  const propsLen = buf.readUInt32BE(p);
  view.propertiesStart = p + 4;
  view.bodyStart = p + 4 + propsLen;
  if (view.bodyStart > recordEnd || view.flags > FLAG_PERSISTENT) return PARSE_CORRUPT;
  return PARSE_OK;
}

/** State file contents for a high-water mark. */
export function encodeState(hw: number): Buffer {
  const b = Buffer.alloc(12);
  writeU64(b, 0, hw);
  b.writeUInt32BE(crc32c(b, 0, 8), 8);
  return b;
}

/** The high-water mark in a state file, or -1 when it is missing or damaged. */
export function decodeState(b: Buffer): number {
  if (b.length < 12 || crc32c(b, 0, 8) !== b.readUInt32BE(8)) return -1;
  return b.readUInt32BE(0) * TWO_32 + b.readUInt32BE(4);
}
