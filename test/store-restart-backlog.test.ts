/**
 * The message store with backlogs far over a queue's memory budget (tiny budgets and segments, so
 * nearly everything goes through segment files): durable backlogs across a restart, segment files
 * freed by acks, purge of a backlog on disk, and paging of non-durable queues. Through amqplib.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Channel, Message } from 'amqplib';
import { startTestBroker, waitFor } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { body, clientHelpers, count, qname } from './helpers/amqp-client.js';

const STORE = { segmentBytes: 64 * 1024, queueMemoryMessages: 50 };
/**
 * Non-durable queues page past their own allowance only once all of them together pass the
 * broker's paging threshold (a share of the memory watermark): 0 makes them page right away.
 */
const PAGING = { ...STORE, pagingThreshold: 0 };

let broker: TestBroker;
const { confirmChannel, channel, withConn } = clientHelpers(() => broker.url);

/** Body of message i: its number first (to check order), padded to about 100 bytes. */
const payload = (i: number): Buffer => Buffer.from(`${String(i).padStart(8, '0')}:${'x'.repeat(91)}`);
const indexOf = (m: Message): number => Number(body(m).slice(0, 8));

async function publishBacklog(q: string, n: number, persistent: boolean): Promise<void> {
  await withConn(async (conn) => {
    const ch = await confirmChannel(conn);
    for (let i = 0; i < n; i++) ch.sendToQueue(q, payload(i), { persistent });
    await ch.waitForConfirms();
  });
}

/**
 * Consumes `n` messages with manual acks (each acked on arrival) and checks they are 0..n-1 in
 * order and not redelivered; resolves after a round trip, so every ack was processed.
 */
async function drainInOrder(ch: Channel, q: string, n: number, prefetch = 100): Promise<void> {
  await ch.prefetch(prefetch);
  let next = 0;
  let failure: Error | undefined;
  const { consumerTag } = await ch.consume(q, (m) => {
    if (!m) return;
    if (!failure && (indexOf(m) !== next || m.fields.redelivered)) {
      failure = new Error(`message ${next}: got ${indexOf(m)} (redelivered ${m.fields.redelivered})`);
    }
    next++;
    ch.ack(m);
  });
  await waitFor(() => next >= n || failure !== undefined, 15_000, `${n} messages from ${q} (got ${next})`);
  if (failure) throw failure;
  await ch.cancel(consumerTag);
  await ch.checkQueue(q);
  assert.equal(next, n, 'no message more than published');
}

const segmentFiles = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('msgs.')) : []);

describe('durable backlogs over the memory budget', () => {
  before(async () => {
    broker = await startTestBroker(STORE);
  });
  after(async () => {
    await broker.stop();
  });

  test('a 20k-message backlog survives a restart, drains in order, and acked segments are deleted', async () => {
    const q = qname('backlog');
    const N = 20_000;
    await withConn(async (conn) => {
      await (await channel(conn)).assertQueue(q, { durable: true });
    });
    await publishBacklog(q, N, true);
    const dir = broker.warren.broker.messages.queueDir('/', q);
    const before = segmentFiles(dir).length;
    assert.ok(before >= 20, `the backlog spans many 64 KiB segments (${before})`);

    broker = await broker.restart();
    await withConn(async (conn) => {
      const ch = await channel(conn);
      assert.equal(await count(ch, q), N);
      await drainInOrder(ch, q, N);
      assert.equal(await count(ch, q), 0);
      const left = segmentFiles(dir);
      assert.ok(left.length <= 2, `acked segments are deleted (left: ${left.join(', ')})`);
    });
    // Nothing comes back after the drain.
    broker = await broker.restart();
    await withConn(async (conn) => {
      const ch = await channel(conn);
      assert.equal(await count(ch, q), 0);
      await ch.deleteQueue(q);
    });
  });

  test('purging a backlog that is mostly on disk is durable, before and right after a restart', async () => {
    const q = qname('purge-disk');
    const purge = async (n: number): Promise<void> => withConn(async (conn) => {
      assert.equal((await (await channel(conn)).purgeQueue(q)).messageCount, n);
    });
    await withConn(async (conn) => {
      await (await channel(conn)).assertQueue(q, { durable: true });
    });
    await publishBacklog(q, 3000, true);
    await purge(3000);
    await publishBacklog(q, 2000, true);
    broker = await broker.restart();
    await purge(2000); // all of it recovered on disk, none read yet
    await publishBacklog(q, 120, true);
    broker = await broker.restart();
    await withConn(async (conn) => {
      const ch = await channel(conn);
      assert.equal(await count(ch, q), 120);
      await drainInOrder(ch, q, 120);
      await ch.deleteQueue(q);
    });
  });

  test('after a restart, records already done (transient, acked) are never read again once new messages follow', async () => {
    const q = qname('done-tail');
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertQueue(q, { durable: true });
      ch.sendToQueue(q, payload(0), { persistent: true });
      for (let i = 0; i < 80; i++) ch.sendToQueue(q, Buffer.from('transient'), { persistent: false });
      await ch.waitForConfirms();
    });
    broker = await broker.restart();
    await withConn(async (conn) => {
      // The one live record goes out (and stays unacked, so its segment stays): the reader is now
      // in front of the 80 done records. New messages follow in a new segment, past the budget.
      const held = await channel(conn);
      const first = await held.get(q);
      assert.ok(first && indexOf(first) === 0 && !first.fields.redelivered);
      await publishBacklog(q, 500, true);
      const ch = await channel(conn);
      assert.equal(await count(ch, q), 500);
      await drainInOrder(ch, q, 500);
      assert.equal(await count(ch, q), 0);
      held.ack(first);
      await held.checkQueue(q);
    });
    broker = await broker.restart();
    await withConn(async (conn) => {
      const ch = await channel(conn);
      assert.equal(await count(ch, q), 0, 'everything was acked');
      await ch.deleteQueue(q);
    });
  });

  test('a restart mid-drain: unsettled head messages come back first, redelivered; acked and dropped ones do not', async () => {
    const q = qname('mid-drain');
    await withConn(async (conn) => {
      await (await channel(conn)).assertQueue(q, { durable: true });
    });
    await publishBacklog(q, 3000, true);
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.prefetch(400);
      const got: Message[] = [];
      const { consumerTag } = await ch.consume(q, (m) => { if (m) got.push(m); });
      await waitFor(() => got.length === 400, 5000, '400 deliveries');
      await ch.cancel(consumerTag);
      // Of the first 400 (several segments): every third acked, every third dropped, the rest left unacked.
      got.forEach((m, i) => {
        if (i % 3 === 0) ch.ack(m);
        else if (i % 3 === 1) ch.nack(m, false, false);
      });
      await ch.checkQueue(q);
    });
    broker = await broker.restart();
    const expected = [...Array.from({ length: 400 }, (_, i) => i).filter((i) => i % 3 === 2),
      ...Array.from({ length: 2600 }, (_, i) => i + 400)];
    await withConn(async (conn) => {
      const ch = await channel(conn);
      assert.equal(await count(ch, q), expected.length);
      await ch.prefetch(200);
      const seen: [number, boolean][] = [];
      await ch.consume(q, (m) => {
        if (!m) return;
        seen.push([indexOf(m), m.fields.redelivered]);
        ch.ack(m);
      });
      await waitFor(() => seen.length >= expected.length, 10_000, 'the whole queue');
      await ch.checkQueue(q);
      assert.deepEqual(seen, expected.map((i) => [i, i < 400]));
      await ch.deleteQueue(q);
    });
  });

  test('records bigger than a segment survive a restart byte-exact among small ones', async () => {
    const q = qname('big');
    const bodies = [payload(0), randomBytes(200 * 1024), payload(2), randomBytes(64 * 1024), randomBytes(1024 * 1024), payload(5)];
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertQueue(q, { durable: true });
      for (const b of bodies) ch.sendToQueue(q, b, { persistent: true });
      await ch.waitForConfirms();
    });
    broker = await broker.restart();
    await withConn(async (conn) => {
      const ch = await channel(conn);
      for (let i = 0; i < bodies.length; i++) {
        const m = await ch.get(q, { noAck: true });
        assert.ok(m && m.content.equals(bodies[i]!), `message ${i} (${bodies[i]!.length} bytes) byte-exact`);
      }
      assert.equal(await count(ch, q), 0);
      await ch.deleteQueue(q);
    });
  });
});

