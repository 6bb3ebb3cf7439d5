/**
 * Publisher confirms, transactions (tx class) and direct reply-to through an unmodified RabbitMQ
 * client (amqplib). amqplib has no tx API, so tx methods go through its internal channel rpc.
 * RabbitMQ's behaviour (reply codes included) is the reference.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import { startTestBroker, waitFor } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { body, clientHelpers, closeQuietly, count, defs, getOrFail, nextError, qname, raw, rejectsWithCode, sleep, waitForCount } from './helpers/amqp-client.js';

const REPLY_TO = 'amq.rabbitmq.reply-to';

let broker: TestBroker;

before(async () => {
  broker = await startTestBroker();
});

after(async () => {
  await broker.stop();
});

// ---- helpers ----

const { connect, channel, withConn, declare, confirmChannel } = clientHelpers(() => broker.url);


const txSelect = (ch: Channel) => raw(ch).rpc(defs.TxSelect!, {}, defs.TxSelectOk!);
const txCommit = (ch: Channel) => raw(ch).rpc(defs.TxCommit!, {}, defs.TxCommitOk!);
const txRollback = (ch: Channel) => raw(ch).rpc(defs.TxRollback!, {}, defs.TxRollbackOk!);
const confirmSelect = (ch: Channel) => raw(ch).rpc(defs.ConfirmSelect!, { nowait: false }, defs.ConfirmSelectOk!);

// ---- publisher confirms ----

describe('publisher confirms', () => {
  test('every publish is confirmed: per-publish callbacks with err null, waitForConfirms resolves', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = await declare(ch, 'confirm');
      const results: unknown[] = [];
      const acks: { deliveryTag: number; multiple: boolean }[] = [];
      const nacks: unknown[] = [];
      ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => acks.push(f));
      ch.on('nack', (f: unknown) => nacks.push(f));
      for (let i = 0; i < 20; i++) ch.sendToQueue(q, Buffer.from(String(i)), {}, (err) => results.push(err));
      await ch.waitForConfirms();
      assert.equal(results.length, 20);
      assert.ok(results.every((r) => r === null), 'every callback got err null');
      assert.equal(nacks.length, 0);
      assert.equal(Math.max(...acks.map((a) => a.deliveryTag)), 20, 'the last confirm covers publish sequence number 20');
      assert.equal(await count(ch, q), 20);
      // sequence numbers continue on the channel
      ch.sendToQueue(q, Buffer.from('x'), {}, (err) => results.push(err));
      await ch.waitForConfirms();
      assert.equal(results.length, 21);
      assert.equal(acks.at(-1)!.deliveryTag, 21);
    });
  });

  test('confirms for unroutable publishes (not mandatory) are acks too', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const results: unknown[] = [];
      ch.publish('amq.direct', 'nobody-bound', Buffer.from('x'), {}, (err) => results.push(err));
      await ch.waitForConfirms();
      assert.deepStrictEqual(results, [null]);
    });
  });

  test('10k publishes are all confirmed and enqueued', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const q = await declare(ch, 'confirm-10k');
      let confirmed = 0;
      let failed = 0;
      const payload = Buffer.alloc(64, 1);
      for (let i = 0; i < 10_000; i++) {
        ch.sendToQueue(q, payload, {}, (err) => { if (err === null) confirmed++; else failed++; });
      }
      await ch.waitForConfirms();
      assert.equal(confirmed, 10_000);
      assert.equal(failed, 0);
      assert.equal(await count(ch, q), 10_000);
      await ch.purgeQueue(q);
    });
  });

  test('an unroutable mandatory publish: basic.return arrives before its confirm', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const events: string[] = [];
      ch.on('return', (m: Message) => events.push(`return:${body(m)}`));
      ch.publish('amq.direct', 'unroutable-key', Buffer.from('m1'), { mandatory: true }, (err) => events.push(`confirm:m1:${err}`));
      await ch.waitForConfirms();
      assert.deepStrictEqual(events, ['return:m1', 'confirm:m1:null']);
    });
  });

  test('publish to a missing exchange on a confirm channel → 404, the pending confirm fails', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const err = nextError(ch);
      let result: unknown;
      ch.publish(qname('no-such-exchange'), 'k', Buffer.from('x'), {}, (e) => { result = e; });
      assert.equal((await err).code, 404);
      await waitFor(() => result !== undefined, 3000, 'callback');
      assert.ok(result instanceof Error);
      await assert.rejects(ch.waitForConfirms());
    });
  });

  test('tx.select on a confirm channel → 406', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await rejectsWithCode(txSelect(ch), 406);
    });
  });

  test('confirm.select on a transactional channel → 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await txSelect(ch);
      await rejectsWithCode(confirmSelect(ch), 406);
    });
  });

  test('confirm.select twice is fine', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      await confirmSelect(ch);
      const q = await declare(ch, 'confirm-twice');
      let result: unknown;
      ch.sendToQueue(q, Buffer.from('x'), {}, (e) => { result = e; });
      await ch.waitForConfirms();
      assert.equal(result, null);
    });
  });
});

// ---- transactions ----

describe('transactions (tx class)', () => {
  test('publishes are invisible until tx.commit', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'tx-pub');
      const tx = await channel(conn);
      await txSelect(tx);
      for (let i = 1; i <= 3; i++) tx.sendToQueue(q, Buffer.from(String(i)));
      await tx.checkQueue(q); // the publishes have reached the broker
      assert.equal(await count(ch, q), 0);
      await txCommit(tx);
      assert.equal(await count(ch, q), 3);
      for (const want of ['1', '2', '3']) assert.equal(body(await getOrFail(ch, q, { noAck: true })), want);
    });
  });

  test('tx.rollback discards publishes; the channel stays transactional', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'tx-rollback');
      const tx = await channel(conn);
      await txSelect(tx);
      tx.sendToQueue(q, Buffer.from('a'));
      tx.sendToQueue(q, Buffer.from('b'));
      await txRollback(tx);
      assert.equal(await count(ch, q), 0);
      tx.sendToQueue(q, Buffer.from('c'));
      await tx.checkQueue(q);
      assert.equal(await count(ch, q), 0, 'still transactional after rollback');
      await txCommit(tx);
      assert.equal(await count(ch, q), 1);
      assert.equal(body(await getOrFail(ch, q, { noAck: true })), 'c');
      // a commit with nothing pending is fine
      await txCommit(tx);
    });
  });

  test('an ack inside a transaction takes effect at commit', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'tx-ack');
      ch.sendToQueue(q, Buffer.from('1'));
      ch.sendToQueue(q, Buffer.from('2'));
      await ch.checkQueue(q);

      // ack in tx, channel closes before commit: the ack never happened, both come back
      const tx1 = await channel(conn);
      await txSelect(tx1);
      const a = await getOrFail(tx1, q);
      const b = await getOrFail(tx1, q);
      tx1.ack(a);
      await tx1.checkQueue(q);
      await tx1.close();
      assert.equal(await count(ch, q), 2, 'uncommitted ack: both messages requeued');

      // ack in tx then commit: acked message gone, the other requeued on close
      const tx2 = await channel(conn);
      await txSelect(tx2);
      const c = await getOrFail(tx2, q);
      const d = await getOrFail(tx2, q);
      assert.equal(body(c), '1');
      tx2.ack(c);
      await txCommit(tx2);
      await tx2.close();
      assert.equal(await count(ch, q), 1);
      const left = await getOrFail(ch, q, { noAck: true });
      assert.equal(body(left), '2');
      assert.equal(left.fields.redelivered, true);
      void b;
      void d;
    });
  });

  test('tx.rollback of an ack leaves the message unacked (it can be acked again)', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'tx-ack-rollback');
      ch.sendToQueue(q, Buffer.from('1'));
      await ch.checkQueue(q);
      const tx = await channel(conn);
      await txSelect(tx);
      const m = await getOrFail(tx, q);
      tx.ack(m);
      await txRollback(tx);
      assert.equal(await count(ch, q), 0, 'still unacked, not ready');
      tx.ack(m); // valid again after the rollback
      await txCommit(tx);
      await tx.close();
      assert.equal(await count(ch, q), 0, 'acked by the second, committed ack');
    });
  });

  test('tx.rollback of an ack, then channel close: the message is requeued', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'tx-ack-rollback-close');
      ch.sendToQueue(q, Buffer.from('1'));
      await ch.checkQueue(q);
      const tx = await channel(conn);
      await txSelect(tx);
      const m = await getOrFail(tx, q);
      tx.ack(m);
      await txRollback(tx);
      await tx.close();
      assert.equal(await count(ch, q), 1);
    });
  });

  test('reject with requeue inside a transaction takes effect at commit', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'tx-reject');
      ch.sendToQueue(q, Buffer.from('1'));
      await ch.checkQueue(q);
      const tx = await channel(conn);
      await txSelect(tx);
      const m = await getOrFail(tx, q);
      tx.reject(m, true);
      await tx.checkQueue(q);
      assert.equal(await count(ch, q), 0, 'not requeued before commit');
      await txCommit(tx);
      assert.equal(await count(ch, q), 1);
      const again = await getOrFail(ch, q, { noAck: true });
      assert.equal(again.fields.redelivered, true);
    });
  });

  test('acks of consumer deliveries inside a transaction', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'tx-consume');
      const tx = await channel(conn);
      await txSelect(tx);
      await tx.prefetch(2);
      const got: ConsumeMessage[] = [];
      await tx.consume(q, (m) => { if (m) got.push(m); });
      for (let i = 1; i <= 4; i++) ch.sendToQueue(q, Buffer.from(String(i)));
      await waitFor(() => got.length === 2, 3000, '2 deliveries');
      tx.ack(got[1]!, true);
      await tx.checkQueue(q);
      await sleep(40);
      assert.equal(got.length, 2, 'uncommitted acks do not free prefetch slots');
      await txCommit(tx);
      await waitFor(() => got.length === 4, 3000, 'deliveries resume after commit');
      assert.deepStrictEqual(got.map(body), ['1', '2', '3', '4']);
    });
  });

  test('mandatory unroutable publish in a transaction is returned at commit', async () => {
    await withConn(async (conn) => {
      const tx = await channel(conn);
      const returns: Message[] = [];
      tx.on('return', (m: Message) => returns.push(m));
      await txSelect(tx);
      tx.publish('amq.direct', 'unroutable-key', Buffer.from('r'), { mandatory: true });
      await tx.checkExchange('amq.direct');
      await sleep(20);
      assert.equal(returns.length, 0, 'nothing routed before commit');
      await txCommit(tx);
      await waitFor(() => returns.length === 1, 3000, 'return after commit');
      assert.equal((returns[0]!.fields as unknown as Record<string, unknown>).replyCode, 312);
    });
  });

  test('tx.commit without tx.select → 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await rejectsWithCode(txCommit(ch), 406);
    });
  });

  test('tx.rollback without tx.select → 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await rejectsWithCode(txRollback(ch), 406);
    });
  });

  test('inside a transaction, an ack of an unknown delivery tag fails at the ack with 406 (not at commit)', async () => {
    await withConn(async (conn) => {
      const tx = await channel(conn);
      await txSelect(tx);
      const err = nextError(tx, 1500);
      tx.ack({ fields: { deliveryTag: 42 } } as unknown as Message);
      const e = await err;
      assert.equal(e.code, 406);
      assert.equal(e.classId, 60, 'the failing method is basic.ack');
      assert.equal(e.methodId, 80);
    });
  });

  test('inside a transaction, a double ack fails at the second ack with 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'tx-double-ack');
      ch.sendToQueue(q, Buffer.from('1'));
      await ch.checkQueue(q);
      const tx = await channel(conn);
      await txSelect(tx);
      const p = await declare(ch, 'tx-double-ack-pub');
      const m = await getOrFail(tx, q);
      const err = nextError(tx, 1500);
      tx.sendToQueue(p, Buffer.from('published in the failed transaction'));
      tx.ack(m);
      tx.ack(m);
      const e = await err;
      assert.equal(e.code, 406);
      assert.equal(e.classId, 60);
      assert.equal(e.methodId, 80);
      // the channel closed without committing: the message is back, the publish never happened
      await waitForCount(ch, q, 1);
      assert.equal(await count(ch, p), 0);
    });
  });
});

// ---- direct reply-to ----

describe('direct reply-to (amq.rabbitmq.reply-to)', () => {
  test('RPC round trip: reply_to is rewritten, the reply arrives with its correlation id', async () => {
    const serverConn = await connect();
    const clientConn = await connect();
    try {
      const srv = await channel(serverConn);
      const q = await declare(srv, 'rpc');
      const seenReplyTo: string[] = [];
      await srv.consume(q, (m) => {
        if (!m) return;
        const replyTo = m.properties.replyTo as string;
        seenReplyTo.push(replyTo);
        srv.sendToQueue(replyTo, Buffer.from(`pong:${body(m)}`), { correlationId: m.properties.correlationId });
        srv.ack(m);
      });

      const cli = await channel(clientConn);
      const replies: ConsumeMessage[] = [];
      const { consumerTag } = await cli.consume(REPLY_TO, (m) => { if (m) replies.push(m); }, { noAck: true });
      for (let i = 0; i < 5; i++) {
        cli.sendToQueue(q, Buffer.from(`ping${i}`), { replyTo: REPLY_TO, correlationId: `c${i}` });
      }
      await waitFor(() => replies.length === 5, 3000, '5 replies');
      assert.equal(seenReplyTo.length, 5);
      for (const r of seenReplyTo) {
        assert.ok(r.startsWith(`${REPLY_TO}.`), `reply_to rewritten: ${r}`);
        assert.ok(r.length > REPLY_TO.length + 1);
      }
      assert.equal(new Set(seenReplyTo).size, 1, 'the same reply address for one channel');
      const byCorr = new Map(replies.map((m) => [m.properties.correlationId, m]));
      for (let i = 0; i < 5; i++) {
        const r = byCorr.get(`c${i}`);
        assert.ok(r, `reply for c${i}`);
        assert.equal(body(r), `pong:ping${i}`);
        assert.equal(r.fields.consumerTag, consumerTag);
        assert.equal(r.fields.exchange, '');
        assert.equal(r.fields.routingKey, seenReplyTo[0]);
        assert.equal(r.fields.redelivered, false);
      }
    } finally {
      await closeQuietly(clientConn);
      await closeQuietly(serverConn);
    }
  });

  test('consuming the reply-to pseudo-queue without noAck → 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await rejectsWithCode(ch.consume(REPLY_TO, () => {}), 406);
    });
  });

  test('publishing with reply_to amq.rabbitmq.reply-to without consuming it → 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'rpc-no-consumer');
      const err = nextError(ch);
      ch.sendToQueue(q, Buffer.from('x'), { replyTo: REPLY_TO });
      assert.equal((await err).code, 406);
      const ch2 = await channel(conn);
      assert.equal(await count(ch2, q), 0, 'the request was not enqueued');
    });
  });

  test('a reply consumer on another channel of the same connection does not count → 406', async () => {
    await withConn(async (conn) => {
      const a = await channel(conn);
      await a.consume(REPLY_TO, () => {}, { noAck: true });
      const b = await channel(conn);
      const q = await declare(b, 'rpc-other-channel');
      const err = nextError(b);
      b.sendToQueue(q, Buffer.from('x'), { replyTo: REPLY_TO });
      assert.equal((await err).code, 406);
    });
  });

  test('a second reply consumer on the same channel → 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.consume(REPLY_TO, () => {}, { noAck: true });
      await rejectsWithCode(ch.consume(REPLY_TO, () => {}, { noAck: true }), 406);
    });
  });
});
