/**
 * Queue length limits through amqplib, against RabbitMQ's classic-queue behaviour:
 * - x-max-length with drop-head (the default) keeps the newest N ready messages and dead-letters
 *   the dropped ones (reason maxlen); unacked messages do not count; a requeue also enforces it;
 *   x-max-length 0 still reaches a waiting consumer;
 * - x-max-length-bytes counts body bytes only;
 * - reject-publish: the queue keeps the oldest, a confirming publisher gets basic.nack for refused
 *   publishes and basic.ack for the others, in order; not returned even when mandatory; a fanout
 *   publish is nacked when any queue refuses it; max-length 0 refuses even with a waiting consumer;
 * - reject-publish-dlx: nacked and dead-lettered (maxlen);
 * - interplay: TTL + dead-lettering + max-length on one queue.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel, ConfirmChannel } from 'amqplib';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { clientHelpers, count, getOrFail, qname, sleep, waitForCount } from './helpers/amqp-client.js';
import {
  assertDeath, bodies, collect, dlxWithQueue, queue, typedGet, waitLength, xDeath,
} from './helpers/queue-features.js';

let broker: TestBroker;
before(async () => { broker = await startTestBroker(); });
after(async () => { await broker.stop(); });

const { channel, confirmChannel, withConn } = clientHelpers(() => broker.url);

/** Every ready message of `q`, in order, fetched with no-ack. */
async function drainBodies(ch: Channel, q: string): Promise<string[]> {
  const out: string[] = [];
  for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) out.push(m.content.toString());
  return out;
}

/** Publishes `names` on a confirm channel; returns each publish's outcome and the confirm frames in arrival order. */
async function publishConfirmed(ch: ConfirmChannel, q: string, names: string[], options = {}): Promise<{ outcome: string[]; frames: string[] }> {
  const frames: string[] = [];
  const onAck = (f: { deliveryTag: number; multiple: boolean }) => frames.push(`ack ${f.deliveryTag}${f.multiple ? '+' : ''}`);
  const onNack = (f: { deliveryTag: number; multiple: boolean }) => frames.push(`nack ${f.deliveryTag}${f.multiple ? '+' : ''}`);
  ch.on('ack', onAck);
  ch.on('nack', onNack);
  const outcome: string[] = [];
  const done = names.map((n, i) => new Promise<void>((resolve) => {
    ch.sendToQueue(q, Buffer.from(n), options, (err) => { outcome[i] = err ? 'nack' : 'ack'; resolve(); });
  }));
  await Promise.all(done);
  ch.off('ack', onAck);
  ch.off('nack', onNack);
  return { outcome, frames };
}

