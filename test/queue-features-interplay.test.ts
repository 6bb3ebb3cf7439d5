/**
 * Queue features meeting each other and the broker's life cycle (found in review): a stopped
 * broker's x-expires timer must not delete a queue of the broker restarted on its data directory;
 * a delayed message keeps its CC and BCC recipients; a deduplicated queue that dead-letters back
 * into itself keeps the message; a reject after the queue was deleted dead-letters nothing; a
 * per-queue consumer timeout applies while a longer one is already armed; a durable queue that
 * gains x-max-priority (messages stored before priorities were supported) keeps its messages.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DefinitionsStore } from '../src/store/definitions-store.js';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { body, clientHelpers, count, getOrFail, nextError, qname, sleep, waitForCount, within } from './helpers/amqp-client.js';
import { dlxWithQueue, queue } from './helpers/queue-features.js';

let broker: TestBroker;
before(async () => { broker = await startTestBroker({ consumerTimeout: 10_000 }); });
after(async () => { await broker.stop(); });

const { channel, confirmChannel, withConn } = clientHelpers(() => broker.url);

describe('queue features and the broker life cycle', () => {
  test('after a restart in the same process, the stopped broker\'s x-expires timer deletes nothing', async () => {
    const q = qname('expires-restart');
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertQueue(q, { durable: true, arguments: { 'x-expires': 600 } });
      ch.sendToQueue(q, Buffer.from('kept'), { persistent: true });
      await ch.waitForConfirms();
    });
    broker = await broker.restart();
    // The new broker's queue is in use (declared again now and then); the old one's timer would have fired at 600 ms.
    for (let i = 0; i < 4; i++) {
      await withConn(async (conn) => { await (await channel(conn)).checkQueue(q); });
      await sleep(250);
    }
    const stored = new DefinitionsStore(broker.dataDir).load()!;
    assert.ok(stored.queues.some((d) => d.name === q), 'the queue is still in the definitions');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      assert.equal(body(await getOrFail(ch, q, { noAck: true })), 'kept');
      await ch.deleteQueue(q);
    });
  });

  test('a durable queue that gains x-max-priority keeps the messages stored without priorities (as priority 0)', async () => {
    const q = qname('prio-upgrade');
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertQueue(q, { durable: true });
      for (const m of ['a', 'b', 'c']) ch.sendToQueue(q, Buffer.from(m), { persistent: true });
      await ch.waitForConfirms();
    });
    // As if declared by an older Warren, which stored x-max-priority but kept one log.
    await broker.warren.stop();
    const store = new DefinitionsStore(broker.dataDir);
    const defs = store.load()!;
    defs.queues.find((d) => d.name === q)!.arguments = { 'x-max-priority': 5 };
    store.save(defs);
    broker = await startTestBroker({ consumerTimeout: 10_000 }, broker.dataDir);
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      assert.equal(await count(ch, q), 3);
      ch.sendToQueue(q, Buffer.from('urgent'), { persistent: true, priority: 5 });
      await ch.waitForConfirms();
      const got: string[] = [];
      for (let i = 0; i < 4; i++) got.push(body(await getOrFail(ch, q, { noAck: true })));
      assert.deepEqual(got, ['urgent', 'a', 'b', 'c']);
      await ch.deleteQueue(q);
    });
  });
});

describe('delayed messages with sender-selected distribution', () => {
  for (const header of ['CC', 'BCC'] as const) {
    test(`a delayed message reaches its ${header} recipients once, when due`, async () => {
      await withConn(async (conn) => {
        const ch = await confirmChannel(conn);
        const ex = qname('delayed-cc');
        await ch.assertExchange(ex, 'x-delayed-message', { durable: false, arguments: { 'x-delayed-type': 'direct' } });
        const qa = await queue(ch, 'cc-a');
        const qb = await queue(ch, 'cc-b');
        await ch.bindQueue(qa, ex, 'a');
        await ch.bindQueue(qb, ex, 'b');
        ch.publish(ex, 'a', Buffer.from('x'), { headers: { 'x-delay': 150, [header]: ['b'] } });
        await ch.waitForConfirms();
        await waitForCount(ch, qb, 1);
        await sleep(500); // a second firing would have happened by now
        assert.equal(await count(ch, qa), 1);
        assert.equal(await count(ch, qb), 1);
        const m = await getOrFail(ch, qb, { noAck: true });
        assert.equal(m.properties.headers?.['BCC'], undefined, 'BCC never reaches a consumer');
        if (header === 'CC') assert.deepEqual(m.properties.headers?.['CC'], ['b']);
        await ch.deleteExchange(ex);
      });
    });
  }
});

describe('dead-lettering edge cases', () => {
  test('a deduplicated queue whose DLX routes back to it keeps a rejected message', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const ex = qname('self-dlx');
      await ch.assertExchange(ex, 'fanout', { durable: false });
      const q = await queue(ch, 'dedup-self', { 'x-message-deduplication': true, 'x-dead-letter-exchange': ex });
      await ch.bindQueue(q, ex, '');
      ch.sendToQueue(q, Buffer.from('again'), { headers: { 'x-deduplication-header': 'k' } });
      const m = await getOrFail(ch, q);
      ch.nack(m, false, false);
      await waitForCount(ch, q, 1);
      const back = await getOrFail(ch, q, { noAck: true });
      assert.equal(body(back), 'again');
      assert.equal((back.properties.headers?.['x-death'] as { reason: string }[])[0]!.reason, 'rejected');
      await ch.deleteExchange(ex);
    });
  });

  test('a reject after the queue was deleted dead-letters nothing', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const [ex, dead] = await dlxWithQueue(ch, 'deleted');
      const q = await queue(ch, 'deleted-src', { 'x-dead-letter-exchange': ex });
      ch.sendToQueue(q, Buffer.from('gone'));
      const m = await getOrFail(ch, q);
      await ch.deleteQueue(q);
      ch.nack(m, false, false);
      await sleep(100);
      assert.equal(await count(ch, dead), 0);
      await ch.deleteExchange(ex);
    });
  });
});

describe('consumer timeout', () => {
  test('a queue\'s shorter x-consumer-timeout applies while the channel\'s longer timer is armed', async () => {
    await withConn(async (conn) => {
      const setup = await channel(conn);
      const plain = await queue(setup, 'ct-plain');
      const short = await queue(setup, 'ct-short', { 'x-consumer-timeout': 300 });
      setup.sendToQueue(plain, Buffer.from('p'));
      setup.sendToQueue(short, Buffer.from('s'));
      const ch = await channel(conn);
      const closed = nextError(ch, 3000);
      await getOrFail(ch, plain); // arms the channel's timer for the broker's 10 s
      await getOrFail(ch, short); // must fire after 300 ms, not 10 s
      const err = await within(closed, 2000);
      assert.ok(err, 'the channel was closed within 2 s');
      assert.equal(err.code, 406);
      assert.match(err.message, /Timeout value used: 300 ms/);
      await setup.deleteQueue(plain);
      await setup.deleteQueue(short);
    });
  });
});
