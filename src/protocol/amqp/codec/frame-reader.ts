/**
 * Incremental AMQP 0-9-1 frame parser (spec section 4.2.2 protocol header, 4.2.3 general frame
 * format): a hand-written state machine fed with socket chunks.
 *
 *   protocol header: the first 8 bytes, whatever they are (the connection validates them)
 *   frame:           type u8 | channel u16 | size u32 | payload[size] | frame-end 0xCE
 *
 * Frames that lie wholly inside one chunk are handed out as a range of it (no copy, and not even
 * a view object: the handler makes one only if it needs one). A frame that spans chunks is accumulated into one buffer sized to that frame; a
 * frame header split across chunks goes through an 8-byte scratch buffer.
 *
 * Errors: a bad frame-end, an unknown frame type or a frame larger than `maxFrameSize` throw
 * AmqpError 501 FRAME_ERROR from push(); the reader is then dead and rethrows that error on any
 * further push(). If the handler throws, the error propagates too, but the reader stays
 * consistent: the bytes after the frame being handled stay buffered and are dispatched by the
 * next push() or resume().
 */
import { AmqpError } from '../amqp-error.js';
import { FRAME_ERROR } from '../reply-codes.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, FRAME_OVERHEAD } from './frame-types.js';

export interface FrameHandler {
  /** The first 8 bytes the peer sent (a fresh buffer). */
  onProtocolHeader(header: Buffer): void;
  /** One complete frame: its payload is `buf[start, end)`, only valid during the call. */
  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void;
}

const S_PROTOCOL = 0; // collecting the 8-byte protocol header
const S_HEADER = 1; // at (or inside) a 7-byte frame header
const S_BODY = 2; // accumulating payload + frame-end of a frame that spans chunks

const FRAME_HEADER_SIZE = 7;

export class FrameReader {
  /**
   * Largest whole frame accepted, including the 8 bytes of header and frame-end (the negotiated
   * frame-max). 0 means no limit, as frame-max 0 does in connection.tune. May be changed at any
   * time; it applies from the next frame header on.
   */
  maxFrameSize: number;

  private readonly handler: FrameHandler;
  private state = S_PROTOCOL;
  private readonly scratch = Buffer.alloc(8);
  private scratchFill = 0;
  // The current frame's header fields, valid once its header has been read.
  private type = 0;
  private channel = 0;
  private size = 0;
  private acc: Buffer | null = null;
  private accFill = 0;
  /** Position in the chunk being parsed just after the last dispatched frame. */
  private pos = 0;
  private paused = false;
  private running = false;
  /** Input not parsed yet (our own copies): held while paused, or left after a handler threw. */
  private readonly queue: Buffer[] = [];
  private failed: AmqpError | null = null;

  constructor(handler: FrameHandler, maxFrameSize: number) {
    this.handler = handler;
    this.maxFrameSize = maxFrameSize;
  }

  /** Feeds socket data; dispatches every complete frame synchronously, in order. */
  push(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    if (this.running || this.paused || this.queue.length > 0) {
      // Re-entrant push, paused, or older input waiting: keep order by queueing behind it. The
      // chunk is copied because the caller may reuse its buffer once we return.
      this.queue.push(Buffer.from(chunk));
      if (!this.running && !this.paused) this.drain();
      return;
    }
    this.running = true;
    try {
      this.parse(chunk);
      if (this.pos < chunk.length) this.queue.push(Buffer.from(chunk.subarray(this.pos)));
    } catch (e) {
      if (e !== this.failed) this.queue.unshift(Buffer.from(chunk.subarray(this.pos)));
      throw e;
    } finally {
      this.running = false;
    }
    // A handler may have pushed re-entrantly or paused and resumed.
    if (!this.paused && this.queue.length > 0) this.drain();
  }

  /** Stops dispatching frames; input keeps being buffered. Takes effect after the current frame. */
  pause(): void {
    this.paused = true;
  }