describe('drop-head (default overflow)', () => {
  test('keeps the newest N; the dropped ones are dead-lettered oldest first with reason maxlen', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const [dlx, dq] = await dlxWithQueue(ch, 'drop');
      const q = await queue(ch, 'drop', { 'x-max-length': 3, 'x-dead-letter-exchange': dlx });
      for (let i = 1; i <= 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
      await waitForCount(ch, dq, 2, 1000);
      assert.equal(await count(ch, q), 3);
      const first = (await typedGet(broker.port, dq))!;
      assert.equal(first.body, 'm1');
      assertDeath(xDeath(first)[0]!, { count: 1, reason: 'maxlen', queue: q, exchange: '', routingKeys: [q] });
      assert.equal(first.headers['x-first-death-reason'], 'maxlen');
      assert.equal((await typedGet(broker.port, dq))!.body, 'm2');
      assert.deepEqual(await drainBodies(ch, q), ['m3', 'm4', 'm5']);
    });
  });

  test('unacked messages do not count against the limit', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'drop-unacked', { 'x-max-length': 2 });
      await ch.prefetch(2);
      const { got, tag } = await collect(ch, q);
      for (let i = 1; i <= 6; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
      await waitLength(got, 2);
      await waitForCount(ch, q, 2, 1000);
      await ch.cancel(tag);
      assert.deepEqual(bodies(got), ['m1', 'm2'], 'two out for delivery');
      assert.deepEqual(await drainBodies(ch, q), ['m5', 'm6'], 'and two ready: the newest');
    });
  });

  // Broker bug: Queue.returnEntry/requeue (queue.ts) never calls #enforceLengthLimit; RabbitMQ's
  // requeue_and_run calls maybe_drop_head after every requeue.
  test('a requeue past the limit drops from the head', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const [dlx, dq] = await dlxWithQueue(ch, 'drop-requeue');
      const q = await queue(ch, 'drop-requeue', { 'x-max-length': 2, 'x-dead-letter-exchange': dlx });
      for (const b of ['a', 'b']) ch.sendToQueue(q, Buffer.from(b));
      const a = await getOrFail(ch, q);
      ch.sendToQueue(q, Buffer.from('c'));
      await waitForCount(ch, q, 2, 1000);
      ch.nack(a, false, true); // back at the head: 3 ready, one over the limit
      await waitForCount(ch, q, 2, 1000);
      assert.equal((await typedGet(broker.port, dq))?.body, 'a', 'the requeued head was dropped and dead-lettered');
      assert.deepEqual(await drainBodies(ch, q), ['b', 'c']);
    });
  });

  test('x-max-length 0: a waiting consumer still gets messages; without one they are dropped', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'drop-zero', { 'x-max-length': 0 });
      ch.sendToQueue(q, Buffer.from('lost'));
      await waitForCount(ch, q, 0, 1000);
      const { got } = await collect(ch, q, { noAck: true });
      for (let i = 0; i < 20; i++) ch.sendToQueue(q, Buffer.from(String(i)));
      await waitLength(got, 20);
      assert.deepEqual(bodies(got), Array.from({ length: 20 }, (_, i) => String(i)));
    });
  });

  test('x-max-length-bytes counts body bytes only (headers and properties excluded)', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'bytes', { 'x-max-length-bytes': 10 });
      const big = { headers: { pad: 'x'.repeat(1000) }, messageId: 'y'.repeat(200) };
      for (const b of ['aaaa', 'bbbb', 'cccc', 'dddd']) ch.sendToQueue(q, Buffer.from(b), big);
      await waitForCount(ch, q, 2, 1000);
      ch.sendToQueue(q, Buffer.from('ee'));
      ch.sendToQueue(q, Buffer.from(''));
      await sleep(50);
      assert.deepEqual(await drainBodies(ch, q), ['cccc', 'dddd', 'ee', ''], '4 + 4 + 2 + 0 = 10 bytes fit');
    });
  });
});

