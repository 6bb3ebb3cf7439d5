/**
 * Regression tests for bugs found in review (each one started as a repro script). Every test
 * asserts what RabbitMQ does; the comment on each says which bug it guards against.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Channel, ChannelModel, ConsumeMessage, Message as AmqpMessage } from 'amqplib';
import type { Message } from '../src/core/message.js';
import * as M from '../src/protocol/amqp/codec/methods.generated.js';
import { encodeProperties } from '../src/protocol/amqp/codec/properties.js';
import type { BasicProperties } from '../src/protocol/amqp/codec/properties.js';
import { MemoryQueueStore } from '../src/store/memory/memory-queue-store.js';
import type { QueueEntry } from '../src/store/queue-store.js';
import type { AmqpError } from './helpers/amqp-client.js';
import { clientHelpers, closeQuietly, nextError, qname, sleep } from './helpers/amqp-client.js';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker, waitFor } from './helpers/broker.js';
import type { RawFrame } from './helpers/raw-client.js';
import { frame, methodBytes, RawClient } from './helpers/raw-client.js';

const LONG = 250;
const REPLY_TO = 'amq.rabbitmq.reply-to';

let broker: TestBroker;
let observer: ChannelModel; // a connection that is never the one misbehaving
let observerCh: Channel;

const { connect, channel, confirmChannel } = clientHelpers(() => broker.url);

before(async () => {
  broker = await startTestBroker();
  observer = await connect();
  observerCh = await channel(observer);
});

after(async () => {
  await closeQuietly(observer);
  await broker.stop();
});

// ---- helpers ----

/** Ready count through a passive queue.declare from the observer connection. */
async function readyCount(q: string): Promise<number> {
  return (await observerCh.checkQueue(q)).messageCount;
}

/** The broker is still serving: a fresh client can connect, declare, publish and get. */
async function assertBrokerServes(): Promise<void> {
  const conn = await connect();
  try {
    const ch = await channel(conn);
    const q = qname('alive');
    await ch.assertQueue(q, { autoDelete: false });
    ch.sendToQueue(q, Buffer.from('ping'));
    let m: AmqpMessage | false = false;
    for (let i = 0; i < 100 && !m; i++) {
      m = await ch.get(q, { noAck: true });
      if (!m) await sleep(5);
    }
    assert.ok(m, 'a fresh client could not get its own message back');
    assert.equal(m.content.toString(), 'ping');
    await ch.deleteQueue(q);
  } finally {
    await closeQuietly(conn);
  }
}

/** reply-text is a shortstr: at most 255 bytes, whatever names it quotes. */
function assertFits(text: string): void {
  assert.ok(Buffer.byteLength(text) <= 255, `reply text is ${Buffer.byteLength(text)} bytes: ${text.slice(0, 60)}…`);
}

/** RawClient's constructor is private; we need it to wrap a socket opened with our own options. */
const RawClientCtor = RawClient as unknown as new (socket: Socket) => RawClient;

function rawConnect(port: number, allowHalfOpen = false): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ port, host: '127.0.0.1', allowHalfOpen }, () => resolve(new RawClientCtor(s)));
    s.once('error', reject);
  });
}

/** The handshake of RawClient.open, with the parts the tests vary. */
async function rawOpen(port: number, opts: { vhost?: string; allowHalfOpen?: boolean } = {}): Promise<RawClient> {
  const c = await rawConnect(port, opts.allowHalfOpen);
  c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  await c.nextMethod(M.CONNECTION_START);
  c.send(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'PLAIN', response: '\u0000guest\u0000guest', locale: 'en_US' });
  const tune = await c.nextMethod(M.CONNECTION_TUNE) as M.ConnectionTune;
  c.send(0, { id: M.CONNECTION_TUNE_OK, channelMax: tune.channelMax, frameMax: tune.frameMax, heartbeat: 0 });
  c.send(0, { id: M.CONNECTION_OPEN, virtualHost: opts.vhost ?? '/' });
  return c;
}

