/**
 * Content header frames (AMQP 0-9-1 section 4.2.6): class-id u16, weight u16 (always 0),
 * body-size u64, then the property flags and list, which we keep as raw bytes (see properties.ts).
 */
import { AmqpError } from '../amqp-error.js';
import { SYNTAX_ERROR } from '../reply-codes.js';
import type { Writer } from './buffer-io.js';
import { FRAME_END, FRAME_HEADER } from './frame-types.js';

export interface ContentHeader {
  classId: number;
  bodySize: number;
  /** Property flags + list; a view into the payload. */
  rawProperties: Buffer;
}

/** Fixed part of the header payload: class-id, weight, body-size. */
const FIXED = 12;

export function decodeContentHeader(payload: Buffer): ContentHeader {
  const bodySize = contentBodySize(payload, 0, payload.length);
  return { classId: payload.readUInt16BE(0), bodySize, rawProperties: payload.subarray(FIXED) };
}

/**
 * The body-size of the content header payload `buf[start, end)`, after checking its fixed part;
 * the class-id is at offset 0 and the raw properties start at offset 12 (no object or view made:
 * the publish path).
 */
export function contentBodySize(buf: Buffer, start: number, end: number): number {
  // At least the fixed part and one property-flags word.
  if (end - start < FIXED + 2) {
    throw new AmqpError(SYNTAX_ERROR,
      `content header payload is ${end - start} bytes, need at least ${FIXED + 2}`);
  }
  const hi = buf.readUInt32BE(start + 4);
  if (hi > 0x1f_ffff) {
    throw new AmqpError(SYNTAX_ERROR, 'content header body-size exceeds Number.MAX_SAFE_INTEGER');
  }
  return hi * 0x1_0000_0000 + buf.readUInt32BE(start + 8);
}

/** Where the raw properties start in a content header payload. */
export const CONTENT_HEADER_PROPERTIES_AT = FIXED;

/** Appends a complete HEADER frame (type 2) to `w`; on a bad argument nothing is appended. */
export function writeContentHeaderFrame(
  w: Writer, channel: number, classId: number, bodySize: number, rawProperties: Buffer,
): void {
  const start = w.length;
  try {
    w.u8(FRAME_HEADER);
    w.u16(channel);
    w.u32(FIXED + rawProperties.length);
    w.u16(classId);
    w.u16(0);
    w.u64(bodySize);
    w.bytes(rawProperties);
    w.u8(FRAME_END);
  } catch (e) {
    w.truncate(start);
    throw e;
  }
}