describe('non-durable queues page to disk', () => {
  test('a backlog over the budget is delivered in order, and the paging directory goes when the broker stops', async () => {
    broker = await startTestBroker(PAGING);
    const pagingRoot = join(broker.dataDir, 'paging');
    try {
      const q = qname('paged');
      await withConn(async (conn) => {
        await (await channel(conn)).assertQueue(q, { durable: false });
      });
      await publishBacklog(q, 5000, true); // persistent or not: a non-durable queue only pages
      const pages = readdirSync(pagingRoot).map((d) => join(pagingRoot, d));
      assert.equal(pages.length, 1, 'one paging directory, for the one queue');
      assert.ok(segmentFiles(pages[0]!).length >= 5, 'the backlog is paged out to segment files');
      assert.equal(existsSync(broker.warren.broker.messages.queueDir('/', q)), false, 'no durable directory');
      await withConn(async (conn) => {
        const ch = await channel(conn);
        assert.equal(await count(ch, q), 5000);
        await drainInOrder(ch, q, 5000);
      });
      assert.ok(segmentFiles(pages[0]!).length <= 2, 'consumed pages are deleted');

      // A second backlog left in the queue: stopping removes its pages.
      const q2 = qname('paged-left');
      await withConn(async (conn) => {
        await (await channel(conn)).assertQueue(q2, { durable: false });
      });
      await publishBacklog(q2, 2000, false);
      const left = readdirSync(pagingRoot).map((d) => join(pagingRoot, d)).filter((d) => segmentFiles(d).length > 0);
      assert.ok(left.length >= 1);
      // An exclusive queue's pages go with its connection.
      await withConn(async (conn) => {
        const ch = await confirmChannel(conn);
        const ex = (await ch.assertQueue('', { exclusive: true, durable: true })).queue;
        for (let i = 0; i < 1000; i++) ch.sendToQueue(ex, payload(i), { persistent: true });
        await ch.waitForConfirms();
        const before = new Set(left);
        const mine = readdirSync(pagingRoot).map((d) => join(pagingRoot, d)).filter((d) => !before.has(d) && !pages.includes(d));
        assert.equal(mine.length, 1);
        assert.ok(segmentFiles(mine[0]!).length > 0, 'the exclusive queue pages too');
        left.push(mine[0]!);
      });
      await waitFor(() => !existsSync(left.at(-1)!), 2000, 'exclusive queue pages removed at connection close');
      await broker.warren.stop();
      for (const d of [...pages, ...left]) assert.equal(existsSync(d), false, `${d} is removed at stop`);
    } finally {
      await broker.warren.stop();
      rmSync(broker.dataDir, { recursive: true, force: true });
    }
  });
});
