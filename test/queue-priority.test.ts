/**
 * Priority queues (x-max-priority) through an unmodified RabbitMQ client (amqplib), with RabbitMQ
 * classic-queue semantics as the reference: higher priority first, FIFO within a priority, absent
 * priority = 0, a priority above the maximum = the maximum, requeued messages back in their place,
 * and all of it across a restart for persistent messages in a durable queue.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import type { Channel, ConsumeMessage, GetMessage, Options } from 'amqplib';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { body, clientHelpers, closeQuietly, getOrFail, nextError, qname } from './helpers/amqp-client.js';

let broker: TestBroker;

before(async () => {
  broker = await startTestBroker();
});

after(async () => {
  await broker.stop();
});

const { connect, channel, confirmChannel, withConn } = clientHelpers(() => broker.url);

/** Publishes [body, priority] pairs (priority undefined: no property) and waits for the confirms. */
async function publish(queue: string, messages: [string, number | undefined][], extra: Options.Publish = {}): Promise<void> {
  await withConn(async (conn) => {
    const ch = await confirmChannel(conn);
    for (const [b, priority] of messages) ch.sendToQueue(queue, Buffer.from(b), { ...extra, priority });
    await ch.waitForConfirms();
  });
}

/** Consumes `n` messages with manual acks (the queue already holds them, so delivery order is the queue's). */
async function consume(ch: Channel, queue: string, n: number): Promise<ConsumeMessage[]> {
  const got: ConsumeMessage[] = [];
  let tag = '';
  await new Promise<void>((resolve, reject) => {
    ch.consume(queue, (m) => {
      if (!m) return reject(new Error('consumer cancelled'));
      got.push(m);
      ch.ack(m);
      if (got.length === n) resolve();
    }).then((ok) => (tag = ok.consumerTag), reject);
  });
  await ch.cancel(tag);
  return got;
}

async function getAll(ch: Channel, queue: string): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) out.push(m);
  return out;
}

/** The order a priority queue delivers in: priority (capped at max, absent 0) descending, then publish order. */
function expectedOrder(messages: [string, number | undefined][], max: number): string[] {
  return messages
    .map(([b, p], i) => ({ b, i, level: Math.min(p ?? 0, max) }))
    .sort((x, y) => y.level - x.level || x.i - y.i)
    .map((m) => m.b);
}