/** A content header frame carrying exactly `rawProps` as its property bytes. */
function headerFrame(channel: number, bodySize: number, rawProps: Buffer): Buffer {
  const payload = Buffer.alloc(12 + rawProps.length);
  payload.writeUInt16BE(60, 0);
  payload.writeUInt16BE(0, 2);
  payload.writeBigUInt64BE(BigInt(bodySize), 4);
  rawProps.copy(payload, 12);
  return frame(2, channel, payload);
}

/** basic.publish + header + body as bytes; `rawProps` overrides the (encoded) properties. */
function publishBytes(channel: number, exchange: string, routingKey: string, body: Buffer,
  opts: { props?: BasicProperties; rawProps?: Buffer; mandatory?: boolean } = {}): Buffer {
  const props = opts.rawProps ?? encodeProperties(opts.props ?? {});
  const parts = [
    methodBytes(channel, { id: M.BASIC_PUBLISH, exchange, routingKey, mandatory: opts.mandatory ?? false }),
    headerFrame(channel, body.length, props),
  ];
  if (body.length > 0) parts.push(frame(3, channel, body));
  return Buffer.concat(parts);
}

/** Every frame up to and including the first that matches `pred` (removed from c.frames). */
async function framesUntil(c: RawClient, pred: (f: RawFrame) => boolean, what: string, timeoutMs = 3000): Promise<RawFrame[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const i = c.frames.findIndex(pred);
    if (i >= 0) return c.frames.splice(0, i + 1);
    if (c.closed) throw new Error(`connection closed while waiting for ${what}; got ${describeFrames(c.frames)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${describeFrames(c.frames)}`);
    await sleep(5);
  }
}

function describeFrames(frames: RawFrame[]): string {
  return frames.map((f) => f.method ? M.methodName(f.method.id) : `frame type ${f.type}`).join(', ') || 'nothing';
}

/** Publisher-confirm sequence numbers acked by `frames` (multiple acks expanded); throws on a nack. */
function ackedSeqs(frames: RawFrame[], channel: number, upTo: number): Set<number> {
  const acked = new Set<number>();
  for (const f of frames) {
    if (f.channel !== channel || !f.method) continue;
    if (f.method.id === M.BASIC_NACK) assert.fail(`publish ${f.method.deliveryTag} was nacked`);
    if (f.method.id !== M.BASIC_ACK) continue;
    const { deliveryTag, multiple } = f.method;
    if (multiple) for (let t = 1; t <= Math.min(deliveryTag, upTo); t++) acked.add(t);
    else acked.add(deliveryTag);
  }
  return acked;
}

async function expectConnectionClose(c: RawClient, code: number, timeoutMs = 3000): Promise<M.ConnectionClose> {
  const close = await c.nextMethod(M.CONNECTION_CLOSE, timeoutMs) as M.ConnectionClose;
  assert.equal(close.replyCode, code, `reply code (text: ${close.replyText})`);
  assertFits(close.replyText);
  c.send(0, { id: M.CONNECTION_CLOSE_OK });
  return close;
}

