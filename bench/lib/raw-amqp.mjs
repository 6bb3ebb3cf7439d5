// A small, fast AMQP 0-9-1 client for the load generator (issue "Performance"): just enough of
// the protocol to publish and consume at rates amqplib cannot reach from one process, talking
// plain AMQP 0-9-1 (RabbitMQ and Warren get the same bytes; nothing here knows which broker it is).
//
// Why not amqplib: it builds every frame from JavaScript objects and parses every delivery into
// objects, so one amqplib process tops out near 200k msg/s of 16-byte messages on this machine,
// which is below what a broker can take. Here a publisher writes pre-encoded frames in large
// blocks, and a consumer scans the byte stream for frame boundaries and counts messages without
// building objects; acks are encoded straight into one buffer per received chunk and written once.
//
// What it does: connect (PLAIN, heartbeat 0, the frame-max the broker offers), one channel,
// confirm.select, basic.qos, basic.consume, basic.publish, basic.ack; it answers connection.close
// and channel.close (and reports them), and closes cleanly. Spec: amqp0-9-1.pdf §2.3 (framing),
// §4.2 (wire format); class/method ids from the spec XML.
import net from 'node:net';

const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_END = 0xce;
const ACK_FRAME_SIZE = 21; // 7 header + 4 ids + 8 delivery-tag + 1 bits + 1 frame-end

function shortstr(s) {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length]), b]);
}
function longstr(b) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}
function u16(n) { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; }
function u32(n) { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; }
const EMPTY_TABLE = u32(0);

/** One frame: type, channel, payload, frame-end. */
export function frame(type, channel, payload) {
  const f = Buffer.allocUnsafe(8 + payload.length);
  f[0] = type;
  f.writeUInt16BE(channel, 1);
  f.writeUInt32BE(payload.length, 3);
  payload.copy(f, 7);
  f[7 + payload.length] = FRAME_END;
  return f;
}
function method(channel, classId, methodId, ...args) {
  return frame(FRAME_METHOD, channel, Buffer.concat([u16(classId), u16(methodId), ...args]));
}

/**
 * The frames of one basic.publish with a body of `size` bytes (filled with 'a'), delivery mode 2
 * when persistent. Returns the bytes and where the body starts (for a latency stamp).
 */
export function publishFrames({ channel = 1, exchange, routingKey, size, persistent }) {
  const m = method(channel, 60, 40, u16(0), shortstr(exchange), shortstr(routingKey), Buffer.from([0]));
  const props = persistent ? Buffer.from([0x10, 0x00, 2]) : Buffer.from([0x00, 0x00]); // flags, delivery-mode
  const sizeField = Buffer.alloc(8);
  sizeField.writeBigUInt64BE(BigInt(size));
  const h = frame(FRAME_HEADER, channel, Buffer.concat([u16(60), u16(0), sizeField, props]));
  const b = frame(FRAME_BODY, channel, Buffer.alloc(size, 0x61));
  return { bytes: Buffer.concat([m, h, b]), bodyOffset: m.length + h.length + 7 };
}

/**
 * A connection with one channel (number 1). `onDeliver(buf, bodyStart, bodyLength)` is called once
 * per complete message whose body arrived in one frame (`buf` is only valid during the call; with
 * bodies split over frames, `bodyStart` is -1); `onConfirm(tag, multiple, nack)` for publisher
 * confirms.
 */
export class RawAmqp {
  constructor(socket) {
    this.socket = socket;
    this.rest = null;
    this.waiters = []; // [classId, methodId, resolve, reject]
    this.frameMax = 131072;
    this.closed = null; // Error once the broker closed us
    this.onDeliver = null;
    this.onConfirm = null;
    this.autoAck = false; // ack every delivery (one basic.ack each)
    this.acks = null;
    this.ackCount = 0;
    this.delivered = 0;
    // content in progress
    this.expectHeader = false;
    this.bodyLeft = 0;
    this.bodyStart = -1;
    this.tag = 0n;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.#data(chunk));
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => this.#fail(new Error('socket closed')));
  }

  static async connect(url, { clientName = 'warren-bench-raw' } = {}) {
    const u = new URL(url);
    const socket = net.connect({ host: u.hostname, port: Number(u.port || 5672) });
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    const c = new RawAmqp(socket);
    const user = decodeURIComponent(u.username || 'guest');
    const pass = decodeURIComponent(u.password || 'guest');
    const vhost = u.pathname && u.pathname !== '/' ? decodeURIComponent(u.pathname.slice(1)) : '/';
    const start = c.#expect(10, 10);
    socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await start;
    const props = Buffer.concat([shortstr('product'), Buffer.from('S'), longstr(Buffer.from(clientName))]);
    const tune = c.#expect(10, 30);
    socket.write(method(0, 10, 11, longstr(props), shortstr('PLAIN'), longstr(Buffer.from(`\0${user}\0${pass}`)), shortstr('en_US')));
    const t = await tune; // payload: channel-max(2) frame-max(4) heartbeat(2)
    const channelMax = t.readUInt16BE(0);
    c.frameMax = t.readUInt32BE(2) || 131072;
    socket.write(method(0, 10, 31, u16(channelMax), u32(c.frameMax), u16(0)));
    const openOk = c.#expect(10, 41);
    socket.write(method(0, 10, 40, shortstr(vhost), shortstr(''), Buffer.from([0])));
    await openOk;
    const chOk = c.#expect(20, 11);
    socket.write(method(1, 20, 10, shortstr('')));
    await chOk;
    return c;
  }

