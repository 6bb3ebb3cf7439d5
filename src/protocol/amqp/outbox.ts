import type { Socket } from 'node:net';
import { Writer } from './codec/buffer-io.js';
import { copyBytes } from './codec/copy-bytes.js';
import { writeBarrier } from '../../core/write-barrier.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from './codec/frame-types.js';
import type { AmqpMethodInput } from './codec/methods.generated.js';
import { BASIC_RETURN, encodeMethod } from './codec/methods.generated.js';

/** Slab size: small frames are packed into slabs, so a delivery costs no allocation of its own. */
const SLAB = 64 * 1024;
/** Bodies at least this large are written by reference, never copied. */
const COPY_LIMIT = 8 * 1024;

const BASIC_CLASS = 60;
const DELIVER_METHOD = 60;
const GET_OK_METHOD = 71;
const BASIC_DELIVER_IDS = (BASIC_CLASS << 16) | DELIVER_METHOD;
/** A basic.deliver frame at its largest: header, ids, 3 shortstrs of 255 bytes, tag, bit, end. */
const DELIVER_FRAME_MAX = 7 + 4 + 3 * 256 + 8 + 1 + 1;

const EMPTY = Buffer.alloc(0);

/** One scratch writer for the (rare) generically encoded methods, shared by every connection. */
const scratch = new Writer(4096);

/**
 * A connection's outgoing bytes. Frames written during one event-loop turn are packed into slabs
 * (subarray views, no per-frame Buffer) and handed to the socket in one corked batch on the next
 * tick, so a turn that produces a thousand deliveries costs one writev, not a thousand syscalls
 * (design.md: "Writes are batched per event-loop turn").
 *
 * Deliveries are encoded by hand here (basic.deliver / get-ok / return + header + body frames):
 * they are the hot path, and the property bytes go out exactly as the publisher sent them.
 */
export class Outbox {
  readonly #socket: Socket;
  #slab = EMPTY; // allocated on the first write (the handshake makes one)
  #start = 0; // first byte of the slab not yet handed to the socket
  #pos = 0; // next free byte
  readonly #pending: Buffer[] = [];
  #scheduled = false;
  frameMax = 131072;
  /** Incremented on every frame written: the heartbeat timer's "we sent something" signal. */
  framesSent = 0;
  /** Bytes written this turn and not yet handed to the socket (backpressure counts them too). */
  pendingBytes = 0;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  writeMethod(channel: number, method: AmqpMethodInput): void {
    scratch.reset();
    encodeMethod(scratch, channel, method);
    this.#copy(scratch.toBuffer());
  }

  writeHeartbeat(): void {
    const p = this.#reserve(8);
    const b = this.#slab;
    b[p] = FRAME_HEARTBEAT;
    b.writeUInt16BE(0, p + 1);
    b.writeUInt32BE(0, p + 3);
    b[p + 7] = FRAME_END;
    this.#done();
  }

  /**
   * basic.deliver (§1.8.3.9) followed by the message's content. The method frame is reserved at
   * its largest size (three shortstrs of up to 255 bytes) and written in one pass: the strings'
   * byte lengths are only known once written, and measuring them first cost two native calls
   * each (issue 6 profile); the unused tail of the reservation is given back.
   */
  writeDeliver(channel: number, consumerTag: string, deliveryTag: number, redelivered: boolean,
    exchange: string, routingKey: string, rawProperties: Buffer, body: Buffer): void {
    const p0 = this.#reserve(DELIVER_FRAME_MAX);
    const b = this.#slab;
    b[p0] = FRAME_METHOD;
    b.writeUInt16BE(channel, p0 + 1);
    b.writeUInt32BE(BASIC_DELIVER_IDS, p0 + 7);
    let p = putShortStr(b, p0 + 11, consumerTag);
    p = writeU64(b, p, deliveryTag);
    b[p++] = redelivered ? 1 : 0;
    p = putShortStr(b, p, exchange);
    p = putShortStr(b, p, routingKey);
    b.writeUInt32BE(p - p0 - 7, p0 + 3);
    b[p] = FRAME_END;
    this.#giveBack(DELIVER_FRAME_MAX - (p + 1 - p0));
    this.#content(channel, rawProperties, body);
  }

  /** basic.get-ok (§1.8.3.11) followed by the message's content. */
  writeGetOk(channel: number, deliveryTag: number, redelivered: boolean, exchange: string,
    routingKey: string, messageCount: number, rawProperties: Buffer, body: Buffer): void {
    const exLen = Buffer.byteLength(exchange);
    const rkLen = Buffer.byteLength(routingKey);
    const payload = 4 + 8 + 1 + 1 + exLen + 1 + rkLen + 4;
    let p = this.#methodFrame(channel, payload, GET_OK_METHOD);
    const b = this.#slab;
    p = writeU64(b, p, deliveryTag);
    b[p++] = redelivered ? 1 : 0;
    p = writeShortStr(b, p, exchange, exLen);
    p = writeShortStr(b, p, routingKey, rkLen);
    b.writeUInt32BE(messageCount, p);
    this.#content(channel, rawProperties, body);
  }

