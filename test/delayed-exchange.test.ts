/**
 * The x-delayed-message exchange through an unmodified RabbitMQ client (amqplib): delivery on
 * time and in due order, routing by x-delayed-type with the bindings of the moment the message is
 * due, immediate routing without x-delay, argument checks, mandatory, and durability across a
 * restart (overdue messages promptly, the others on time), and deletion.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import type { Channel, ConsumeMessage, Options } from 'amqplib';
import { startTestBroker } from './helpers/broker.js';
import { startBroker } from './helpers/crash-harness.js';
import type { TestBroker } from './helpers/broker.js';
import { body, clientHelpers, closeQuietly, count, nextError, qname, sleep } from './helpers/amqp-client.js';

let broker: TestBroker;

before(async () => {
  broker = await startTestBroker();
});

after(async () => {
  await broker.stop();
});

const { connect, channel, confirmChannel, withConn } = clientHelpers(() => broker.url);

/** How late a message may arrive: the target is ~100 ms; this box has 2 busy cores. */
const LATE_MS = 350;

const delayed = (type: string, durable = false): Options.AssertExchange =>
  ({ durable, arguments: { 'x-delayed-type': type } });
const withDelay = (ms: number | string, extra: Options.Publish = {}): Options.Publish =>
  ({ ...extra, headers: { ...extra.headers, 'x-delay': ms } });

interface Arrival {
  body: string;
  at: number;
}

/** Consumes `queue` (no-ack), recording when each message arrives. */
async function record(ch: Channel, queue: string): Promise<Arrival[]> {
  const got: Arrival[] = [];
  await ch.consume(queue, (m: ConsumeMessage | null) => {
    if (m) got.push({ body: body(m), at: Date.now() });
  }, { noAck: true });
  return got;
}

async function until(arrivals: Arrival[], n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (arrivals.length < n) {
    if (Date.now() > deadline) assert.fail(`${arrivals.length} of ${n} messages arrived: ${arrivals.map((a) => a.body)}`);
    await sleep(5);
  }
}

function assertOnTime(arrival: Arrival, due: number, lateMs = LATE_MS): void {
  assert.ok(arrival.at >= due, `${arrival.body} arrived ${due - arrival.at} ms early`);
  assert.ok(arrival.at - due <= lateMs, `${arrival.body} arrived ${arrival.at - due} ms late`);
}

