/**
 * The durable message store across clean restarts, through an unmodified RabbitMQ client
 * (amqplib): which topology and messages come back, with what content, order and redelivered
 * flag; confirms and transactions; purge and delete; fanout copies. RabbitMQ is the reference.
 * (Large backlogs and paging: store-restart-backlog.test.ts.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Channel, ChannelModel, ConsumeMessage, GetMessage, Options } from 'amqplib';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import type { AmqpError } from './helpers/amqp-client.js';
import { body, clientHelpers, closeQuietly, count, defs, getOrFail, qname, raw } from './helpers/amqp-client.js';

let broker: TestBroker;

before(async () => {
  broker = await startTestBroker();
});

after(async () => {
  await broker.stop();
});

const { connect, channel, confirmChannel, withConn } = clientHelpers(() => broker.url);

const txSelect = (ch: Channel) => raw(ch).rpc(defs.TxSelect!, {}, defs.TxSelectOk!);
const txCommit = (ch: Channel) => raw(ch).rpc(defs.TxCommit!, {}, defs.TxCommitOk!);
const txRollback = (ch: Channel) => raw(ch).rpc(defs.TxRollback!, {}, defs.TxRollbackOk!);

const P = { persistent: true } as const;

async function restart(): Promise<void> {
  broker = await broker.restart();
}

/** Publishes persistent messages with confirms and waits for every confirm. */
async function publishConfirmed(queue: string, bodies: string[], options: Options.Publish = P): Promise<void> {
  await withConn(async (conn) => {
    const ch = await confirmChannel(conn);
    for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b), options);
    await ch.waitForConfirms();
  });
}

/** Every ready message, by basic.get with no-ack (the queue is empty afterwards). */
async function getAll(ch: Channel, queue: string): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) out.push(m);
  return out;
}

async function bodiesAfterRestart(queue: string): Promise<string[]> {
  let got: string[] = [];
  await withConn(async (conn) => {
    got = (await getAll(await channel(conn), queue)).map(body);
  });
  return got;
}

/** Whether a queue or exchange exists (a passive declare on a throwaway channel). */
async function exists(conn: ChannelModel, kind: 'queue' | 'exchange', name: string): Promise<boolean> {
  const ch = await channel(conn);
  try {
    if (kind === 'queue') await ch.checkQueue(name);
    else await ch.checkExchange(name);
    await closeQuietly(ch);
    return true;
  } catch (err) {
    if ((err as AmqpError).code === 404) return false;
    throw err;
  }
}