  /** basic.return (§1.8.3.8) followed by the message's content. */
  writeReturn(channel: number, replyCode: number, replyText: string, exchange: string,
    routingKey: string, rawProperties: Buffer, body: Buffer): void {
    this.writeMethod(channel, { id: BASIC_RETURN, replyCode, replyText, exchange, routingKey });
    this.#content(channel, rawProperties, body);
  }

  /**
   * Reserves a whole basic-class method frame of `payload` bytes, writes its frame header, ids and
   * frame end, and returns the offset in the slab where the method's arguments go.
   */
  #methodFrame(channel: number, payload: number, methodId: number): number {
    const p = this.#reserve(7 + payload + 1);
    const b = this.#slab;
    b[p] = FRAME_METHOD;
    b.writeUInt16BE(channel, p + 1);
    b.writeUInt32BE(payload, p + 3);
    b.writeUInt16BE(BASIC_CLASS, p + 7);
    b.writeUInt16BE(methodId, p + 9);
    b[p + 7 + payload] = FRAME_END;
    return p + 11;
  }

  /** Content header frame + body frames, each body frame at most frameMax (§4.2.6). */
  #content(channel: number, rawProperties: Buffer, body: Buffer): void {
    const headerPayload = 12 + rawProperties.length;
    const p = this.#reserve(7 + headerPayload + 1);
    const b = this.#slab;
    b[p] = FRAME_HEADER;
    b.writeUInt16BE(channel, p + 1);
    b.writeUInt32BE(headerPayload, p + 3);
    b.writeUInt16BE(BASIC_CLASS, p + 7);
    b.writeUInt16BE(0, p + 9);
    writeU64(b, p + 11, body.length);
    copyBytes(rawProperties, 0, b, p + 19, rawProperties.length);
    b[p + 7 + headerPayload] = FRAME_END;
    const maxPayload = this.frameMax - 8;
    for (let off = 0; off < body.length; off += maxPayload) {
      const len = Math.min(maxPayload, body.length - off);
      const q = this.#reserve(7);
      const s = this.#slab;
      s[q] = FRAME_BODY;
      s.writeUInt16BE(channel, q + 1);
      s.writeUInt32BE(len, q + 3);
      if (len >= COPY_LIMIT) {
        this.#cut();
        this.#pending.push(body.subarray(off, off + len));
        this.pendingBytes += len;
      } else {
        const r = this.#reserve(len);
        copyBytes(body, off, this.#slab, r, len);
      }
      const e = this.#reserve(1);
      this.#slab[e] = FRAME_END;
    }
    this.#done();
  }

  #copy(bytes: Buffer): void {
    const p = this.#reserve(bytes.length);
    bytes.copy(this.#slab, p);
    this.#done();
  }

  /** Returns the offset of `n` free bytes in the current slab, starting a new slab if needed. */
  #reserve(n: number): number {
    if (this.#pos + n > this.#slab.length) {
      this.#cut();
      this.#slab = Buffer.allocUnsafe(Math.max(SLAB, n));
      this.#start = this.#pos = 0;
    }
    const p = this.#pos;
    this.#pos += n;
    this.pendingBytes += n;
    return p;
  }

  /** Returns the last `n` reserved bytes, unused (the slab has not been cut since). */
  #giveBack(n: number): void {
    this.#pos -= n;
    this.pendingBytes -= n;
  }

  /** Moves the written part of the slab onto the pending list (the slab keeps its free tail). */
  #cut(): void {
    if (this.#pos > this.#start) {
      this.#pending.push(this.#slab.subarray(this.#start, this.#pos));
      this.#start = this.#pos;
    }
  }

  #done(): void {
    this.framesSent++;
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(flushOutbox, this);
    }
  }

  /** Hands everything written so far to the socket (normally called on the next tick). */
  flush(): void {
    writeBarrier(); // durable changes these replies may confirm are saved first
    this.#scheduled = false;
    this.pendingBytes = 0;
    this.#cut();
    const pending = this.#pending;
    if (pending.length === 0) return;
    const socket = this.#socket;
    if (socket.destroyed) {
      pending.length = 0;
      return;
    }
    if (pending.length === 1) socket.write(pending[0]!);
    else {
      socket.cork();
      for (let i = 0; i < pending.length; i++) socket.write(pending[i]!);
      socket.uncork();
    }
    pending.length = 0;
  }
}

function flushOutbox(outbox: Outbox): void {
  outbox.flush();
}

function writeShortStr(b: Buffer, p: number, s: string, byteLen: number): number {
  b[p] = byteLen;
  if (byteLen > 0) b.write(s, p + 1, byteLen, 'utf8');
  return p + 1 + byteLen;
}

/**
 * A shortstr from a string known to fit (names that came in as shortstrs): plain ASCII is copied
 * char by char, which for short names is cheaper than measuring and encoding them natively.
 */
function putShortStr(b: Buffer, p: number, s: string): number {
  const n = s.length;
  if (n <= 255) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      b[p + 1 + i] = c;
    }
    if (i === n) {
      b[p] = n;
      return p + 1 + n;
    }
  }
  const len = b.write(s, p + 1, 255, 'utf8');
  b[p] = len;
  return p + 1 + len;
}

function writeU64(b: Buffer, p: number, v: number): number {
  b.writeUInt32BE(Math.floor(v / 0x100000000), p);
  b.writeUInt32BE(v >>> 0, p + 4);
  return p + 8;
}