/** Collects `n` deliveries from a consumer callback, or rejects after `timeoutMs`. */
function collect(n: number, timeoutMs: number): { push(m: ConsumeMessage): void; done: Promise<ConsumeMessage[]> } {
  const got: ConsumeMessage[] = [];
  let resolve!: (v: ConsumeMessage[]) => void;
  let reject!: (e: Error) => void;
  const done = new Promise<ConsumeMessage[]>((res, rej) => { resolve = res; reject = rej; });
  const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${n} deliveries within ${timeoutMs} ms`)), timeoutMs);
  return {
    push(m) {
      got.push(m);
      if (got.length === n) { clearTimeout(timer); resolve(got); }
    },
    done,
  };
}

// ---- 1. reply texts longer than a shortstr ----

describe('reply texts that quote over-long names are cut to 255 bytes', () => {
  test('connection.open to a missing 250-char vhost → 530, text ≤ 255 bytes, broker alive', async () => {
    const c = await rawOpen(broker.port, { vhost: 'v'.repeat(LONG) });
    try {
      const close = await expectConnectionClose(c, 530);
      assert.match(close.replyText, /vhost/);
    } finally {
      c.destroy();
    }
    await assertBrokerServes();
  });

  test('connection.start-ok with a 250-char mechanism (before login) → 503, text ≤ 255 bytes, broker alive', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
      await c.nextMethod(M.CONNECTION_START);
      c.send(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'X'.repeat(LONG), response: Buffer.alloc(0), locale: 'en_US' });
      await expectConnectionClose(c, 503);
    } finally {
      c.destroy();
    }
    await assertBrokerServes();
  });

  test('reusing a 250-char consumer tag → connection.close 530 arrives (no hang), text ≤ 255 bytes', async () => {
    const c = await RawClient.open(broker.port);
    const q = qname('ctag');
    try {
      c.send(1, { id: M.QUEUE_DECLARE, queue: q, autoDelete: true });
      await c.nextMethod(M.QUEUE_DECLARE_OK);
      const tag = 't'.repeat(LONG);
      c.send(1, { id: M.BASIC_CONSUME, queue: q, consumerTag: tag, noAck: true });
      c.send(1, { id: M.BASIC_CONSUME, queue: q, consumerTag: tag, noAck: true });
      const close = await expectConnectionClose(c, 530);
      assert.match(close.replyText, /reuse consumer tag/);
      await c.waitClosed();
    } finally {
      c.destroy();
    }
    await assertBrokerServes();
  });

  test('passive declare of a missing 250-char queue → channel.close 404 (text ≤ 255 bytes); the connection survives', async () => {
    const c = await RawClient.open(broker.port);
    try {
      c.send(1, { id: M.QUEUE_DECLARE, queue: 'q'.repeat(LONG), passive: true });
      const f = await c.next((f) => f.method?.id === M.CHANNEL_CLOSE || f.method?.id === M.CONNECTION_CLOSE, 3000, 'a close');
      assert.equal(M.methodName(f.method!.id), M.methodName(M.CHANNEL_CLOSE), 'a soft error must close only the channel');
      const close = f.method as M.ChannelClose;
      assert.equal(f.channel, 1);
      assert.equal(close.replyCode, 404, close.replyText);
      assertFits(close.replyText);
      assert.match(close.replyText, /NOT_FOUND/);
      c.send(1, { id: M.CHANNEL_CLOSE_OK });
      // The connection is intact: another channel works.
      c.send(2, { id: M.CHANNEL_OPEN });
      await c.nextMethod(M.CHANNEL_OPEN_OK);
      const q = qname('after-404');
      c.send(2, { id: M.QUEUE_DECLARE, queue: q, autoDelete: true });
      const ok = await c.nextMethod(M.QUEUE_DECLARE_OK) as M.QueueDeclareOk;
      assert.equal(ok.queue, q);
      assert.equal(c.frames.find((f) => f.method?.id === M.CONNECTION_CLOSE), undefined);
    } finally {
      c.destroy();
    }
  });
});

// ---- 2. a routing failure must not leak into later publishes; bad properties refused at publish ----

describe('malformed content-header properties', () => {
  // flags: headers present; the table claims 100 bytes but none follow
  const badProps = Buffer.from([0x20, 0x00, 0, 0, 0, 100]);

  test('a publish whose routing failed does not misroute later publishes of another client', async () => {
    const x = qname('X');
    const h = qname('H');
    const [q1, q2, q3] = [qname('Q1'), qname('Q2'), qname('Q3')];
    const conn = await connect();
    try {
      const ch = await channel(conn);
      await ch.assertExchange(x, 'fanout', { autoDelete: false });
      await ch.assertExchange(h, 'headers', { autoDelete: false });
      for (const q of [q1, q2, q3]) await ch.assertQueue(q);
      await ch.bindQueue(q1, x, '');
      await ch.bindExchange(h, x, '');
      await ch.bindQueue(q2, h, '', { a: 1 });

      const bad = await RawClient.open(broker.port);
      try {
        bad.write(publishBytes(1, x, '', Buffer.from('evil'), { rawProps: badProps }));
        await bad.next((f) => f.method?.id === M.CONNECTION_CLOSE || f.method?.id === M.CHANNEL_CLOSE, 3000, 'a close');
      } finally {
        bad.destroy();
      }

      // An innocent publish on another connection, to Q3 only.
      ch.sendToQueue(q3, Buffer.from('hello'));
      assert.equal(await readyCountOn(ch, q3), 1);
      assert.equal(await readyCountOn(ch, q1), 0, 'Q1 got a message it was never routed');
      assert.equal(await readyCountOn(ch, q2), 0, 'Q2 got a message it was never routed');
      for (const q of [q1, q2, q3]) await ch.deleteQueue(q);
      await ch.deleteExchange(h);
      await ch.deleteExchange(x);
    } finally {
      await closeQuietly(conn);
    }
  });

  test('a publish with a truncated headers table → connection.close 502 SYNTAX_ERROR, nothing enqueued', async () => {
    const q = qname('badprops');
    await observerCh.assertQueue(q);
    const c = await RawClient.open(broker.port);
    try {
      c.write(publishBytes(1, '', q, Buffer.from('evil'), { rawProps: badProps }));
      const f = await c.next((f) => f.method?.id === M.CONNECTION_CLOSE || f.method?.id === M.CHANNEL_CLOSE, 3000, 'a close');
      assert.equal(M.methodName(f.method!.id), M.methodName(M.CONNECTION_CLOSE));
      const close = f.method as M.ConnectionClose;
      assert.equal(close.replyCode, 502, close.replyText);
      assert.match(close.replyText, /SYNTAX_ERROR|propert|header/i);
      c.send(0, { id: M.CONNECTION_CLOSE_OK });
    } finally {
      c.destroy();
    }
    assert.equal(await readyCount(q), 0, 'the malformed message was enqueued');
    await observerCh.deleteQueue(q);
  });
});

async function readyCountOn(ch: Channel, q: string): Promise<number> {
  return (await ch.checkQueue(q)).messageCount;
}

// ---- 3. nack multiple + requeue under a channel-wide prefetch ----

test('nack multiple with requeue under a global prefetch: redelivered ones first, in order, then the rest', async () => {
  const conn = await connect();
  try {
    const ch = await channel(conn);
    const q = qname('order');
    await ch.assertQueue(q, { autoDelete: true });
    for (let i = 1; i <= 6; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await ch.checkQueue(q); // round trip: every publish is in
    await ch.prefetch(3, true);
    const got: string[] = [];
    const all = collect(9, 3000);
    await ch.consume(q, (m) => {
      if (!m) return;
      got.push(m.content.toString() + (m.fields.redelivered ? 'r' : ''));
      if (got.length === 3) ch.nack(m, true, true); // 1..3, requeue
      else if (got.length > 3) ch.ack(m);
      all.push(m);
    });
    await all.done.catch((err: Error) => assert.fail(`${err.message}; got: ${got.join(' ')}`));
    assert.deepEqual(got, ['1', '2', '3', '1r', '2r', '3r', '4', '5', '6']);
  } finally {
    await closeQuietly(conn);
  }
});

// ---- 4. backpressure on a no-ack consumer that does not read ----

test('a no-ack consumer that does not read its socket does not drain the whole backlog', async () => {
  const N = 20_000;
  const q = qname('bp');
  const conn = await connect();
  const raw = await RawClient.open(broker.port);
  try {
    const ch = await confirmChannel(conn);
    await ch.assertQueue(q);
    const body = Buffer.alloc(4096, 1);
    for (let i = 0; i < N; i++) ch.sendToQueue(q, body);
    await ch.waitForConfirms();
    assert.equal(await readyCount(q), N);

    raw.socket.pause(); // never read again
    raw.send(1, { id: M.BASIC_CONSUME, queue: q, consumerTag: 'bp', noAck: true, nowait: true });
    await sleep(1000);
    const ready = await readyCount(q);
    // What may be out: ~1 MiB of the broker's unwritten data plus the kernel's socket buffers
    // (a few MB on loopback), i.e. a few thousand 4 KB messages; not 80 MB.
    assert.ok(ready < N, 'the consumer never got anything: the test did not test anything');
    assert.ok(ready > N / 2, `only ${ready} of ${N} still ready: the broker wrote ${((N - ready) * 4) / 1024} MB to a socket nobody reads`);
  } finally {
    raw.destroy();
    await observerCh.deleteQueue(q).catch(() => {});
    await closeQuietly(conn);
  }
});

// ---- 5. publisher confirms when the channel / connection closes right after publishing ----

describe('publisher confirms are not lost when closing right after publishing', () => {
  const N = 5;

  async function confirmingClient(q: string): Promise<RawClient> {
    const c = await RawClient.open(broker.port);
    c.send(1, { id: M.QUEUE_DECLARE, queue: q });
    await c.nextMethod(M.QUEUE_DECLARE_OK);
    c.send(1, { id: M.CONFIRM_SELECT });
    await c.nextMethod(M.CONFIRM_SELECT_OK);
    return c;
  }

  function publishes(q: string): Buffer[] {
    return Array.from({ length: N }, (_, i) => publishBytes(1, '', q, Buffer.from(`m${i + 1}`)));
  }

  test('channel.close: every publish is acked before channel.close-ok', async () => {
    const q = qname('confirm-chclose');
    const c = await confirmingClient(q);
    try {
      c.write(Buffer.concat([
        ...publishes(q),
        methodBytes(1, { id: M.CHANNEL_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }),
      ]));
      const frames = await framesUntil(c, (f) => f.method?.id === M.CHANNEL_CLOSE_OK, 'channel.close-ok');
      const acked = ackedSeqs(frames, 1, N);
      for (let t = 1; t <= N; t++) assert.ok(acked.has(t), `publish ${t} not confirmed before close-ok (frames: ${describeFrames(frames)})`);
    } finally {
      c.destroy();
    }
    assert.equal(await readyCount(q), N);
    await observerCh.deleteQueue(q);
  });

  test('connection.close: every publish is acked before connection.close-ok', async () => {
    const q = qname('confirm-connclose');
    const c = await confirmingClient(q);
    try {
      c.write(Buffer.concat([
        ...publishes(q),
        methodBytes(0, { id: M.CONNECTION_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }),
      ]));
      const frames = await framesUntil(c, (f) => f.method?.id === M.CONNECTION_CLOSE_OK, 'connection.close-ok');
      const acked = ackedSeqs(frames, 1, N);
      for (let t = 1; t <= N; t++) assert.ok(acked.has(t), `publish ${t} not confirmed before close-ok (frames: ${describeFrames(frames)})`);
    } finally {
      c.destroy();
    }
    assert.equal(await readyCount(q), N);
    await observerCh.deleteQueue(q);
  });
});

// ---- 6. auto-delete exchanges ----

describe('auto-delete exchanges go only when their own outbound bindings go', () => {
  async function exchangeExists(name: string): Promise<boolean> {
    const conn = await connect();
    try {
      const ch = await channel(conn);
      try {
        await ch.checkExchange(name);
        return true;
      } catch (err) {
        assert.equal((err as AmqpError).code, 404, (err as Error).message);
        return false;
      }
    } finally {
      await closeQuietly(conn);
    }
  }

  test('deleting an exchange does not delete the auto-delete exchange it was bound to', async () => {
    const conn = await connect();
    try {
      const ch = await channel(conn);
      const src = qname('src');
      const dst = qname('dst');
      await ch.assertExchange(src, 'fanout', { autoDelete: false });
      await ch.assertExchange(dst, 'fanout', { autoDelete: true });
      await ch.bindExchange(dst, src, ''); // src → dst; dst has no bindings of its own
      await ch.deleteExchange(src);
      assert.equal(await exchangeExists(dst), true, `auto-delete exchange '${dst}' was deleted along with '${src}'`);
      await ch.deleteExchange(dst);
    } finally {
      await closeQuietly(conn);
    }
  });

  test('exchange.unbind of an auto-delete exchange\'s inbound binding does not delete it', async () => {
    const conn = await connect();
    try {
      const ch = await channel(conn);
      const src = qname('src2');
      const dst = qname('dst2');
      await ch.assertExchange(src, 'fanout', { autoDelete: false });
      await ch.assertExchange(dst, 'fanout', { autoDelete: true });
      await ch.bindExchange(dst, src, '');
      await ch.unbindExchange(dst, src, '');
      assert.equal(await exchangeExists(dst), true, `auto-delete exchange '${dst}' was deleted by unbinding its inbound binding`);
      assert.equal(await exchangeExists(src), true);
      await ch.deleteExchange(dst);
      await ch.deleteExchange(src);
    } finally {
      await closeQuietly(conn);
    }
  });
});

// ---- 7. topic routing with many '#' ----

test("topic routing with many '#' wildcards and an 80-word key is fast and exact", async () => {
  const conn = await connect();
  try {
    const ch = await channel(conn);
    const ex = qname('topic');
    const q1 = qname('hashes');
    const q2 = qname('all');
    await ch.assertExchange(ex, 'topic', { autoDelete: false });
    await ch.assertQueue(q1, { autoDelete: true });
    await ch.assertQueue(q2, { autoDelete: true });
    // Two bindings of q1 match the same keys: it must still get each message once.
    await ch.bindQueue(q1, ex, '#.#.#.#.#.#.x');
    await ch.bindQueue(q1, ex, '#.x');
    await ch.bindQueue(q2, ex, '#');

    let expected1 = 0;
    let expected2 = 0;
    // Shorter keys first: a blow-up fails here in a fraction of the time the 80-word key would take.
    for (const words of [20, 40, 80]) {
      for (const matching of [false, true]) {
        const key = [...Array<string>(words - 1).fill('a'), matching ? 'x' : 'a'].join('.');
        const t0 = performance.now();
        ch.publish(ex, key, Buffer.from(`${words}${matching ? 'x' : ''}`));
        const n1 = await readyCountOn(ch, q1); // round trip: the publish was routed
        const ms = performance.now() - t0;
        assert.ok(ms < 1000, `routing a ${words}-word key took ${ms.toFixed(0)} ms`);
        if (matching) expected1++;
        expected2++;
        assert.equal(n1, expected1, `${words}-word key ending in '.${matching ? 'x' : 'a'}': q1 has ${n1}, expected ${expected1}`);
        assert.equal(await readyCountOn(ch, q2), expected2);
      }
    }
    const m = await ch.get(q1, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.toString(), '20x');
    await ch.deleteExchange(ex);
  } finally {
    await closeQuietly(conn);
  }
});

// ---- 8. requeue of many entries ----

describe('requeueing many messages is not quadratic', () => {
  test('store: 200k entries requeued and shifted back in well under a second, in order', () => {
    const n = 200_000;
    const s = new MemoryQueueStore();
    const msg = { body: Buffer.alloc(1) } as unknown as Message;
    for (let i = 0; i < n; i++) s.push(msg);
    const out: QueueEntry[] = [];
    for (let i = 0; i < n; i++) out.push(s.shift()!);
    const t0 = performance.now();
    for (const e of out) s.requeue(e);
    let prev = 0;
    let count = 0;
    for (let e = s.shift(); e; e = s.shift()) {
      assert.ok(e.seq > prev && e.redelivered);
      prev = e.seq;
      count++;
    }
    const ms = performance.now() - t0;
    assert.equal(count, n);
    // Linear work is a few tens of ms; quadratic is seconds.
    assert.ok(ms < 500, `requeue + shift of ${n} entries took ${ms.toFixed(0)} ms`);
  });

  test('100k unacked messages requeued by channel close come back in order, redelivered, quickly', async () => {
    const N = 100_000;
    const q = qname('requeue');
    const conn = await connect();
    try {
      const pub = await channel(conn);
      await pub.assertQueue(q);
      for (let i = 0; i < N; i++) pub.sendToQueue(q, Buffer.from(String(i)));
      assert.equal(await readyCountOn(pub, q), N);

      // Take everything without acking (no prefetch limit), then close the channel: all requeued.
      const first = await channel(conn);
      const taken = collect(N, 10_000);
      await first.consume(q, (m) => { if (m) taken.push(m); }, { noAck: false });
      await taken.done;
      const t0 = performance.now();
      await first.close();

      const second = await channel(conn);
      const back = collect(N, 10_000);
      await second.consume(q, (m) => { if (m) back.push(m); }, { noAck: true });
      const msgs = await back.done;
      const ms = performance.now() - t0;
      for (let i = 0; i < N; i++) {
        const m = msgs[i]!;
        if (m.content.toString() !== String(i) || !m.fields.redelivered) {
          assert.fail(`delivery ${i}: body ${m.content.toString()}, redelivered ${m.fields.redelivered}`);
        }
      }
      assert.ok(ms < 5000, `requeue + redelivery of ${N} took ${ms.toFixed(0)} ms`);
      await pub.deleteQueue(q);
    } finally {
      await closeQuietly(conn);
    }
  });
});

// ---- 9. multiple ack naming an already-acked tag ----

test('ack multiple naming an already-acked tag → 406 unknown delivery tag, nothing acked', async () => {
  const conn = await connect();
  try {
    const ch = await channel(conn);
    const q = qname('acks');
    await ch.assertQueue(q);
    for (let i = 1; i <= 3; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    const got: AmqpMessage[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch.get(q, { noAck: false });
      assert.ok(m, `get ${i + 1}`);
      got.push(m);
    }
    assert.deepEqual(got.map((m) => m.fields.deliveryTag), [1, 2, 3]);
    ch.ack(got[1]!); // tag 2
    const err = nextError(ch);
    ch.ack(got[1]!, true); // multiple, tag 2 again
    const e = await err;
    assert.equal(e.code, 406, e.message);
    assert.match(e.message, /unknown delivery tag 2/);
    // The failed ack acked nothing: 1 and 3 were requeued by the channel close.
    assert.equal(await readyCount(q), 2);
    await observerCh.deleteQueue(q);
  } finally {
    await closeQuietly(conn);
  }
});

// ---- 10. exclusive queues and a peer that keeps the socket after close-ok ----

test('exclusive queues are deleted at connection.close even if the peer keeps the socket open', async () => {
  const q = qname('excl');
  const c = await rawOpen(broker.port, { allowHalfOpen: true });
  try {
    await c.nextMethod(M.CONNECTION_OPEN_OK);
    c.send(1, { id: M.CHANNEL_OPEN });
    await c.nextMethod(M.CHANNEL_OPEN_OK);
    c.send(1, { id: M.QUEUE_DECLARE, queue: q, exclusive: true });
    await c.nextMethod(M.QUEUE_DECLARE_OK);
    c.send(0, { id: M.CONNECTION_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
    await c.nextMethod(M.CONNECTION_CLOSE_OK);
    // We keep our end of the socket open. The queue must go anyway, and soon.
    const deadline = Date.now() + 1000;
    let last = '';
    for (;;) {
      const conn = await connect();
      try {
        const ch = await channel(conn);
        await ch.checkQueue(q);
        last = 'queue still exists';
      } catch (err) {
        const code = (err as AmqpError).code;
        if (code === 404) break;
        assert.equal(code, 405, (err as Error).message); // still there, locked by its owner
        last = 'queue still exists (405 RESOURCE_LOCKED)';
      } finally {
        await closeQuietly(conn);
      }
      if (Date.now() > deadline) assert.fail(`1 s after connection.close-ok: ${last}`);
      await sleep(50);
    }
  } finally {
    c.destroy();
  }
});

// ---- 11. heartbeats while the broker applies backpressure ----

test('a slow-reading consumer is not dropped for missed heartbeats while the broker is not reading its socket', async () => {
  const N = 8_000; // 32 MB: more than the kernel's loopback buffers plus the broker's high-water mark
  const q = qname('hb');
  const conn = await connect();
  const c = await RawClient.open(broker.port, { heartbeat: 1 }); // dropped after 2 s of silence
  // The client is well behaved: a heartbeat every 250 ms, even while it reads nothing.
  const beat = setInterval(() => { if (!c.closed) c.write(frame(8, 0, Buffer.alloc(0))); }, 250);
  try {
    const ch = await confirmChannel(conn);
    await ch.assertQueue(q);
    const body = Buffer.alloc(4096, 2);
    for (let i = 0; i < N; i++) ch.sendToQueue(q, body);
    await ch.waitForConfirms();

    c.socket.pause(); // the consumer falls behind: the broker's writes back up and it stops reading us
    c.send(1, { id: M.BASIC_CONSUME, queue: q, consumerTag: 'hb', noAck: false });
    await sleep(3000); // > 2 heartbeat intervals
    assert.equal(c.closed, false, 'the broker dropped a client whose heartbeats it was not reading');

    c.socket.resume(); // catch up: the connection is healthy
    c.send(1, { id: M.BASIC_CANCEL, consumerTag: 'hb' });
    await c.nextMethod(M.BASIC_CANCEL_OK, 10_000);
    assert.equal(c.closed, false);
  } finally {
    clearInterval(beat);
    c.destroy();
    await observerCh.deleteQueue(q).catch(() => {});
    await closeQuietly(conn);
  }
});

// ---- 12. direct reply-to tokens belong to one broker ----

describe('direct reply-to with two brokers in one process', () => {
  let other: TestBroker;
  before(async () => {
    other = await startTestBroker();
  });
  after(async () => {
    await other.stop();
  });

  test("a reply published on broker B to broker A's reply-to address is not delivered to A's consumer", async () => {
    const connA = await connect();
    const { connect: connectB, channel: channelB } = clientHelpers(() => other.url);
    const connB = await connectB();
    try {
      const chA = await channel(connA);
      const replies: string[] = [];
      await chA.consume(REPLY_TO, (m) => { if (m) replies.push(m.content.toString()); }, { noAck: true });
      const rpc = qname('rpc');
      await chA.assertQueue(rpc, { autoDelete: false });
      chA.sendToQueue(rpc, Buffer.from('request'), { replyTo: REPLY_TO });
      const getCh = await channel(connA);
      let req: AmqpMessage | false = false;
      for (let i = 0; i < 200 && !req; i++) {
        req = await getCh.get(rpc, { noAck: true });
        if (!req) await sleep(5);
      }
      assert.ok(req, 'the request never reached its queue');
      const replyTo = req.properties.replyTo as string;
      assert.ok(replyTo.startsWith(`${REPLY_TO}.`), replyTo);

      // On broker B the address means nothing: mandatory → basic.return, and A sees nothing.
      const chB = await channelB(connB);
      const returned = new Promise<AmqpMessage>((resolve) => chB.once('return', resolve));
      chB.publish('', replyTo, Buffer.from('reply via B'), { mandatory: true });
      const r = await Promise.race([returned, sleep(2000).then(() => undefined)]);
      assert.ok(r, 'the reply published on the wrong broker was not returned');
      assert.equal(r.content.toString(), 'reply via B');
      await sleep(100);
      assert.deepEqual(replies, [], "broker B delivered to broker A's reply consumer");

      // Control: on broker A the same address works.
      getCh.publish('', replyTo, Buffer.from('reply via A'));
      await waitFor(() => replies.length > 0, 2000, 'the reply on A');
      assert.deepEqual(replies, ['reply via A']);
      await getCh.deleteQueue(rpc);
    } finally {
      await closeQuietly(connB);
      await closeQuietly(connA);
    }
  });
});