  confirmSelect() {
    const ok = this.#expect(85, 11);
    this.socket.write(method(1, 85, 10, Buffer.from([0])));
    return ok;
  }

  qos(prefetch) {
    const ok = this.#expect(60, 11);
    this.socket.write(method(1, 60, 10, u32(0), u16(prefetch), Buffer.from([0])));
    return ok;
  }

  consume(queue, { noAck }) {
    this.autoAck = !noAck;
    const ok = this.#expect(60, 21);
    this.socket.write(method(1, 60, 20, u16(0), shortstr(queue), shortstr(''), Buffer.from([noAck ? 2 : 0]), EMPTY_TABLE));
    return ok;
  }

  /** Writes bytes; resolves at once, or on 'drain' when the socket's buffer is full. */
  write(bytes) {
    if (this.socket.write(bytes)) return null;
    return new Promise((r) => this.socket.once('drain', r));
  }

  async close() {
    if (this.closed) return;
    const ok = this.#expect(10, 51).catch(() => {});
    this.socket.write(method(0, 10, 50, u16(200), shortstr('bye'), u16(0), u16(0)));
    await Promise.race([ok, new Promise((r) => setTimeout(r, 2000))]);
    this.socket.destroy();
  }

  #expect(classId, methodId) {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.waiters.push([classId, methodId, resolve, reject]));
  }

  #fail(err) {
    if (this.closed) return;
    this.closed = err;
    for (const w of this.waiters) w[3](err);
    this.waiters = [];
  }

  #data(chunk) {
    let buf = chunk;
    if (this.rest) { buf = Buffer.concat([this.rest, chunk]); this.rest = null; }
    const len = buf.length;
    let off = 0;
    if (this.autoAck) { this.acks = Buffer.allocUnsafe(Math.ceil(len / 30) * ACK_FRAME_SIZE + ACK_FRAME_SIZE); this.ackCount = 0; }
    while (off + 7 <= len) {
      const size = buf.readUInt32BE(off + 3);
      const end = off + 8 + size;
      if (end > len) break;
      const type = buf[off];
      const p = off + 7;
      if (type === FRAME_BODY) this.#body(buf, p, size);
      else if (type === FRAME_METHOD) this.#method(buf, p, size);
      else if (type === FRAME_HEADER) {
        this.bodyLeft = Number(buf.readBigUInt64BE(p + 4));
        this.expectHeader = false;
        if (this.bodyLeft === 0) this.#complete(buf, -1, 0);
      }
      off = end;
    }
    if (off < len) this.rest = buf.subarray(off);
    if (this.ackCount > 0) {
      this.socket.write(this.acks.subarray(0, this.ackCount * ACK_FRAME_SIZE));
      this.acks = null;
      this.ackCount = 0;
    }
  }

  #body(buf, p, size) {
    const whole = this.bodyLeft === size;
    this.bodyLeft -= size;
    if (this.bodyLeft <= 0) this.#complete(buf, whole ? p : -1, size);
  }

  #complete(buf, bodyStart, bodyLength) {
    this.delivered++;
    if (this.onDeliver) this.onDeliver(buf, bodyStart, bodyLength);
    if (this.autoAck) {
      if ((this.ackCount + 1) * ACK_FRAME_SIZE > this.acks.length) {
        this.socket.write(this.acks.subarray(0, this.ackCount * ACK_FRAME_SIZE));
        this.acks = Buffer.allocUnsafe(this.acks.length);
        this.ackCount = 0;
      }
      const a = this.acks;
      const o = this.ackCount * ACK_FRAME_SIZE;
      a[o] = FRAME_METHOD;
      a.writeUInt16BE(1, o + 1);
      a.writeUInt32BE(13, o + 3);
      a.writeUInt32BE(0x003c0050, o + 7); // basic.ack (60, 80)
      a.writeBigUInt64BE(this.tag, o + 11);
      a[o + 19] = 0; // multiple = false
      a[o + 20] = FRAME_END;
      this.ackCount++;
    }
  }

  #method(buf, p, size) {
    const classId = buf.readUInt16BE(p);
    const methodId = buf.readUInt16BE(p + 2);
    if (classId === 60) {
      if (methodId === 60) { // basic.deliver: consumer-tag shortstr, delivery-tag longlong, ...
        this.tag = buf.readBigUInt64BE(p + 5 + buf[p + 4]);
        this.expectHeader = true;
        return;
      }
      if (methodId === 80 || methodId === 120) { // basic.ack / basic.nack from the broker (confirms)
        if (this.onConfirm) this.onConfirm(Number(buf.readBigUInt64BE(p + 4)), (buf[p + 12] & 1) === 1, methodId === 120);
        return;
      }
    }
    if (classId === 10 && methodId === 50 || classId === 20 && methodId === 40) { // close from the broker
      const code = buf.readUInt16BE(p + 4);
      const text = buf.toString('utf8', p + 7, p + 7 + buf[p + 6]);
      this.socket.write(classId === 10 ? method(0, 10, 51) : method(1, 20, 41));
      this.#fail(new Error(`${classId === 10 ? 'connection' : 'channel'} closed by the broker: ${code} ${text}`));
      return;
    }
    const i = this.waiters.findIndex((w) => w[0] === classId && w[1] === methodId);
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w[2](Buffer.from(buf.subarray(p + 4, p + size)));
    }
  }
}
