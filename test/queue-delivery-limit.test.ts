/**
 * x-delivery-limit (RabbitMQ's quorum-queue poison-message handling, which Warren offers on its
 * queues) through amqplib:
 * - a limit of N allows N+1 deliveries: no x-delivery-count header on the first, 1..N (a long) after,
 *   redelivered set on the returns; the next return dead-letters it with reason delivery_limit;
 * - without a DLX it is dropped; a limit of 0 kills it on the first return;
 * - returns by nack/reject requeue, by nack multiple and by channel close all count; ack and
 *   reject without requeue do not (the latter dead-letters as rejected).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumeMessage } from 'amqplib';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { clientHelpers, count, getOrFail, sleep, waitForCount } from './helpers/amqp-client.js';
import {
  assertDeath, collect, dlxWithQueue, queue, typedGet, waitLength, xDeath,
} from './helpers/queue-features.js';

let broker: TestBroker;
before(async () => { broker = await startTestBroker(); });
after(async () => { await broker.stop(); });

const { channel, withConn } = clientHelpers(() => broker.url);

const deliveryCount = (m: ConsumeMessage): unknown => m.properties.headers?.['x-delivery-count'];

describe('x-delivery-limit', () => {
  test('limit N: N+1 deliveries (x-delivery-count absent, then 1..N), then dead-lettered as delivery_limit', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const [dlx, dq] = await dlxWithQueue(ch, 'dl');
      const q = await queue(ch, 'dl', { 'x-delivery-limit': 3, 'x-dead-letter-exchange': dlx });
      const seen: ConsumeMessage[] = [];
      await ch.consume(q, (m) => { if (m) { seen.push(m); ch.nack(m, false, true); } });
      const from = Date.now();
      ch.sendToQueue(q, Buffer.from('poison'), { messageId: 'p1' });
      await waitForCount(ch, dq, 1, 2000);
      await sleep(50);
      assert.equal(seen.length, 4, 'delivered 1 + 3 times');
      assert.deepEqual(seen.map(deliveryCount), [undefined, 1, 2, 3]);
      assert.deepEqual(seen.map((m) => m.fields.redelivered), [false, true, true, true]);
      assert.equal(await count(ch, q), 0);
      const d = (await typedGet(broker.port, dq))!;
      assert.equal(d.body, 'poison');
      assert.equal(d.properties.messageId, 'p1');
      const deaths = xDeath(d);
      assert.equal(deaths.length, 1);
      assertDeath(deaths[0]!, { count: 1, reason: 'delivery_limit', queue: q, exchange: '', routingKeys: [q], from, to: Date.now() });
      assert.equal(d.headers['x-first-death-reason'], 'delivery_limit');
      assert.equal(d.headers['x-first-death-queue'], q);
    });
  });

  test('x-delivery-count is a long, also on basic.get', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'dl-type', { 'x-delivery-limit': 5 });
      ch.sendToQueue(q, Buffer.from('x'));
      const first = await getOrFail(ch, q);
      assert.equal(first.properties.headers?.['x-delivery-count'], undefined);
      ch.reject(first, true);
      await waitForCount(ch, q, 1);
      const again = (await typedGet(broker.port, q))!;
      assert.equal(again.headers['x-delivery-count'], 1n);
      assert.equal(again.redelivered, true);
    });
  });

  test('without a DLX the message is dropped after the limit; a limit of 0 kills it on the first return', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'dl-drop', { 'x-delivery-limit': 1 });
      ch.sendToQueue(q, Buffer.from('x'));
      let deliveries = 0;
      for (;;) {
        const m = await ch.get(q);
        if (!m) break;
        deliveries++;
        ch.nack(m, false, true);
        await ch.checkQueue(q); // the nack is processed
      }
      assert.equal(deliveries, 2);
      assert.equal(await count(ch, q), 0);

      const zero = await queue(ch, 'dl-zero', { 'x-delivery-limit': 0 });
      ch.sendToQueue(zero, Buffer.from('y'));
      const m = await getOrFail(ch, zero);
      ch.nack(m, false, true);
      await waitForCount(ch, zero, 0);
      assert.equal(await ch.get(zero), false);
    });
  });

  test('a channel close returns unacked messages and counts as a return', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const [dlx, dq] = await dlxWithQueue(ch, 'dl-close');
      const q = await queue(ch, 'dl-close', { 'x-delivery-limit': 1, 'x-dead-letter-exchange': dlx });
      ch.sendToQueue(q, Buffer.from('a'));
      ch.sendToQueue(q, Buffer.from('b'));
      const counts: unknown[][] = [];
      for (let round = 0; round < 2; round++) {
        const c = await channel(conn);
        const { got } = await collect(c, q);
        await waitLength(got, 2);
        counts.push(got.map(deliveryCount));
        await c.close();
      }
      assert.deepEqual(counts, [[undefined, undefined], [1, 1]]);
      await waitForCount(ch, dq, 2, 2000);
      assert.equal(await count(ch, q), 0);
      const d = (await typedGet(broker.port, dq))!;
      assert.equal(d.body, 'a');
      assert.equal(xDeath(d)[0]!['reason'], 'delivery_limit');
    });
  });

  test('nack multiple counts once per message; ack and reject without requeue do not count', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const [dlx, dq] = await dlxWithQueue(ch, 'dl-multi');
      const q = await queue(ch, 'dl-multi', { 'x-delivery-limit': 1, 'x-dead-letter-exchange': dlx });
      for (const b of ['a', 'b', 'c']) ch.sendToQueue(q, Buffer.from(b));
      await getOrFail(ch, q);
      await getOrFail(ch, q);
      const c = await getOrFail(ch, q);
      ch.nack(c, true, true); // all three come back once
      await waitForCount(ch, q, 3);
      const a2 = await getOrFail(ch, q);
      assert.equal(a2.properties.headers?.['x-delivery-count'], 1);
      ch.ack(a2);
      const b2 = await getOrFail(ch, q);
      ch.reject(b2, false);
      const c2 = await getOrFail(ch, q);
      assert.equal(c2.content.toString(), 'c');
      ch.nack(c2, false, true); // second return: over the limit
      await waitForCount(ch, dq, 2, 2000);
      const reasons: string[] = [];
      for (let i = 0; i < 2; i++) {
        const d = (await typedGet(broker.port, dq))!;
        reasons.push(`${d.body}:${String(xDeath(d)[0]!['reason'])}`);
      }
      assert.deepEqual(reasons, ['b:rejected', 'c:delivery_limit']);
      assert.equal(await count(ch, q), 0);
    });
  });
});