  /** Resumes dispatching, starting with whatever was buffered while paused. */
  resume(): void {
    this.paused = false;
    if (!this.running && !this.failed && this.queue.length > 0) this.drain();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Bytes received but not yet dispatched (buffered input plus a partial frame). */
  get bufferedBytes(): number {
    let n = this.scratchFill + this.accFill;
    for (const b of this.queue) n += b.length;
    return n;
  }

  private drain(): void {
    if (this.failed) throw this.failed;
    this.running = true;
    let cur: Buffer | undefined;
    try {
      while (!this.paused && this.queue.length > 0) {
        cur = this.queue.shift()!;
        this.parse(cur);
        if (this.pos < cur.length) this.queue.unshift(cur.subarray(this.pos));
        cur = undefined;
      }
    } catch (e) {
      if (e !== this.failed && cur !== undefined) this.queue.unshift(cur.subarray(this.pos));
      throw e;
    } finally {
      this.running = false;
    }
  }

  private fail(text: string): AmqpError {
    this.failed = new AmqpError(FRAME_ERROR, text);
    return this.failed;
  }

  /** Parses `b` from the start until it is used up or the reader is paused; sets `this.pos`. */
  private parse(b: Buffer): void {
    const len = b.length;
    let p = 0;
    this.pos = 0;
    while (p < len && !this.paused) {
      if (this.state === S_BODY) {
        const acc = this.acc!;
        const n = Math.min(acc.length - this.accFill, len - p);
        b.copy(acc, this.accFill, p, p + n);
        this.accFill += n;
        p += n;
        if (this.accFill < acc.length) break;
        this.pos = p;
        this.acc = null;
        this.accFill = 0;
        this.state = S_HEADER;
        this.dispatch(acc, 0);
        continue;
      }
      if (this.state === S_HEADER && this.scratchFill === 0 && len - p >= FRAME_HEADER_SIZE) {
        this.readHeader(b, p); // common case: the whole header is in this chunk
        p += FRAME_HEADER_SIZE;
      } else if (this.state === S_PROTOCOL) {
        const n = Math.min(8 - this.scratchFill, len - p);
        b.copy(this.scratch, this.scratchFill, p, p + n);
        this.scratchFill += n;
        p += n;
        if (this.scratchFill < 8) break;
        this.scratchFill = 0;
        this.state = S_HEADER;
        this.pos = p;
        this.handler.onProtocolHeader(Buffer.from(this.scratch));
        continue;
      } else {
        const n = Math.min(FRAME_HEADER_SIZE - this.scratchFill, len - p);
        b.copy(this.scratch, this.scratchFill, p, p + n);
        this.scratchFill += n;
        p += n;
        if (this.scratchFill < FRAME_HEADER_SIZE) break;
        this.scratchFill = 0;
        this.readHeader(this.scratch, 0);
      }
      // Header known; payload and frame-end follow.
      const need = this.size + 1;
      if (len - p >= need) {
        const start = p;
        p += need;
        this.pos = p;
        this.dispatch(b, start);
      } else {
        const acc = Buffer.allocUnsafe(need);
        b.copy(acc, 0, p, len);
        this.accFill = len - p;
        this.acc = acc;
        this.state = S_BODY;
        p = len;
      }
    }
    this.pos = p;
  }

  /** Reads and validates a 7-byte frame header at `b[at]` (before any payload is buffered). */
  private readHeader(b: Buffer, at: number): void {
    const type = b[at]!;
    if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_BODY && type !== FRAME_HEARTBEAT) {
      throw this.fail(`unknown frame type ${type} (header bytes ${b.toString('hex', at, at + FRAME_HEADER_SIZE)})`);
    }
    const size = b.readUInt32BE(at + 3);
    const max = this.maxFrameSize;
    if (max > 0 && size + FRAME_OVERHEAD > max) {
      throw this.fail(`frame of ${size + FRAME_OVERHEAD} bytes (payload ${size}) exceeds frame-max ${max}`);
    }
    this.type = type;
    this.channel = b.readUInt16BE(at + 1);
    this.size = size;
  }

  /** Checks the frame-end after the payload at `b[start]` and hands the frame out. */
  private dispatch(b: Buffer, start: number): void {
    const end = start + this.size;
    const fe = b[end]!;
    if (fe !== FRAME_END) {
      throw this.fail(`frame end byte 0x${fe.toString(16).padStart(2, '0')} instead of 0xce` +
        ` (frame type ${this.type}, channel ${this.channel}, size ${this.size})`);
    }
    this.handler.onFrame(this.type, this.channel, b, start, end);
  }
}
