/**
 * Per-queue message deduplication (x-message-deduplication, after the rabbitmq-message-deduplication
 * plugin) through an unmodified client (amqplib): keys from the x-deduplication-header header or
 * message_id, a window (x-cache-ttl), a size (x-cache-size), "while in the queue" without either,
 * confirms for dropped duplicates, durable keys across a restart, and argument validation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Channel, ConfirmChannel, Options } from 'amqplib';
import { DefinitionsStore } from '../src/store/definitions-store.js';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { body, clientHelpers, count, getOrFail, nextError, qname, sleep } from './helpers/amqp-client.js';

let broker: TestBroker;

before(async () => {
  broker = await startTestBroker();
});

after(async () => {
  await broker.stop();
});

const { channel, confirmChannel, withConn } = clientHelpers(() => broker.url);

const DEDUP = { 'x-message-deduplication': true };
const byHeader = (key: string | number, extra: Options.Publish = {}): Options.Publish =>
  ({ ...extra, headers: { ...extra.headers, 'x-deduplication-header': key } });

/** Publishes on a confirm channel and waits for every confirm (rejects on a nack). */
async function publishConfirmed(ch: ConfirmChannel, queue: string, items: [string, Options.Publish][]): Promise<void> {
  for (const [b, options] of items) ch.sendToQueue(queue, Buffer.from(b), options);
  await ch.waitForConfirms();
}

async function bodies(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) out.push(body(m));
  return out;
}