describe('x-delayed-message exchange', () => {
  test('messages arrive in due order, each on time and never early', async () => {
    const x = qname('dx');
    const q = qname('dq');
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertExchange(x, 'x-delayed-message', delayed('direct'));
      await ch.assertQueue(q, { durable: false });
      await ch.bindQueue(q, x, 'k');
      const arrivals = await record(await channel(conn), q);
      const sent: Record<string, number> = {};
      for (const ms of [600, 200, 400]) {
        sent[`d${ms}`] = Date.now() + ms;
        ch.publish(x, 'k', Buffer.from(`d${ms}`), withDelay(ms));
      }
      await ch.waitForConfirms();
      await sleep(100);
      assert.equal(arrivals.length, 0, 'nothing before its time');
      await until(arrivals, 3, 3000);
      assert.deepEqual(arrivals.map((a) => a.body), ['d200', 'd400', 'd600']);
      for (const a of arrivals) assertOnTime(a, sent[a.body]!);
      await ch.deleteExchange(x);
    });
  });

  test('routing follows x-delayed-type (topic) and the bindings as they are when the message is due', async () => {
    const x = qname('tx');
    const [qa, qz, late] = [qname('qa'), qname('qz'), qname('late')];
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertExchange(x, 'x-delayed-message', delayed('topic'));
      for (const q of [qa, qz, late]) await ch.assertQueue(q, { durable: false });
      await ch.bindQueue(qa, x, 'a.*');
      await ch.bindQueue(qz, x, '#.z');
      ch.publish(x, 'a.z', Buffer.from('both'), withDelay(300));
      ch.publish(x, 'a.b', Buffer.from('a-only'), withDelay(300));
      ch.publish(x, 'x.y', Buffer.from('nowhere'), withDelay(300));
      ch.publish(x, 'q.late', Buffer.from('bound-later'), withDelay(300));
      ch.publish(x, 'x.z', Buffer.from('unbound-before-due'), withDelay(300));
      await ch.waitForConfirms();
      // Bindings change while the messages wait: the plugin routes at the due time, so do we.
      await ch.bindQueue(late, x, '*.late');
      await ch.unbindQueue(qz, x, '#.z');
      await ch.bindQueue(qz, x, 'a.#');
      assert.equal(await count(ch, qa) + await count(ch, qz) + await count(ch, late), 0, 'nothing routed yet');
      await sleep(300 + LATE_MS);
      const all = async (q: string): Promise<string[]> => {
        const out: string[] = [];
        for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) out.push(body(m));
        return out;
      };
      assert.deepEqual(await all(qa), ['both', 'a-only']);
      assert.deepEqual(await all(qz), ['both', 'a-only']);
      assert.deepEqual(await all(late), ['bound-later']);
      await ch.deleteExchange(x);
    });
  });

  test('no x-delay, or one that is not positive, routes at once; digit strings count as delays', async () => {
    const x = qname('nx');
    const q = qname('nq');
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertExchange(x, 'x-delayed-message', delayed('fanout'));
      await ch.assertQueue(q, { durable: false });
      await ch.bindQueue(q, x, '');
      ch.publish(x, 'any', Buffer.from('plain'));
      ch.publish(x, 'any', Buffer.from('zero'), withDelay(0));
      ch.publish(x, 'any', Buffer.from('negative'), withDelay(-5000));
      ch.publish(x, 'any', Buffer.from('junk'), withDelay('soon'));
      ch.publish(x, 'any', Buffer.from('string'), withDelay('250'));
      await ch.waitForConfirms();
      const now = [];
      for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) now.push(body(m));
      assert.deepEqual(now, ['plain', 'zero', 'negative', 'junk']);
      await sleep(250 + LATE_MS);
      const m = await ch.get(q, { noAck: true });
      assert.ok(m);
      assert.equal(body(m), 'string');
      assert.equal(m.properties.headers?.['x-delay'], '250', 'headers go out as published');
      await ch.deleteExchange(x);
    });
  });

  test('a missing or unusable x-delayed-type is 406 PRECONDITION_FAILED naming it', async () => {
    const cases: [string, Options.AssertExchange][] = [
      ['missing', { arguments: {} }],
      ['unknown type', { arguments: { 'x-delayed-type': 'nonsense' } }],
      ['itself', { arguments: { 'x-delayed-type': 'x-delayed-message' } }],
      ['not a string', { arguments: { 'x-delayed-type': 5 } }],
    ];
    await withConn(async (conn) => {
      for (const [what, options] of cases) {
        const ch = await channel(conn);
        const error = nextError(ch);
        await assert.rejects(ch.assertExchange(qname('bad'), 'x-delayed-message', options));
        const err = await error;
        assert.equal(err.code, 406, what);
        assert.match(err.message, /x-delayed-type/, what);
      }
      const ch = await channel(conn);
      await ch.assertExchange(qname('ok'), 'x-delayed-message', delayed('headers'));
      await closeQuietly(ch);
    });
  });

  test('a mandatory delayed message is not returned (the plugin returns it even when it delivers it later)', async () => {
    const x = qname('mx');
    const q = qname('mq');
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const returned: string[] = [];
      ch.on('return', (m: ConsumeMessage) => returned.push(body(m)));
      await ch.assertExchange(x, 'x-delayed-message', delayed('direct'));
      await ch.assertQueue(q, { durable: false });
      await ch.bindQueue(q, x, 'k');
      ch.publish(x, 'k', Buffer.from('delayed'), withDelay(100, { mandatory: true }));
      ch.publish(x, 'nokey', Buffer.from('immediate-unroutable'), { mandatory: true });
      await ch.waitForConfirms();
      await sleep(100 + LATE_MS);
      assert.deepEqual(returned, ['immediate-unroutable'], 'an undelayed message is returned as by any exchange');
      assert.equal(await count(ch, q), 1);
      await ch.deleteExchange(x);
    });
  });

  test('durable exchange: confirmed persistent messages survive a restart; overdue ones come promptly, the others on time', async () => {
    const x = qname('durx');
    const q = qname('durq');
    const transientX = qname('ndx');
    const sent: Record<string, number> = {};
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertExchange(x, 'x-delayed-message', delayed('direct', true));
      await ch.assertExchange(transientX, 'x-delayed-message', delayed('direct', false));
      await ch.assertQueue(q, { durable: true });
      await ch.bindQueue(q, x, 'k');
      await ch.bindQueue(q, transientX, 'k');
      const publish = (name: string, ms: number, persistent = true, ex = x): void => {
        sent[name] = Date.now() + ms;
        ch.publish(ex, 'k', Buffer.from(name), withDelay(ms, { persistent }));
      };
      publish('overdue-1', 300);
      publish('overdue-2', 500);
      publish('on-time-3s', 3000);
      publish('on-time-4s', 4000);
      publish('transient', 3500, false);
      publish('in-non-durable-exchange', 3500, true, transientX);
      await ch.waitForConfirms();
    });
    // Down for a while: the first two are overdue when the broker comes back.
    const dataDir = broker.dataDir;
    await broker.warren.stop();
    await sleep(700);
    broker = await startTestBroker({}, dataDir);
    const restarted = Date.now();
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await assert.rejects(ch.checkExchange(transientX), 'a non-durable delayed exchange is gone');
    });
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const arrivals = await record(ch, q);
      await until(arrivals, 2, 1000);
      for (const a of arrivals.slice(0, 2)) assert.ok(a.at - restarted < LATE_MS, `${a.body} came promptly`);
      await until(arrivals, 4, 5000);
      await sleep(1000); // nothing else may come
      assert.deepEqual(arrivals.map((a) => a.body), ['overdue-1', 'overdue-2', 'on-time-3s', 'on-time-4s']);
      assertOnTime(arrivals[2]!, sent['on-time-3s']!);
      assertOnTime(arrivals[3]!, sent['on-time-4s']!);
      await ch.deleteQueue(q);
      await ch.deleteExchange(x);
    });
  });

  test('deleting a delayed exchange drops its pending messages and files, also across a restart', async () => {
    const x = qname('delx');
    const keep = qname('keepx');
    const q = qname('delq');
    const dirOf = (name: string): string => broker.warren.broker.messages.delayedDir('/', name);
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertQueue(q, { durable: true });
      for (const name of [x, keep]) {
        await ch.assertExchange(name, 'x-delayed-message', delayed('direct', true));
        await ch.bindQueue(q, name, 'k');
        ch.publish(name, 'k', Buffer.from(`${name}-hour`), withDelay(3_600_000, { persistent: true }));
        ch.publish(name, 'k', Buffer.from(`${name}-soon`), withDelay(1500, { persistent: true }));
      }
      await ch.waitForConfirms();
      assert.ok(readdirSync(dirOf(x)).some((f) => f.startsWith('L')), 'pending messages are in bucket directories');
      await ch.deleteExchange(x);
      assert.equal(existsSync(dirOf(x)), false, 'its directory is gone');
    });
    broker = await broker.restart();
    assert.equal(existsSync(dirOf(x)), false);
    assert.ok(existsSync(dirOf(keep)));
    await sleep(1500 + LATE_MS);
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const m = await ch.get(q, { noAck: true });
      assert.ok(m);
      assert.equal(body(m), `${keep}-soon`);
      assert.equal(await ch.get(q, { noAck: true }), false);
      await ch.deleteExchange(keep);
      assert.equal(existsSync(dirOf(keep)), false);
      await ch.deleteQueue(q);
    });
    await closeQuietly(await connect());
  });
});