describe('reject-publish', () => {
  test('the queue keeps the oldest; refused publishes are nacked, the others acked, in order', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = await queue(ch, 'rp', { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
      const { outcome, frames } = await publishConfirmed(ch, q, ['m1', 'm2', 'm3', 'm4']);
      assert.deepEqual(outcome, ['ack', 'ack', 'nack', 'nack']);
      assert.deepEqual(frames.filter((f) => f.startsWith('nack')).map((f) => f.replace('+', '')), ['nack 3', 'nack 4']);
      assert.ok(frames.some((f) => f === 'ack 2+' || f === 'ack 2'), `acks cover 1..2: ${frames.join(', ')}`);
      assert.ok(frames.indexOf('nack 3') > frames.findIndex((f) => f.startsWith('ack 2')), 'confirms in publish order');
      await getOrFail(ch, q, { noAck: true }); // room for one more
      const again = await publishConfirmed(ch, q, ['m5', 'm6']);
      assert.deepEqual(again.outcome, ['ack', 'nack']);
      assert.deepEqual(await drainBodies(ch, q), ['m2', 'm5']);
    });
  });

  test('without confirms refused messages are dropped silently; mandatory does not return them', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await queue(ch, 'rp-silent', { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
      const returned: unknown[] = [];
      ch.on('return', (m) => returned.push(m));
      for (const b of ['a', 'b', 'c']) ch.publish('', q, Buffer.from(b), { mandatory: true });
      await sleep(100);
      assert.equal(returned.length, 0, 'it was routed, so not returned');
      assert.deepEqual(await drainBodies(ch, q), ['a']);
    });
  });

  test('a publish routed to several queues is nacked when any of them refuses (the others still get it)', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const fan = qname('rp-fan');
      await ch.assertExchange(fan, 'fanout', { durable: false });
      const full = await queue(ch, 'rp-full', { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
      const open = await queue(ch, 'rp-open');
      await ch.bindQueue(full, fan, '');
      await ch.bindQueue(open, fan, '');
      const outcome: string[] = [];
      for (const b of ['a', 'b']) {
        await new Promise<void>((resolve) => ch.publish(fan, '', Buffer.from(b), {}, (err) => { outcome.push(err ? 'nack' : 'ack'); resolve(); }));
      }
      assert.deepEqual(outcome, ['ack', 'nack']);
      assert.deepEqual(await drainBodies(ch, open), ['a', 'b']);
      assert.deepEqual(await drainBodies(ch, full), ['a']);
    });
  });

  test('x-max-length 0 refuses every publish, even with a waiting consumer', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = await queue(ch, 'rp-zero', { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
      const { got } = await collect(ch, q, { noAck: true });
      const { outcome } = await publishConfirmed(ch, q, ['a', 'b']);
      assert.deepEqual(outcome, ['nack', 'nack']);
      await sleep(50);
      assert.equal(got.length, 0);
    });
  });

  test('reject-publish-dlx: the refused new message is nacked and dead-lettered (maxlen)', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const [dlx, dq] = await dlxWithQueue(ch, 'rpdlx');
      const q = await queue(ch, 'rpdlx', { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': dlx });
      const { outcome } = await publishConfirmed(ch, q, ['old', 'new1', 'new2']);
      assert.deepEqual(outcome, ['ack', 'nack', 'nack']);
      await waitForCount(ch, dq, 2, 1000);
      const d = (await typedGet(broker.port, dq))!;
      assert.equal(d.body, 'new1');
      assertDeath(xDeath(d)[0]!, { count: 1, reason: 'maxlen', queue: q, exchange: '', routingKeys: [q] });
      assert.equal((await typedGet(broker.port, dq))!.body, 'new2');
      assert.deepEqual(await drainBodies(ch, q), ['old'], 'the queue keeps the oldest');
    });
  });
});

describe('TTL + dead-lettering + max-length on one queue', () => {
  test('drop-head dead-letters the overflow as maxlen, the rest later as expired, in order', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const [dlx, dq] = await dlxWithQueue(ch, 'mix');
      const q = await queue(ch, 'mix', { 'x-message-ttl': 200, 'x-max-length': 2, 'x-dead-letter-exchange': dlx });
      for (let i = 1; i <= 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
      await waitForCount(ch, dq, 2, 1000);
      assert.equal(await count(ch, q), 2, 'two kept until they expire');
      await waitForCount(ch, dq, 4, 1500);
      assert.equal(await count(ch, q), 0);
      const got: [string, unknown][] = [];
      for (let i = 0; i < 4; i++) {
        const m = (await typedGet(broker.port, dq))!;
        got.push([m.body, xDeath(m)[0]!['reason']]);
        assert.equal(xDeath(m).length, 1);
      }
      assert.deepEqual(got, [['m1', 'maxlen'], ['m2', 'maxlen'], ['m3', 'expired'], ['m4', 'expired']]);
    });
  });

  test('reject-publish-dlx with a TTL: room comes back as messages expire', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const [dlx, dq] = await dlxWithQueue(ch, 'mix2');
      const q = await queue(ch, 'mix2', { 'x-message-ttl': 150, 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': dlx });
      assert.deepEqual((await publishConfirmed(ch, q, ['a', 'b'])).outcome, ['ack', 'nack']);
      await waitForCount(ch, q, 0, 1000); // a expired
      assert.deepEqual((await publishConfirmed(ch, q, ['c'])).outcome, ['ack']);
      await waitForCount(ch, dq, 2, 1000);
      const reasons = [];
      for (let i = 0; i < 2; i++) {
        const m = (await typedGet(broker.port, dq))!;
        reasons.push(`${m.body}:${String(xDeath(m)[0]!['reason'])}`);
      }
      assert.deepEqual(reasons, ['b:maxlen', 'a:expired']);
    });
  });
});