describe('queue deduplication', () => {
  test('duplicates by header and by message_id are enqueued once; different keys and keyless messages all are', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = qname('dedup-keys');
      await ch.assertQueue(q, { durable: false, arguments: DEDUP });
      await publishConfirmed(ch, q, [
        ['h1', byHeader('order-1')], ['h1-again', byHeader('order-1')],
        ['h2', byHeader('order-2')],
        ['n7', byHeader(7)], ['n7-again', byHeader(7)],
        ['m1', { messageId: 'msg-1' }], ['m1-again', { messageId: 'msg-1' }],
        ['m2', { messageId: 'msg-2' }],
        ['header-beats-id', byHeader('order-3', { messageId: 'msg-1' })],
        ['plain', {}], ['plain', {}],
      ]);
      assert.deepEqual(await bodies(ch, q), ['h1', 'h2', 'n7', 'm1', 'm2', 'header-beats-id', 'plain', 'plain']);
      await ch.deleteQueue(q);
    });
  });

  test('a queue without x-message-deduplication keeps every copy', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = qname('no-dedup');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-cache-size': 5 } });
      await publishConfirmed(ch, q, [['a', byHeader('k')], ['b', byHeader('k')]]);
      assert.equal(await count(ch, q), 2);
      await ch.deleteQueue(q);
    });
  });

  test('duplicates are confirmed with basic.ack, like the plugin', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = qname('dedup-confirm');
      await ch.assertQueue(q, { durable: false, arguments: DEDUP });
      const outcomes = await Promise.all([1, 2, 3].map((i) => new Promise<string>((resolve) => {
        ch.sendToQueue(q, Buffer.from(`c${i}`), byHeader('same'), (err) => resolve(err ? 'nack' : 'ack'));
      })));
      assert.deepEqual(outcomes, ['ack', 'ack', 'ack']);
      assert.equal(await count(ch, q), 1);
      await ch.deleteQueue(q);
    });
  });

  test('x-cache-ttl: once the window has passed the key is accepted again; a message\'s own x-cache-ttl wins', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = qname('dedup-ttl');
      await ch.assertQueue(q, { durable: false, arguments: { ...DEDUP, 'x-cache-ttl': 500 } });
      await publishConfirmed(ch, q, [['w1', byHeader('k')], ['w1-dup', byHeader('k')],
        ['short', byHeader('s', { headers: { 'x-cache-ttl': 50 } })]]);
      await sleep(100);
      // s is admitted again, this time with the queue's window.
      await publishConfirmed(ch, q, [['w1-dup2', byHeader('k')], ['short-again', byHeader('s')], ['short-dup', byHeader('s')]]);
      await sleep(500);
      await publishConfirmed(ch, q, [['w2', byHeader('k')]]);
      assert.deepEqual(await bodies(ch, q), ['w1', 'short', 'short-again', 'w2']);
      await ch.deleteQueue(q);
    });
  });

  test('x-cache-size: the least recently inserted key is forgotten first', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = qname('dedup-size');
      await ch.assertQueue(q, { durable: false, arguments: { ...DEDUP, 'x-cache-size': 2 } });
      await publishConfirmed(ch, q, [
        ['a', byHeader('a')], ['b', byHeader('b')], ['b-dup', byHeader('b')],
        ['c', byHeader('c')], // forgets a
        ['a-again', byHeader('a')], // forgets b
        ['c-dup', byHeader('c')], ['b-again', byHeader('b')],
      ]);
      assert.deepEqual(await bodies(ch, q), ['a', 'b', 'c', 'a-again', 'b-again']);
      // Size semantics: consuming a message does not free its key.
      await publishConfirmed(ch, q, [['b-dup2', byHeader('b')]]);
      assert.equal(await count(ch, q), 0);
      await ch.deleteQueue(q);
    });
  });

  test('without window or size a key is held while its message is in the queue: freed by ack, reject and purge', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = qname('dedup-inqueue');
      await ch.assertQueue(q, { durable: false, arguments: DEDUP });
      await publishConfirmed(ch, q, [['k1', byHeader('k')]]);
      const m = await getOrFail(ch, q);
      await publishConfirmed(ch, q, [['k-while-unacked', byHeader('k')]]);
      assert.equal(await count(ch, q), 0, 'out for delivery is still in the queue');
      ch.nack(m, false, true); // requeued: still in the queue
      await publishConfirmed(ch, q, [['k-while-requeued', byHeader('k')]]);
      assert.equal(await count(ch, q), 1);
      ch.ack(await getOrFail(ch, q));
      await publishConfirmed(ch, q, [['k2', byHeader('k')]]);
      ch.reject(await getOrFail(ch, q), false);
      await publishConfirmed(ch, q, [['k3', byHeader('k')]]);
      await ch.purgeQueue(q);
      await publishConfirmed(ch, q, [['k4', byHeader('k')], ['k4-dup', byHeader('k')]]);
      assert.deepEqual(await bodies(ch, q), ['k4'], 'no-ack gets count as acked');
      await publishConfirmed(ch, q, [['k5', byHeader('k')]]);
      assert.deepEqual(await bodies(ch, q), ['k5']);
      await ch.deleteQueue(q);
    });
  });

  test('a consumer\'s ack frees the key too', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = qname('dedup-consume');
      await ch.assertQueue(q, { durable: false, arguments: DEDUP });
      await publishConfirmed(ch, q, [['first', byHeader('k')]]);
      const got: string[] = [];
      const acked = new Promise<void>((resolve) => {
        void ch.consume(q, (m) => {
          if (!m) return;
          got.push(body(m));
          ch.ack(m);
          resolve();
        });
      });
      await acked;
      await ch.checkQueue(q); // a round trip: the ack is processed
      await publishConfirmed(ch, q, [['second', byHeader('k')]]);
      const deadline = Date.now() + 3000;
      while (got.length < 2 && Date.now() < deadline) await sleep(5);
      assert.deepEqual(got, ['first', 'second']);
      await ch.deleteQueue(q);
    });
  });

  test('durable queue, persistent messages, confirms: keys survive a restart; deleting the queue deletes the journal', async () => {
    const inQueue = qname('dedup-durable');
    const windowed = qname('dedup-durable-ttl');
    const P = { persistent: true } as const;
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertQueue(inQueue, { durable: true, arguments: DEDUP });
      await ch.assertQueue(windowed, { durable: true, arguments: { ...DEDUP, 'x-cache-ttl': 60_000 } });
      await publishConfirmed(ch, inQueue, [['K', byHeader('K', P)]]);
      await publishConfirmed(ch, windowed, [['W', byHeader('W', P)]]);
      // Consumed and acked before the restart: the window still remembers it.
      ch.ack(await getOrFail(ch, windowed));
      await ch.checkQueue(windowed);
    });
    broker = await broker.restart();
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await publishConfirmed(ch, inQueue, [['K-again', byHeader('K', P)], ['L', byHeader('L', P)]]);
      await publishConfirmed(ch, windowed, [['W-again', byHeader('W', P)]]);
      assert.equal(await count(ch, windowed), 0);
      assert.deepEqual(await bodies(ch, inQueue), ['K', 'L']);
    });
    broker = await broker.restart();
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      // K and L were consumed (no-ack) before this restart: their keys were released.
      await publishConfirmed(ch, inQueue, [['K-3', byHeader('K', P)], ['K-3-dup', byHeader('K', P)]]);
      assert.deepEqual(await bodies(ch, inQueue), ['K-3']);
      const journal = join(broker.warren.broker.messages.queueDir('/', windowed), 'dedup.log');
      assert.equal(existsSync(journal), true);
      await ch.deleteQueue(windowed);
      await ch.deleteQueue(inQueue);
      assert.equal(existsSync(journal), false);
      // Re-declared: a new queue, with no memory of the old one's keys.
      await ch.assertQueue(windowed, { durable: true, arguments: { ...DEDUP, 'x-cache-ttl': 60_000 } });
      await publishConfirmed(ch, windowed, [['W-new', byHeader('W', P)]]);
      assert.equal(await count(ch, windowed), 1);
      await ch.deleteQueue(windowed);
    });
  });

  test('a stored queue whose arguments are invalid (stored before validation) still comes back, with its messages, without them', async () => {
    const q = qname('dedup-stored-bad');
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertQueue(q, { durable: true });
      await publishConfirmed(ch, q, [['kept', byHeader('k', { persistent: true })]]);
    });
    // As if declared before the arguments were validated.
    await broker.warren.stop();
    const store = new DefinitionsStore(broker.dataDir);
    const defs = store.load()!;
    defs.queues.find((d) => d.name === q)!.arguments = { 'x-message-deduplication': 'yes', 'x-message-ttl': -1 };
    store.save(defs);
    broker = await startTestBroker({}, broker.dataDir);
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await publishConfirmed(ch, q, [['again', byHeader('k', { persistent: true })]]);
      assert.deepEqual(await bodies(ch, q), ['kept', 'again']);
      await ch.deleteQueue(q);
    });
  });

  test('invalid deduplication arguments are 406 PRECONDITION_FAILED naming the argument', async () => {
    await withConn(async (conn) => {
      const cases: [Record<string, unknown>, string][] = [
        [{ ...DEDUP, 'x-cache-size': 0 }, 'x-cache-size'],
        [{ ...DEDUP, 'x-cache-size': 'many' }, 'x-cache-size'],
        [{ ...DEDUP, 'x-cache-ttl': -5 }, 'x-cache-ttl'],
        [{ 'x-message-deduplication': 'yes' }, 'x-message-deduplication'],
      ];
      for (const [args, name] of cases) {
        const ch = await channel(conn);
        const q = qname('dedup-bad');
        const failed = nextError(ch);
        await assert.rejects(ch.assertQueue(q, { durable: true, arguments: args }));
        const err = await failed;
        assert.equal(err.code, 406);
        assert.match(err.message, new RegExp(`invalid arg '${name}' for queue '${q}' in vhost '/'`));
        const probe = await channel(conn);
        await assert.rejects(probe.checkQueue(q), 'nothing was declared');
      }
    });
  });
});