const range = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('durable topology and messages across a clean restart', () => {
  test('durable exchanges, queues and bindings come back; transient and exclusive ones do not; durable auto-delete queues do', async () => {
    const n = {
      dx: qname('dx'), dfx: qname('dfx'), dq: qname('dq'), ndx: qname('ndx'), ndq: qname('ndq'),
      exq: qname('exq'), adq: qname('adq'), adqUsed: qname('adq-used'),
    };
    const holder = await connect(); // owns the exclusive queue while the broker stops
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertExchange(n.dx, 'direct', { durable: true });
      await ch.assertExchange(n.dfx, 'fanout', { durable: true });
      await ch.assertQueue(n.dq, { durable: true });
      await ch.bindQueue(n.dq, n.dx, 'k');
      await ch.bindQueue(n.dq, n.dfx, '');
      await ch.assertExchange(n.ndx, 'direct', { durable: false });
      await ch.bindQueue(n.dq, n.ndx, 'k');
      await ch.assertQueue(n.ndq, { durable: false });
      await ch.bindQueue(n.ndq, n.dx, 'k');
      // Durable auto-delete queues: RabbitMQ recovers them (auto-delete applies to consumers, not restarts).
      await ch.assertQueue(n.adq, { durable: true, autoDelete: true });
      await ch.bindQueue(n.adq, n.dx, 'ad');
      await ch.assertQueue(n.adqUsed, { durable: true, autoDelete: true });
      const hch = await channel(holder);
      await hch.assertQueue(n.exq, { durable: true, exclusive: true });
      await hch.bindQueue(n.exq, n.dx, 'k');
    });
    await publishConfirmed(n.adq, ['kept']);
    await restart();
    await closeQuietly(holder);

    await withConn(async (conn) => {
      assert.ok(await exists(conn, 'exchange', n.dx), 'durable direct exchange');
      assert.ok(await exists(conn, 'exchange', n.dfx), 'durable fanout exchange');
      assert.ok(await exists(conn, 'queue', n.dq), 'durable queue');
      assert.ok(await exists(conn, 'queue', n.adq), 'durable auto-delete queue (never consumed from) is recovered');
      assert.equal(await exists(conn, 'exchange', n.ndx), false, 'non-durable exchange is gone');
      assert.equal(await exists(conn, 'queue', n.ndq), false, 'non-durable queue is gone');
      assert.equal(await exists(conn, 'queue', n.exq), false, 'exclusive (durable) queue is gone');

      const ch = await confirmChannel(conn);
      // Same properties: an equivalent re-declare is fine.
      await ch.assertQueue(n.adq, { durable: true, autoDelete: true });
      // Bindings route: durable exchange -> durable queue, both of them.
      ch.publish(n.dx, 'k', Buffer.from('via-dx'), P);
      ch.publish(n.dfx, 'any', Buffer.from('via-dfx'), P);
      ch.publish(n.dx, 'ad', Buffer.from('to-adq'), P);
      await ch.waitForConfirms();
      assert.deepEqual((await getAll(ch, n.dq)).map(body), ['via-dx', 'via-dfx']);
      assert.deepEqual((await getAll(ch, n.adq)).map(body), ['kept', 'to-adq'], 'its messages survived too');

      // A recovered auto-delete queue still deletes itself once its last consumer goes, files included.
      const dir = broker.warren.broker.messages.queueDir('/', n.adqUsed);
      assert.ok(existsSync(dir));
      const { consumerTag } = await ch.consume(n.adqUsed, () => {}, { noAck: true });
      await ch.cancel(consumerTag);
      assert.equal(await exists(conn, 'queue', n.adqUsed), false);
      assert.equal(existsSync(dir), false, 'its message directory is removed');
      for (const q of [n.dq, n.adq]) await ch.deleteQueue(q);
    });
  });

  test('persistent confirmed messages come back in order with body, properties and routing fields intact', async () => {
    const x = qname('props-x');
    const q = qname('props-q');
    const rk = 'rk.props';
    const bodies = [Buffer.from('{"n":1}'), Buffer.alloc(0), randomBytes(300 * 1024), Buffer.from('ünïcødé ✓'), randomBytes(17)];
    const props = (i: number): Options.Publish => ({
      persistent: true,
      headers: { i, s: `h${i}`, neg: -5, big: 2 ** 40, f: true, nested: { a: 'b', n: 1 }, list: [1, 'two'] },
      contentType: 'application/json', contentEncoding: 'utf-8', messageId: `mid-${i}`, priority: i,
      correlationId: `cid-${i}`, replyTo: `reply-${i}`, expiration: '600000', timestamp: 1_700_000_000 + i,
      type: 'test.type', appId: 'store-test', userId: 'guest',
    });
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertExchange(x, 'direct', { durable: true });
      await ch.assertQueue(q, { durable: true });
      await ch.bindQueue(q, x, rk);
      bodies.forEach((b, i) => ch.publish(x, rk, b, props(i)));
      await ch.waitForConfirms();
    });
    await restart();
    await withConn(async (conn) => {
      const ch = await channel(conn);
      assert.equal(await count(ch, q), bodies.length);
      for (let i = 0; i < bodies.length; i++) {
        const m = await getOrFail(ch, q);
        assert.ok(m.content.equals(bodies[i]!), `body ${i} byte-exact (${bodies[i]!.length} bytes)`);
        assert.equal(m.fields.exchange, x);
        assert.equal(m.fields.routingKey, rk);
        assert.equal(m.fields.redelivered, false);
        const p = m.properties;
        const want = props(i);
        assert.deepEqual(p.headers, want.headers);
        assert.equal(p.deliveryMode, 2);
        for (const k of ['contentType', 'contentEncoding', 'messageId', 'priority', 'correlationId', 'replyTo',
          'expiration', 'timestamp', 'type', 'appId', 'userId'] as const) {
          assert.deepEqual(p[k], want[k], `property ${k} of message ${i}`);
        }
        ch.ack(m);
      }
      assert.equal(await count(ch, q), 0);
      await ch.deleteQueue(q);
      await ch.deleteExchange(x);
    });
  });

  test('transient messages in a durable queue are dropped; a non-durable queue loses its persistent messages with itself', async () => {
    const dq = qname('mixed');
    const ndq = qname('nd-persistent');
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertQueue(dq, { durable: true });
      await ch.assertQueue(ndq, { durable: false });
      for (let i = 1; i <= 6; i++) {
        ch.sendToQueue(dq, Buffer.from(`p${i}`), P);
        ch.sendToQueue(dq, Buffer.from(`t${i}`), { persistent: false });
        ch.sendToQueue(dq, Buffer.from(`d${i}`), { deliveryMode: 1 });
        ch.sendToQueue(ndq, Buffer.from(`n${i}`), P);
      }
      await ch.waitForConfirms();
      assert.equal(await count(ch, dq), 18);
    });
    await restart();
    assert.deepEqual(await bodiesAfterRestart(dq), range(6, 'p'));
    await withConn(async (conn) => {
      assert.equal(await exists(conn, 'queue', ndq), false);
      await (await channel(conn)).deleteQueue(dq);
    });
  });

  test('acked messages stay gone; unacked ones come back redelivered; undelivered ones come back not redelivered', async () => {
    const q = qname('acks');
    await withConn(async (conn) => {
      await (await channel(conn)).assertQueue(q, { durable: true });
    });
    await publishConfirmed(q, range(12, 'm'));
    const conn = await connect(); // still open when the broker stops: the server closes it (320)
    try {
      const ch = await channel(conn);
      await ch.prefetch(4);
      const got: ConsumeMessage[] = [];
      const { consumerTag } = await ch.consume(q, (m) => { if (m) got.push(m); });
      while (got.length < 4) await new Promise((r) => setTimeout(r, 5));
      await ch.cancel(consumerTag); // no more deliveries: m1..m4 are out, m2 and m4 stay unacked
      ch.ack(got[0]!);
      ch.ack(got[2]!);
      // basic.get without no-ack: m5 and m6 out for delivery too; only m6 is acked.
      const gch = await channel(conn);
      const m5 = await getOrFail(gch, q);
      const m6 = await getOrFail(gch, q);
      assert.deepEqual([body(m5), body(m6)], ['m5', 'm6']);
      gch.ack(m6);
      await ch.checkQueue(q); // round trips: the acks are processed before the stop
      await gch.checkQueue(q);
      assert.deepEqual(got.map(body), ['m1', 'm2', 'm3', 'm4']);
    } finally {
      await restart();
      await closeQuietly(conn);
    }
    // m2, m4 and m5 were delivered and never acked: back, flagged; m7.. never went out.
    await publishConfirmed(q, ['late']);
    await withConn(async (conn) => {
      const all = await getAll(await channel(conn), q);
      assert.deepEqual(all.map((m) => [body(m), m.fields.redelivered]), [
        ['m2', true], ['m4', true], ['m5', true],
        ...[7, 8, 9, 10, 11, 12].map((i) => [`m${i}`, false]), ['late', false],
      ]);
      await (await channel(conn)).deleteQueue(q);
    });
  });

  test('undelivered messages are still not redelivered after several clean restarts', async () => {
    const q = qname('marks');
    await withConn(async (conn) => {
      await (await channel(conn)).assertQueue(q, { durable: true });
    });
    await publishConfirmed(q, range(3, 'u'));
    await restart();
    await restart();
    await restart();
    await withConn(async (conn) => {
      const all = await getAll(await channel(conn), q);
      assert.deepEqual(all.map((m) => [body(m), m.fields.redelivered]), [['u1', false], ['u2', false], ['u3', false]],
        'nothing was ever delivered, so nothing may be flagged redelivered');
      await (await channel(conn)).deleteQueue(q);
    });
  });

  test('a committed transaction\'s persistent publishes and acks survive; rolled-back and uncommitted ones do not', async () => {
    const q = qname('tx');
    await withConn(async (c) => {
      await (await channel(c)).assertQueue(q, { durable: true });
    });
    await publishConfirmed(q, ['seed1', 'seed2']);
    const conn = await connect();
    try {
      const ch = await channel(conn);
      await txSelect(ch);
      const seed1 = await getOrFail(ch, q);
      const seed2 = await getOrFail(ch, q);
      ch.ack(seed1);
      for (const b of range(5, 'c')) ch.sendToQueue(q, Buffer.from(b), P);
      await txCommit(ch); // seed1's ack and c1..c5
      ch.sendToQueue(q, Buffer.from('rolled-back'), P);
      await txRollback(ch);
      ch.sendToQueue(q, Buffer.from('c6'), P);
      ch.sendToQueue(q, Buffer.from('transient-in-tx'), { persistent: false });
      await txCommit(ch);
      ch.ack(seed2);
      ch.sendToQueue(q, Buffer.from('never-committed'), P);
      await ch.checkQueue(q); // the ack and publish reached the broker, still uncommitted
    } finally {
      await restart(); // the connection is still open: the stop closes it, uncommitted tx and all
      await closeQuietly(conn);
    }
    await withConn(async (c) => {
      const all = await getAll(await channel(c), q);
      assert.deepEqual(all.map((m) => [body(m), m.fields.redelivered]),
        [['seed2', true], ...range(6, 'c').map((b) => [b, false])]);
      await (await channel(c)).deleteQueue(q);
    });
  });

  test('purge and delete are durable: purged messages and a deleted queue\'s messages do not come back', async () => {
    const purged = qname('purged');
    const deleted = qname('deleted');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(purged, { durable: true });
      await ch.assertQueue(deleted, { durable: true });
    });
    await publishConfirmed(purged, range(20, 'old'));
    await publishConfirmed(deleted, range(20, 'old'));
    await withConn(async (conn) => {
      const ch = await channel(conn);
      // Out for delivery (unacked) at the purge: not purged (as in RabbitMQ), requeued at close.
      const held = await getOrFail(ch, purged);
      assert.equal((await ch.purgeQueue(purged)).messageCount, 19);
      assert.equal(body(held), 'old1');
      assert.equal((await ch.deleteQueue(deleted)).messageCount, 20);
      await ch.assertQueue(deleted, { durable: true });
    });
    await publishConfirmed(purged, ['new1']);
    await publishConfirmed(deleted, ['new2']);
    await restart();
    assert.deepEqual(await bodiesAfterRestart(purged), ['old1', 'new1']);
    assert.deepEqual(await bodiesAfterRestart(deleted), ['new2']);
    // And once more, deleted with nothing re-declared: the queue and its directory stay gone.
    await withConn(async (conn) => (await channel(conn)).deleteQueue(deleted).then(() => {}));
    await restart();
    await withConn(async (conn) => {
      assert.equal(await exists(conn, 'queue', deleted), false);
      assert.equal(existsSync(broker.warren.broker.messages.queueDir('/', deleted)), false);
      await (await channel(conn)).deleteQueue(purged);
    });
  });

  test('fanout to several durable queues: each gets its own copy back; acking one copy leaves the others', async () => {
    const fx = qname('fan');
    const qs = [qname('fan-a'), qname('fan-b'), qname('fan-c')];
    const transient = qname('fan-nd');
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await ch.assertExchange(fx, 'fanout', { durable: true });
      for (const q of qs) {
        await ch.assertQueue(q, { durable: true });
        await ch.bindQueue(q, fx, '');
      }
      await ch.assertQueue(transient, { durable: false });
      await ch.bindQueue(transient, fx, '');
      for (const b of range(10, 'f')) ch.publish(fx, 'ignored', Buffer.from(b), P);
      await ch.waitForConfirms();
    });
    await restart();
    await withConn(async (conn) => {
      const ch = await channel(conn);
      for (const q of qs) assert.equal(await count(ch, q), 10, `${q} has its copies`);
      assert.equal(await exists(conn, 'queue', transient), false);
      const first = await getAll(ch, qs[0]!); // no-ack: consumed and gone for this queue only
      assert.deepEqual(first.map(body), range(10, 'f'));
      assert.ok(first.every((m) => m.fields.exchange === fx && m.fields.routingKey === 'ignored'));
    });
    await restart();
    assert.deepEqual(await bodiesAfterRestart(qs[0]!), []);
    assert.deepEqual(await bodiesAfterRestart(qs[1]!), range(10, 'f'));
    assert.deepEqual(await bodiesAfterRestart(qs[2]!), range(10, 'f'));
    await withConn(async (conn) => {
      const ch = await channel(conn);
      for (const q of qs) await ch.deleteQueue(q);
      await ch.deleteExchange(fx);
    });
  });

  test('acks made after a restart do not hide other messages at the next restart', async () => {
    // A recovered segment's ack file is appended to by the next run. Whatever it writes there must
    // not name records that were never acked: here a record sits at offset 65536 of its segment.
    const q = qname('ackfile');
    await withConn(async (conn) => {
      await (await channel(conn)).assertQueue(q, { durable: true });
    });
    const seg = join(broker.warren.broker.messages.queueDir('/', q), 'msgs.0000000001');
    await publishConfirmed(q, ['p0']);
    const afterP0 = statSync(seg).size;
    const overhead = afterP0 - 16 - 2; // header, then the record of 'p0' (same properties as the next)
    await publishConfirmed(q, ['a'.repeat(65536 - afterP0 - overhead)]);
    assert.equal(statSync(seg).size, 65536, 'the next record starts at offset 65536');
    await publishConfirmed(q, ['b', 'c']);
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const m = await getOrFail(ch, q);
      assert.equal(body(m), 'p0');
      ch.ack(m);
      await ch.checkQueue(q);
    });
    await restart();
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const m = await getOrFail(ch, q);
      assert.equal(m.content.length, 65536 - afterP0 - overhead);
      ch.ack(m);
      await ch.checkQueue(q);
    });
    await restart();
    assert.deepEqual(await bodiesAfterRestart(q), ['b', 'c']);
    await withConn(async (conn) => (await channel(conn)).deleteQueue(q).then(() => {}));
  });

  test('acking a message of a durable queue deleted meanwhile is harmless, as in RabbitMQ', async () => {
    const q = qname('ack-deleted');
    await withConn(async (conn) => {
      await (await channel(conn)).assertQueue(q, { durable: true });
    });
    await publishConfirmed(q, ['x', 'y']);
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const m = await getOrFail(ch, q);
      const other = await channel(conn);
      await other.deleteQueue(q);
      ch.ack(m);
      // The connection and channel must survive the ack.
      const probe = qname('probe');
      await ch.assertQueue(probe, { durable: false });
      assert.equal(await count(ch, probe), 0);
      await ch.deleteQueue(probe);
    });
  });
});