describe('priority queues', () => {
  test('priorities 0..9 mixed: delivered highest first, FIFO within a priority', async () => {
    const q = qname('prio');
    const messages: [string, number | undefined][] = Array.from({ length: 40 }, (_, i) => [`m${i}`, (i * 7) % 10]);
    messages.push(['none-1', undefined], ['none-2', undefined]);
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(q, { durable: false, maxPriority: 10 });
      await publish(q, messages);
      const got = await consume(ch, q, messages.length);
      assert.deepEqual(got.map(body), expectedOrder(messages, 10));
      assert.deepEqual(got.slice(0, 4).map((m) => m.properties.priority), [9, 9, 9, 9]);
      assert.deepEqual(got.slice(-2).map(body), ['none-1', 'none-2'], 'no priority property counts as 0');
      await ch.deleteQueue(q);
    });
  });

  test('a priority above the maximum counts as the maximum', async () => {
    const q = qname('prio-cap');
    const messages: [string, number | undefined][] = [['a5', 5], ['b3', 3], ['c9', 9], ['d2', 2], ['e255', 255], ['f0', 0]];
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(q, { durable: false, maxPriority: 3 });
      await publish(q, messages);
      assert.deepEqual((await getAll(ch, q)).map(body), ['a5', 'b3', 'c9', 'e255', 'd2', 'f0']);
      await ch.deleteQueue(q);
    });
  });

  test('a nack-requeued message comes back before lower priorities, in its own place', async () => {
    const q = qname('prio-requeue');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(q, { durable: false, maxPriority: 10 });
      await publish(q, [['low1', 1], ['high1', 8], ['high2', 8], ['low2', 1]]);
      const high1 = await getOrFail(ch, q);
      const high2 = await getOrFail(ch, q);
      assert.deepEqual([body(high1), body(high2)], ['high1', 'high2']);
      await publish(q, [['mid', 5]]);
      ch.nack(high2, false, true);
      ch.nack(high1, false, true);
      const got = await getAll(ch, q);
      assert.deepEqual(got.map(body), ['high1', 'high2', 'mid', 'low1', 'low2']);
      assert.deepEqual(got.map((m) => m.fields.redelivered), [true, true, false, false, false]);
      await ch.deleteQueue(q);
    });
  });

  test('a durable priority queue keeps the order of persistent messages across a restart', async () => {
    const q = qname('prio-durable');
    const messages: [string, number | undefined][] = Array.from({ length: 30 }, (_, i) => [`m${i}`, i % 4 === 3 ? undefined : (i * 3) % 7]);
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(q, { durable: true, maxPriority: 5 });
    });
    await publish(q, [['transient', 5]]);
    await publish(q, messages, { persistent: true });
    const order = expectedOrder(messages, 5);
    // Delivered but not acked when the broker stops: back after the restart, flagged redelivered.
    const holder = await connect();
    const hch = await channel(holder);
    const taken = [await getOrFail(hch, q), await getOrFail(hch, q), await getOrFail(hch, q)];
    assert.deepEqual(taken.map(body), ['transient', order[0], order[1]]);
    const dir = broker.warren.broker.messages.queueDir('/', q);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('p')).sort(), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);

    broker = await broker.restart();
    await closeQuietly(holder);

    await withConn(async (conn) => {
      const ch = await channel(conn);
      const got = await getAll(ch, q);
      assert.deepEqual(got.map(body), order, 'priority order, FIFO within a priority; the transient one is gone');
      assert.deepEqual(got.map((m) => m.fields.redelivered), order.map((_, i) => i < 2));
      // Still a priority queue: new messages go by priority too.
      await publish(q, [['later-low', 0], ['later-high', 4]], { persistent: true });
      assert.deepEqual((await getAll(ch, q)).map(body), ['later-high', 'later-low']);
      await ch.deleteQueue(q);
      assert.equal(existsSync(dir), false, 'the queue directory goes with every level');
    });
  });

  test('a queue without x-max-priority ignores the priority property', async () => {
    const q = qname('plain');
    const messages: [string, number | undefined][] = [['a', 1], ['b', 9], ['c', undefined], ['d', 5]];
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(q, { durable: false });
      await publish(q, messages);
      assert.deepEqual((await getAll(ch, q)).map(body), ['a', 'b', 'c', 'd']);
      await ch.deleteQueue(q);
    });
  });

  test('x-max-priority of any AMQP integer type works; 0 is a plain queue; other values are 406', async () => {
    const cases: [unknown, boolean][] = [
      [{ '!': 'byte', value: 3 }, true], [{ '!': 'short', value: 3 }, true], [{ '!': 'long', value: 3 }, true],
      [{ '!': 'unsignedbyte', value: 3 }, true], [{ '!': 'unsignedshort', value: 3 }, true], [{ '!': 'unsignedint', value: 3 }, true],
      [3, true], [255, true], [0, false],
    ];
    await withConn(async (conn) => {
      const ch = await channel(conn);
      for (const [value, isPriority] of cases) {
        const q = qname('prio-arg');
        await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': value } });
        await publish(q, [['low', 0], ['high', 3]]);
        const got = (await getAll(ch, q)).map(body);
        assert.deepEqual(got, isPriority ? ['high', 'low'] : ['low', 'high'], `x-max-priority ${JSON.stringify(value)}`);
        await ch.deleteQueue(q);
      }
      for (const value of [{ '!': 'double', value: 3.5 }, 256, '3', -1]) {
        const bad = await channel(conn);
        const failed = nextError(bad);
        await assert.rejects(bad.assertQueue(qname('prio-bad'), { durable: false, arguments: { 'x-max-priority': value } }));
        const err = await failed;
        assert.equal(err.code, 406, `x-max-priority ${JSON.stringify(value)}`);
        assert.match(err.message, /invalid arg 'x-max-priority'/);
      }
    });
  });
});
