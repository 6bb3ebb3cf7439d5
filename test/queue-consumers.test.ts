/**
 * Consumer-side queue features through amqplib, against RabbitMQ 3.13 classic queues:
 * - consumer priorities (x-priority): the highest-priority consumer with prefetch room gets every
 *   message, lower ones only while it is full; equal priorities round-robin; typed and invalid values;
 * - single active consumer: only the first consumer receives (a higher priority does not take over);
 *   after it cancels, and separately after its channel closes, the next one takes over and gets
 *   the first one's unacked messages back in order; exclusive consume refused; basic.get allowed;
 * - consumer timeout (broker-wide and x-consumer-timeout): an unacked delivery closes the channel
 *   with 406 and RabbitMQ's text, the message goes to another consumer; prompt acks never trigger it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel, ConsumeMessage } from 'amqplib';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { clientHelpers, closeQuietly, nextError, sleep, within } from './helpers/amqp-client.js';
import {
  ACCESS_REFUSED, PRECONDITION_FAILED, bodies, collect, expectChannelClose, queue, waitLength,
} from './helpers/queue-features.js';

let broker: TestBroker;
/** A broker whose consumer timeout is 300 ms (RabbitMQ's default is 30 minutes). */
let fast: TestBroker;
before(async () => {
  broker = await startTestBroker();
  fast = await startTestBroker({ consumerTimeout: 300 });
});
after(async () => {
  await broker.stop();
  await fast.stop();
});

const { channel, withConn } = clientHelpers(() => broker.url);
const fastClient = clientHelpers(() => fast.url);

const publish = (ch: Channel, q: string, names: string[]): void => {
  for (const n of names) ch.sendToQueue(q, Buffer.from(n));
};
const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

/** A round trip on `ch` plus a grace period: deliveries in flight have arrived. */
async function settle(ch: Channel, q: string): Promise<void> {
  await ch.checkQueue(q);
  await sleep(50);
}

describe('consumer priorities (x-priority)', () => {
  test('the high-priority consumer gets everything while it has prefetch room; the low one gets the rest', async () => {
    await withConn(async (conn) => {
      const lowCh = await channel(conn);
      const highCh = await channel(conn);
      const q = await queue(lowCh, 'prio');
      const low = await collect(lowCh, q, { arguments: { 'x-priority': 0 } });
      await highCh.prefetch(3);
      const high = await collect(highCh, q, { arguments: { 'x-priority': 10 } });
      publish(lowCh, q, range(1, 10));
      await waitLength(low.got, 7);
      await settle(lowCh, q);
      assert.deepEqual(bodies(high.got), range(1, 3), 'high first, up to its prefetch');
      assert.deepEqual(bodies(low.got), range(4, 10), 'low only while high is full');
      highCh.ackAll();
      await settle(highCh, q);
      publish(lowCh, q, range(11, 13));
      await waitLength(high.got, 6);
      await settle(lowCh, q);
      assert.deepEqual(bodies(high.got).slice(3), range(11, 13), 'room again: high gets the new ones');
      assert.equal(low.got.length, 7);
    });
  });

  test('an auto-ack high-priority consumer gets every message; equal priorities round-robin; negative is below default', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'prio-rr');
      const neg = await collect(ch, q, { noAck: true, arguments: { 'x-priority': -5 } });
      const def = await collect(ch, q, { noAck: true });
      publish(ch, q, range(1, 10));
      await waitLength(def.got, 10);
      await settle(ch, q);
      assert.equal(neg.got.length, 0, 'priority -5 gets nothing while a default (0) consumer can take');
      const a = await collect(ch, q, { noAck: true, arguments: { 'x-priority': { '!': 'long', value: 7 } } });
      const b = await collect(ch, q, { noAck: true, arguments: { 'x-priority': { '!': 'unsignedbyte', value: 7 } } });
      publish(ch, q, range(11, 20));
      await waitLength(b.got, 5);
      await settle(ch, q);
      assert.deepEqual([a.got.length, b.got.length, def.got.length, neg.got.length], [5, 5, 10, 0]);
    });
  });

  test('a non-integer x-priority closes the channel with 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'prio-bad');
      await expectChannelClose(conn, (c) => c.consume(q, () => {}, { arguments: { 'x-priority': 'high' } }), PRECONDITION_FAILED,
        `PRECONDITION_FAILED - invalid arg 'x-priority' for queue '${q}' in vhost '/': "expected integer, got longstr"`);
    });
  });
});