describe('x-delayed-message exchange and kill -9', () => {
  test('confirmed persistent delayed messages survive a SIGKILL in the middle of firing them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-delayed-kill-'));
    const x = 'kill-x';
    const q = 'kill-q';
    let b = await startBroker(dir);
    const url = (port: number): string => `amqp://guest:guest@127.0.0.1:${port}`;
    const expected = new Set<string>();
    try {
      let conn = await amqp.connect(url(b.port));
      conn.on('error', () => {});
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange(x, 'x-delayed-message', delayed('direct', true));
      await ch.assertQueue(q, { durable: true });
      await ch.bindQueue(q, x, 'k');
      for (let i = 0; i < 400; i++) {
        const ms = 100 + i * 7; // 0.1 .. 2.9 s: firing when the kill comes
        ch.publish(x, 'k', Buffer.from(`m${i}`), withDelay(ms, { persistent: true }));
        expected.add(`m${i}`);
      }
      ch.publish(x, 'k', Buffer.from('in-an-hour'), withDelay(3_600_000, { persistent: true }));
      await ch.waitForConfirms();
      await sleep(1000);
      b.child.kill('SIGKILL');
      await b.exited;
      b = await startBroker(dir);
      conn = await amqp.connect(url(b.port));
      conn.on('error', () => {});
      const cch = await conn.createChannel();
      const arrivals = await record(cch, q);
      const deadline = Date.now() + 5000;
      const seen = (): Set<string> => new Set(arrivals.map((a) => a.body));
      while (seen().size < expected.size && Date.now() < deadline) await sleep(20);
      await sleep(300);
      const got = seen();
      const lost = [...expected].filter((id) => !got.has(id));
      assert.deepEqual(lost, [], 'every confirmed message arrives (duplicates are allowed)');
      assert.equal(got.has('in-an-hour'), false);
      await conn.close();
    } finally {
      b.child.kill('SIGKILL');
      await b.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
