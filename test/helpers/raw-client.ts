import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { Writer } from '../../src/protocol/amqp/codec/buffer-io.js';
import { FrameReader } from '../../src/protocol/amqp/codec/frame-reader.js';
import type { AmqpMethod, AmqpMethodInput } from '../../src/protocol/amqp/codec/methods.generated.js';
import * as M from '../../src/protocol/amqp/codec/methods.generated.js';

export interface RawFrame {
  type: number;
  channel: number;
  payload: Buffer;
  method?: AmqpMethod;
}

/**
 * A deliberately dumb AMQP peer for protocol tests: it writes whatever bytes it is told to
 * (malformed frames included) and records every frame the broker sends back, decoded.
 */
export class RawClient {
  readonly socket: Socket;
  readonly frames: RawFrame[] = [];
  header: Buffer | undefined;
  closed = false;
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    const reader = new FrameReader({
      onProtocolHeader: (h) => {
        // The broker answers a bad protocol header with its own and closes; a good one with a frame.
        if (h[0] === 0x41) this.header = Buffer.from(h);
        else throw new Error('raw client: expected AMQP header or frame');
        this.#wake();
      },
      onFrame: (type, channel, buf, start, end) => {
        const payload = buf.subarray(start, end);
        const f: RawFrame = { type, channel, payload: Buffer.from(payload) };
        if (type === 1) f.method = M.decodeMethod(payload);
        this.frames.push(f);
        this.#wake();
      },
    }, 0);
    let first = true;
    socket.on('data', (chunk) => {
      if (first) {
        first = false;
        // A normal broker reply starts with a frame, not a protocol header: feed a fake header.
        if (chunk[0] !== 0x41) reader.push(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
      }
      reader.push(chunk);
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Connects over TLS to 127.0.0.1 (`options`: ca, and cert/key for a client certificate). */
  static connectTls(port: number, options: ConnectionOptions): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connectTls({ port, host: '127.0.0.1', ...options }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Connects and completes the handshake (PLAIN guest/guest) and opens channel 1 if asked. */
  static async open(port: number, opts: { channel?: boolean; heartbeat?: number; frameMax?: number } = {}): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    const start = await c.nextMethod(M.CONNECTION_START);
    c.send(0, { id: M.CONNECTION_START_OK, clientProperties: { capabilities: { consumer_cancel_notify: true } }, mechanism: 'PLAIN', response: '\u0000guest\u0000guest', locale: 'en_US' });
    const tune = await c.nextMethod(M.CONNECTION_TUNE) as M.ConnectionTune;
    c.send(0, { id: M.CONNECTION_TUNE_OK, channelMax: tune.channelMax, frameMax: opts.frameMax ?? tune.frameMax, heartbeat: opts.heartbeat ?? 0 });
    c.send(0, { id: M.CONNECTION_OPEN, virtualHost: '/' });
    await c.nextMethod(M.CONNECTION_OPEN_OK);
    void start;
    if (opts.channel !== false) {
      c.send(1, { id: M.CHANNEL_OPEN });
      await c.nextMethod(M.CHANNEL_OPEN_OK);
    }
    return c;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  send(channel: number, m: AmqpMethodInput): void {
    const w = new Writer();
    M.encodeMethod(w, channel, m);
    this.write(Buffer.from(w.toBuffer()));
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits for a frame matching `pred` (consuming frames before it); rejects on close/timeout. */
  async next(pred: (f: RawFrame) => boolean, timeoutMs = 3000, what = 'frame'): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(0, i + 1)[i]!;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  async nextMethod(id: number, timeoutMs = 3000): Promise<AmqpMethod> {
    const f = await this.next((f) => f.method?.id === id, timeoutMs, M.methodName(id));
    return f.method!;
  }

  /** Waits until the broker closes the socket. */
  async waitClosed(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the socket to close');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Builds a raw frame: type, channel, payload, and the frame-end byte (override to break it). */
export function frame(type: number, channel: number, payload: Buffer, end = 0xce): Buffer {
  const b = Buffer.alloc(7 + payload.length + 1);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = end;
  return b;
}

/** A method frame's bytes, encoded by our codec. */
export function methodBytes(channel: number, m: AmqpMethodInput): Buffer {
  const w = new Writer();
  M.encodeMethod(w, channel, m);
  return Buffer.from(w.toBuffer());
}