describe('single active consumer', () => {
  const sac = { 'x-single-active-consumer': true };

  test('only the first consumer receives, even when a later one has a higher priority', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'sac', sac);
      const first = await collect(ch, q, { noAck: true });
      const second = await collect(ch, q, { noAck: true, arguments: { 'x-priority': 10 } });
      publish(ch, q, range(1, 10));
      await waitLength(first.got, 10);
      await settle(ch, q);
      assert.equal(second.got.length, 0);
      assert.equal((await ch.checkQueue(q)).consumerCount, 2);
    });
  });

  test('after the active consumer cancels, the next takes over; the unacked it nacks come back in order', async () => {
    await withConn(async (conn) => {
      const aCh = await channel(conn);
      const bCh = await channel(conn);
      const q = await queue(aCh, 'sac-cancel', sac);
      const a = await collect(aCh, q);
      const b = await collect(bCh, q);
      publish(aCh, q, range(1, 3));
      await waitLength(a.got, 3);
      await aCh.cancel(a.tag);
      publish(aCh, q, ['m4']);
      await waitLength(b.got, 1);
      assert.equal(bodies(b.got)[0], 'm4', 'the next consumer is active');
      aCh.nackAll(true);
      await waitLength(b.got, 4);
      assert.deepEqual(bodies(b.got), ['m4', 'm1', 'm2', 'm3']);
      assert.deepEqual(b.got.slice(1).map((m) => m.fields.redelivered), [true, true, true]);
    });
  });

  test('after the active consumer\'s channel closes, the next gets its unacked messages first, in order', async () => {
    await withConn(async (conn) => {
      const aCh = await channel(conn);
      const bCh = await channel(conn);
      const q = await queue(aCh, 'sac-close', sac);
      await aCh.prefetch(2);
      const a = await collect(aCh, q);
      const b = await collect(bCh, q);
      publish(bCh, q, range(1, 5));
      await waitLength(a.got, 2);
      await settle(bCh, q);
      assert.equal(b.got.length, 0);
      await aCh.close();
      await waitLength(b.got, 5);
      assert.deepEqual(bodies(b.got), range(1, 5), 'RabbitMQ requeues the channel\'s unacked before the next consumer runs');
      assert.deepEqual(b.got.map((m) => m.fields.redelivered), [true, true, false, false, false]);
    });
  });

  test('an exclusive consume on a single-active-consumer queue is refused with 403', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'sac-excl', sac);
      await expectChannelClose(conn, (c) => c.consume(q, () => {}, { exclusive: true }), ACCESS_REFUSED,
        `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`, 1000);
    });
  });

  test('basic.get works on a single-active-consumer queue', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'sac-get', sac);
      publish(ch, q, ['x']);
      await settle(ch, q);
      const m = await ch.get(q, { noAck: true });
      assert.ok(m && m.content.toString() === 'x');
    });
  });
});

describe('consumer timeout', () => {
  const timeoutText = (channelId: number, ms: number) =>
    `PRECONDITION_FAILED - delivery acknowledgement on channel ${channelId} timed out. Timeout value used: ${ms} ms. This timeout value can be configured, see consumers doc guide to learn more`;

  test('an unacked delivery closes the channel with 406; the message is requeued to another consumer', async () => {
    const c1 = await fastClient.connect();
    const c2 = await fastClient.connect();
    try {
      const ch = await fastClient.channel(c1);
      const q = await queue(ch, 'timeout');
      const errored = nextError(ch, 3000);
      const t0 = Date.now();
      const mine = await collect(ch, q);
      publish(ch, q, ['slow']);
      const err = await errored;
      const elapsed = Date.now() - t0;
      assert.equal(err.code, PRECONDITION_FAILED);
      assert.ok(err.message.includes(timeoutText(1, 300)), err.message);
      assert.ok(elapsed >= 290, `closed after ${elapsed} ms, not before the 300 ms timeout`);
      assert.equal(mine.got.length, 1);
      const other = await fastClient.channel(c2);
      const next = await collect(other, q);
      await waitLength(next.got, 1);
      assert.equal(next.got[0]!.content.toString(), 'slow');
      assert.equal(next.got[0]!.fields.redelivered, true);
      other.ack(next.got[0]!);
    } finally {
      await closeQuietly(c1);
      await closeQuietly(c2);
    }
  });

  test('basic.get with ack is timed out too', async () => {
    const conn = await fastClient.connect();
    try {
      const ch = await fastClient.channel(conn);
      const q = await queue(ch, 'timeout-get');
      publish(ch, q, ['g']);
      await settle(ch, q);
      const errored = nextError(ch, 3000);
      assert.ok(await ch.get(q));
      const err = await errored;
      assert.ok(err.message.includes(timeoutText(1, 300)), err.message);
    } finally {
      await closeQuietly(conn);
    }
  });

  test('x-consumer-timeout overrides the broker value, shorter or longer', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn); // broker default: 30 minutes
      const q = await queue(ch, 'timeout-arg', { 'x-consumer-timeout': 150 });
      const errored = nextError(ch, 3000);
      await collect(ch, q);
      publish(ch, q, ['x']);
      const err = await errored;
      assert.ok(err.message.includes(timeoutText(1, 150)), err.message);
    });
    const conn = await fastClient.connect();
    try {
      const ch = await fastClient.channel(conn);
      const q = await queue(ch, 'timeout-long', { 'x-consumer-timeout': 5000 });
      const errored = nextError(ch, 800);
      errored.catch(() => {});
      const { got } = await collect(ch, q);
      publish(ch, q, ['x']);
      await waitLength(got, 1);
      assert.equal(await within(errored.then(() => 'closed', () => 'open'), 1500), 'open', 'no close within 800 ms (the queue says 5 s)');
    } finally {
      await closeQuietly(conn);
    }
  });

  test('prompt acks never trigger the timeout', async () => {
    const conn = await fastClient.connect();
    try {
      const ch = await fastClient.channel(conn);
      const q = await queue(ch, 'timeout-acked');
      let errored = false;
      ch.on('error', () => { errored = true; });
      const got: ConsumeMessage[] = [];
      await ch.consume(q, (m) => { if (m) { got.push(m); ch.ack(m); } });
      for (let i = 0; i < 16; i++) {
        publish(ch, q, [`m${i}`]);
        await sleep(50);
      }
      await sleep(400);
      assert.equal(errored, false);
      assert.equal(got.length, 16);
      assert.equal((await ch.checkQueue(q)).messageCount, 0, 'the channel is still open');
    } finally {
      await closeQuietly(conn);
    }
  });
});

