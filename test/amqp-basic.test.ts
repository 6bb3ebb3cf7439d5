/**
 * The AMQP basic class through an unmodified RabbitMQ client (amqplib): publish/consume of bodies
 * and properties, consumers, prefetch, get, ack/nack/reject, requeue, recover, mandatory returns.
 * RabbitMQ's behaviour (reply codes included) is the reference.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Channel, ConsumeMessage, GetMessage, Message } from 'amqplib';
import { startTestBroker, waitFor } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { body, clientHelpers, closeQuietly, count, defs, getOrFail, nextError, qname, raw, rejectsWithCode, sleep, waitForCount } from './helpers/amqp-client.js';

let broker: TestBroker;

before(async () => {
  broker = await startTestBroker();
});

after(async () => {
  await broker.stop();
});

// ---- helpers ----

const { connect, channel, withConn, declare } = clientHelpers(() => broker.url);

function publishNumbers(ch: Channel, q: string, from: number, to: number): void {
  for (let i = from; i <= to; i++) ch.sendToQueue(q, Buffer.from(String(i)));
}

/** Lets in-flight deliveries arrive: a round trip on the channel, then a short grace period. */
async function settle(ch: Channel, q: string): Promise<void> {
  await ch.checkQueue(q);
  await sleep(40);
}


// ---- tests ----

describe('basic.publish / basic.deliver', () => {
  test('bodies of 0 bytes, 1 byte, 200 KB and 3 MB arrive byte-exact', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'bodies');
      const bodies = [Buffer.alloc(0), Buffer.from([0xa5]), randomBytes(200 * 1024), randomBytes(3 * 1024 * 1024)];
      const got: ConsumeMessage[] = [];
      await ch.consume(q, (m) => { if (m) got.push(m); }, { noAck: true });
      bodies.forEach((b, i) => ch.sendToQueue(q, b, { messageId: String(i) }));
      await waitFor(() => got.length === bodies.length, 5000, 'all bodies');
      for (let i = 0; i < bodies.length; i++) {
        const m = got[i]!;
        assert.equal(m.properties.messageId, String(i), 'order');
        assert.equal(m.content.length, bodies[i]!.length, `length of body ${i}`);
        assert.ok(m.content.equals(bodies[i]!), `body ${i} (${bodies[i]!.length} bytes) is byte-exact`);
      }
      // The same through basic.get (get-ok path)
      await ch.cancel(got[0]!.fields.consumerTag);
      ch.sendToQueue(q, bodies[3]!);
      const g = await getOrFail(ch, q, { noAck: true });
      assert.ok(g.content.equals(bodies[3]!), '3 MB via basic.get is byte-exact');
    });
  });

  test('all 14 basic properties round-trip exactly (consume and get)', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'props');
      const nestedBuf = Buffer.from([0, 1, 2, 254, 255]);
      const sentHeaders = {
        str: 'hello ünïcødé',
        empty: '',
        byte: -5,
        short: -1000,
        int: 100000,
        long: 2 ** 40,
        negLong: -(2 ** 40),
        double: 3.25,
        yes: true,
        no: false,
        nothing: null,
        bin: Buffer.from('binary\x00data'),
        arr: [1, 'two', true, null, [3, [4]], { k: 'v' }, Buffer.from([9])],
        emptyArr: [],
        nested: { a: { b: { c: 1, d: 'deep', e: [false] } }, buf: nestedBuf },
        emptyTable: {},
        ts: { '!': 'timestamp', value: 1700000000 },
        dec: { '!': 'decimal', value: { places: 2, digits: 12345 } },
        f32: { '!': 'float', value: 1.5 },
        u8: { '!': 'uint8', value: 200 },
        u16: { '!': 'uint16', value: 60000 },
        u32: { '!': 'uint32', value: 4000000000 },
        i64: { '!': 'int64', value: 7 },
      };
      const expectedHeaders = {
        ...sentHeaders,
        f32: 1.5,
        u8: 200,
        u16: 60000,
        u32: 4000000000,
        i64: 7,
      };
      const common = {
        contentType: 'application/json',
        contentEncoding: 'gzip',
        deliveryMode: 2,
        priority: 7,
        correlationId: 'corr-42',
        replyTo: 'some-reply-queue',
        expiration: '600000',
        messageId: 'msg-42',
        timestamp: 1700000000,
        type: 'order.created',
        userId: 'guest', // RabbitMQ requires user-id to be the authenticated user
        appId: 'warren-tests',
        clusterId: 'cluster-a',
      };
      const content = Buffer.from('{"x":1}');
      const publishFields = { exchange: '', routingKey: q, mandatory: false, immediate: false };
      // Raw publish: amqplib's publish() never sends cluster-id.
      raw(ch).sendMessage(publishFields, { ...common, headers: sentHeaders }, content);
      raw(ch).sendMessage(publishFields, { ...common, headers: sentHeaders }, content);
      const expected = { ...common, headers: expectedHeaders };

      const g = await getOrFail(ch, q, { noAck: true });
      assert.deepStrictEqual({ ...g.properties }, expected);
      assert.ok(g.content.equals(content));

      const got: ConsumeMessage[] = [];
      await ch.consume(q, (m) => { if (m) got.push(m); }, { noAck: true });
      await waitFor(() => got.length === 1, 3000, 'delivery');
      assert.deepStrictEqual({ ...got[0]!.properties }, expected);
      assert.ok(got[0]!.content.equals(content));
    });
  });

  test('publish API properties (no cluster-id) round-trip; absent properties stay absent', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'props-api');
      ch.sendToQueue(q, Buffer.from('a'), { persistent: true, priority: 3, headers: { n: 1 }, timestamp: 123, type: 't' });
      ch.sendToQueue(q, Buffer.from('b'));
      const a = await getOrFail(ch, q, { noAck: true });
      assert.equal(a.properties.deliveryMode, 2);
      assert.equal(a.properties.priority, 3);
      assert.deepStrictEqual(a.properties.headers, { n: 1 });
      assert.equal(a.properties.timestamp, 123);
      assert.equal(a.properties.type, 't');
      assert.equal(a.properties.contentType, undefined);
      assert.equal(a.properties.messageId, undefined);
      assert.equal(a.properties.clusterId, undefined);
      const b = await getOrFail(ch, q, { noAck: true });
      assert.equal(b.properties.deliveryMode, undefined);
      assert.equal(b.properties.correlationId, undefined);
      assert.deepStrictEqual(b.properties.headers, {});
    });
  });

  test('deliver fields: consumer tag, per-channel increasing delivery tags, redelivered, exchange, routing key', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const ch2 = await channel(conn);
      const ex = qname('fields-x');
      await ch.assertExchange(ex, 'direct', { durable: false });
      const q = await declare(ch, 'fields');
      await ch.bindQueue(q, ex, 'rk.a');
      const got: ConsumeMessage[] = [];
      const ok = await ch.consume(q, (m) => { if (m) got.push(m); }, { consumerTag: 'ctag-fields' });
      assert.equal(ok.consumerTag, 'ctag-fields');
      for (let i = 0; i < 3; i++) ch.publish(ex, 'rk.a', Buffer.from(String(i)));
      await waitFor(() => got.length === 3, 3000, '3 deliveries');
      got.forEach((m, i) => {
        assert.equal(m.fields.consumerTag, 'ctag-fields');
        assert.equal(m.fields.deliveryTag, i + 1);
        assert.equal(m.fields.redelivered, false);
        assert.equal(m.fields.exchange, ex);
        assert.equal(m.fields.routingKey, 'rk.a');
        assert.equal(body(m), String(i));
      });
      await ch.cancel('ctag-fields');
      // basic.get shares the channel's delivery-tag sequence
      ch.publish(ex, 'rk.a', Buffer.from('g'));
      const g = await getOrFail(ch, q);
      assert.equal(g.fields.deliveryTag, 4);
      assert.equal(g.fields.exchange, ex);
      assert.equal(g.fields.routingKey, 'rk.a');
      assert.equal(g.fields.redelivered, false);
      ch.ack(g);
      // delivery tags are per channel: another channel starts at 1
      ch2.publish(ex, 'rk.a', Buffer.from('h'));
      const h = await getOrFail(ch2, q);
      assert.equal(h.fields.deliveryTag, 1);
      ch2.ack(h);
      got.forEach((m) => ch.ack(m));
      await settle(ch, q);
      assert.equal(await count(ch, q), 0);
    });
  });

  test('publish to a missing exchange → channel error 404', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const err = nextError(ch);
      ch.publish(qname('no-such-exchange'), 'k', Buffer.from('x'));
      assert.equal((await err).code, 404);
    });
  });

  test('user-id different from the authenticated user → channel error 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'userid');
      const err = nextError(ch);
      ch.sendToQueue(q, Buffer.from('x'), { userId: 'mallory' });
      assert.equal((await err).code, 406);
    });
  });
});

describe('basic.consume / basic.cancel', () => {
  test('client-chosen tag is used; empty tag gets a server-generated amq.ctag-…', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'tags');
      const got: ConsumeMessage[] = [];
      const a = await ch.consume(q, (m) => { if (m) got.push(m); }, { noAck: true });
      const b = await ch.consume(q, (m) => { if (m) got.push(m); }, { noAck: true });
      const c = await ch.consume(q, (m) => { if (m) got.push(m); }, { noAck: true, consumerTag: 'my-tag' });
      assert.match(a.consumerTag, /^amq\.ctag-.+/);
      assert.match(b.consumerTag, /^amq\.ctag-.+/);
      assert.notEqual(a.consumerTag, b.consumerTag);
      assert.equal(c.consumerTag, 'my-tag');
      publishNumbers(ch, q, 1, 3);
      await waitFor(() => got.length === 3, 3000, '3 deliveries');
      assert.deepStrictEqual(new Set(got.map((m) => m.fields.consumerTag)), new Set([a.consumerTag, b.consumerTag, 'my-tag']));
    });
  });

  test('duplicate consumer tag on one channel → connection error 530', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'dup-tag');
      await ch.consume(q, () => {}, { consumerTag: 'dup' });
      const err = nextError(conn);
      await assert.rejects(ch.consume(q, () => {}, { consumerTag: 'dup' }));
      assert.equal((await err).code, 530);
    });
  });

  test('the same consumer tag on two different channels is fine', async () => {
    await withConn(async (conn) => {
      const ch1 = await channel(conn);
      const ch2 = await channel(conn);
      const q = await declare(ch1, 'same-tag');
      await ch1.consume(q, () => {}, { consumerTag: 'shared' });
      const ok = await ch2.consume(q, () => {}, { consumerTag: 'shared' });
      assert.equal(ok.consumerTag, 'shared');
    });
  });

  test('exclusive consume on a queue with consumers → 403; consume on a queue with an exclusive consumer → 403', async () => {
    await withConn(async (conn) => {
      const setup = await channel(conn);
      const q1 = await declare(setup, 'excl-a');
      const q2 = await declare(setup, 'excl-b');

      const ch1 = await channel(conn);
      await ch1.consume(q1, () => {});
      const ch2 = await channel(conn);
      await rejectsWithCode(ch2.consume(q1, () => {}, { exclusive: true }), 403);

      const ch3 = await channel(conn);
      await ch3.consume(q2, () => {}, { exclusive: true });
      const ch4 = await channel(conn);
      await rejectsWithCode(ch4.consume(q2, () => {}), 403);
      const ch5 = await channel(conn);
      await rejectsWithCode(ch5.consume(q2, () => {}, { exclusive: true }), 403);
      // once the queue has no consumer left, an exclusive consume succeeds
      await ch1.close();
      const ch6 = await channel(conn);
      await ch6.consume(q1, () => {}, { exclusive: true });
    });
  });

  test('consume on a missing queue → 404', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await rejectsWithCode(ch.consume(qname('missing'), () => {}), 404);
    });
  });

  test('noAck consumer: messages are settled on delivery and not requeued when the channel closes', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'noack');
      const cch = await channel(conn);
      const got: ConsumeMessage[] = [];
      await cch.consume(q, (m) => { if (m) got.push(m); }, { noAck: true });
      publishNumbers(ch, q, 1, 5);
      await waitFor(() => got.length === 5, 3000, '5 deliveries');
      assert.deepStrictEqual(got.map(body), ['1', '2', '3', '4', '5']);
      await cch.close();
      assert.equal(await count(ch, q), 0);
    });
  });

  test('cancel: no further deliveries; unacked messages stay unacked until acked', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'cancel');
      const cch = await channel(conn);
      const got: ConsumeMessage[] = [];
      const { consumerTag } = await cch.consume(q, (m) => { if (m) got.push(m); });
      publishNumbers(ch, q, 1, 2);
      await waitFor(() => got.length === 2, 3000, '2 deliveries');
      const ok = await cch.cancel(consumerTag);
      assert.equal(ok.consumerTag, consumerTag);
      publishNumbers(ch, q, 3, 4);
      await settle(ch, q);
      assert.equal(got.length, 2, 'no delivery after cancel-ok');
      assert.equal(await count(ch, q), 2, 'only the new messages are ready: the unacked ones were not requeued');
      cch.ack(got[0]!);
      cch.ack(got[1]!);
      await settle(cch, q);
      assert.equal(await count(ch, q), 2);
      await cch.close(); // nothing left unacked: closing must not requeue anything
      assert.equal(await count(ch, q), 2);
      const m = await getOrFail(ch, q, { noAck: true });
      assert.equal(body(m), '3');
      assert.equal(m.fields.redelivered, false);
    });
  });

  test('cancel of an unknown consumer tag is answered with cancel-ok', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const ok = await ch.cancel('never-registered');
      assert.equal(ok.consumerTag, 'never-registered');
    });
  });

  test('queue deleted under a consumer → server basic.cancel (callback gets null)', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'srv-cancel');
      const cch = await channel(conn);
      const calls: (ConsumeMessage | null)[] = [];
      const cancels: string[] = [];
      cch.on('cancel', (f: { consumerTag: string }) => cancels.push(f.consumerTag));
      const { consumerTag } = await cch.consume(q, (m) => calls.push(m));
      await ch.deleteQueue(q);
      await waitFor(() => calls.length === 1, 3000, 'consumer callback with null');
      assert.equal(calls[0], null);
      assert.deepStrictEqual(cancels, [consumerTag]);
      // the channel stays open
      const other = await declare(cch, 'after-cancel');
      assert.equal(await count(cch, other), 0);
    });
  });
});

describe('round-robin and prefetch (basic.qos)', () => {
  test('messages are distributed round-robin between the consumers of one queue', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'rr');
      const c1 = await channel(conn);
      const c2 = await channel(conn);
      const a: ConsumeMessage[] = [];
      const b: ConsumeMessage[] = [];
      await c1.consume(q, (m) => { if (m) a.push(m); }, { noAck: true });
      await c2.consume(q, (m) => { if (m) b.push(m); }, { noAck: true });
      publishNumbers(ch, q, 1, 10);
      await waitFor(() => a.length + b.length === 10, 3000, '10 deliveries');
      assert.equal(a.length, 5);
      assert.equal(b.length, 5);
      assert.deepStrictEqual([...a, ...b].map((m) => Number(body(m))).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });
  });

  test('prefetch 1: a consumer that does not ack gets exactly one message, the other gets the rest', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'pf1');
      const slow = await channel(conn);
      const fast = await channel(conn);
      await slow.prefetch(1);
      await fast.prefetch(1);
      const a: ConsumeMessage[] = [];
      const b: ConsumeMessage[] = [];
      await slow.consume(q, (m) => { if (m) a.push(m); });
      await fast.consume(q, (m) => { if (m) { b.push(m); fast.ack(m); } });
      publishNumbers(ch, q, 1, 10);
      await waitFor(() => a.length + b.length === 10, 3000, '10 deliveries');
      await settle(ch, q);
      assert.equal(a.length, 1, 'the non-acking consumer holds exactly one');
      assert.equal(b.length, 9);
      assert.equal(await count(ch, q), 0);
    });
  });

  test('prefetch(n, false) limits each consumer created afterwards; existing consumers keep their limit', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q1 = await declare(ch, 'pfc-1');
      const q2 = await declare(ch, 'pfc-2');
      const q3 = await declare(ch, 'pfc-3');
      for (const q of [q1, q2, q3]) publishNumbers(ch, q, 1, 10);
      await ch.checkQueue(q3);
      const cch = await channel(conn);
      await cch.prefetch(2, false);
      const got: Record<string, ConsumeMessage[]> = { [q1]: [], [q2]: [], [q3]: [] };
      await cch.consume(q1, (m) => { if (m) got[q1]!.push(m); });
      await cch.consume(q2, (m) => { if (m) got[q2]!.push(m); });
      await waitFor(() => got[q1]!.length === 2 && got[q2]!.length === 2, 3000, '2 + 2 deliveries');
      await settle(cch, q1);
      assert.equal(got[q1]!.length, 2, 'per-consumer limit, not shared');
      assert.equal(got[q2]!.length, 2);
      // acking one frees one slot of that consumer only
      cch.ack(got[q1]![0]!);
      await waitFor(() => got[q1]!.length === 3, 3000, 'one more delivery after ack');
      // raising the per-consumer prefetch applies to consumers created afterwards (RabbitMQ)
      await cch.prefetch(5, false);
      await cch.consume(q3, (m) => { if (m) got[q3]!.push(m); });
      await waitFor(() => got[q3]!.length === 5, 3000, '5 deliveries to the new consumer');
      await settle(cch, q3);
      assert.equal(got[q3]!.length, 5);
      assert.equal(got[q1]!.length, 3, 'existing consumer keeps prefetch 2');
      assert.equal(got[q2]!.length, 2, 'existing consumer keeps prefetch 2');
    });
  });

  test('prefetch(n, true) is shared by all consumers of the channel; raising it resumes deliveries', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q1 = await declare(ch, 'pfg-1');
      const q2 = await declare(ch, 'pfg-2');
      for (const q of [q1, q2]) publishNumbers(ch, q, 1, 10);
      await ch.checkQueue(q2);
      const cch = await channel(conn);
      await cch.prefetch(3, true);
      const got: ConsumeMessage[] = [];
      await cch.consume(q1, (m) => { if (m) got.push(m); });
      await cch.consume(q2, (m) => { if (m) got.push(m); });
      await waitFor(() => got.length === 3, 3000, '3 deliveries');
      await settle(cch, q1);
      assert.equal(got.length, 3, 'the channel-wide limit covers both consumers');
      cch.ack(got[0]!);
      await waitFor(() => got.length === 4, 3000, 'one more after an ack');
      await settle(cch, q1);
      assert.equal(got.length, 4);
      await cch.prefetch(6, true);
      await waitFor(() => got.length === 7, 3000, 'raising the prefetch resumes deliveries');
      await settle(cch, q1);
      assert.equal(got.length, 7, '6 unacked after raising the global prefetch to 6');
      await cch.prefetch(0, true);
      await waitFor(() => got.length === 20, 3000, 'prefetch 0 = unlimited');
    });
  });
});

describe('basic.get', () => {
  test('get-ok carries the remaining message count; empty queue → get-empty (false)', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'get');
      assert.equal(await ch.get(q), false);
      publishNumbers(ch, q, 1, 3);
      const m1 = await getOrFail(ch, q);
      assert.equal(body(m1), '1');
      assert.equal(m1.fields.messageCount, 2);
      assert.equal(m1.fields.redelivered, false);
      assert.equal(m1.fields.exchange, '');
      assert.equal(m1.fields.routingKey, q);
      const m2 = await getOrFail(ch, q);
      assert.equal(m2.fields.messageCount, 1);
      const m3 = await getOrFail(ch, q);
      assert.equal(m3.fields.messageCount, 0);
      assert.equal(await ch.get(q), false);
      ch.ack(m3, true);
      await settle(ch, q);
      assert.equal(await count(ch, q), 0);
    });
  });

  test('get on a missing queue → 404', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await rejectsWithCode(ch.get(qname('missing-get')), 404);
    });
  });

  test('get noAck: the message is gone without an ack (not requeued on close)', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'get-noack');
      publishNumbers(ch, q, 1, 1);
      const gch = await channel(conn);
      const m = await getOrFail(gch, q, { noAck: true });
      assert.equal(body(m), '1');
      await gch.close();
      assert.equal(await count(ch, q), 0);
    });
  });
});

describe('basic.ack / basic.nack / basic.reject', () => {
  test('ack single and multiple', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'ack');
      publishNumbers(ch, q, 1, 5);
      const gch = await channel(conn);
      const ms: GetMessage[] = [];
      for (let i = 0; i < 5; i++) ms.push(await getOrFail(gch, q));
      assert.deepStrictEqual(ms.map((m) => m.fields.deliveryTag), [1, 2, 3, 4, 5]);
      gch.ack(ms[2]!, true); // 1..3
      gch.ack(ms[4]!); // 5
      await settle(gch, q);
      await gch.close(); // 4 goes back
      assert.equal(await count(ch, q), 1);
      const m = await getOrFail(ch, q, { noAck: true });
      assert.equal(body(m), '4');
      assert.equal(m.fields.redelivered, true);
    });
  });

  test('nack/reject with requeue=false drop messages (single and multiple)', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'drop');
      publishNumbers(ch, q, 1, 5);
      const gch = await channel(conn);
      const ms: GetMessage[] = [];
      for (let i = 0; i < 5; i++) ms.push(await getOrFail(gch, q));
      gch.nack(ms[1]!, true, false); // drops 1, 2
      gch.reject(ms[2]!, false); // drops 3
      gch.nack(ms[3]!, false, false); // drops 4
      gch.reject(ms[4]!, true); // 5 back
      await settle(gch, q);
      assert.equal(await count(ch, q), 1);
      await gch.close();
      assert.equal(await count(ch, q), 1);
      const m = await getOrFail(ch, q, { noAck: true });
      assert.equal(body(m), '5');
      assert.equal(m.fields.redelivered, true);
    });
  });

  test('nack multiple with requeue=true requeues all of them, redelivered', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'nack-multi');
      publishNumbers(ch, q, 1, 3);
      const ms: GetMessage[] = [];
      for (let i = 0; i < 3; i++) ms.push(await getOrFail(ch, q));
      ch.nack(ms[2]!, true, true);
      await settle(ch, q);
      assert.equal(await count(ch, q), 3);
      for (const want of ['1', '2', '3']) {
        const m = await getOrFail(ch, q, { noAck: true });
        assert.equal(body(m), want);
        assert.equal(m.fields.redelivered, true);
      }
    });
  });

  test('requeued messages go back to their original position, redelivered, before never-delivered ones', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'requeue-order');
      publishNumbers(ch, q, 1, 10);
      const gch = await channel(conn);
      const ms: GetMessage[] = [];
      for (let i = 0; i < 5; i++) ms.push(await getOrFail(gch, q));
      assert.deepStrictEqual(ms.map(body), ['1', '2', '3', '4', '5']);
      gch.nack(ms[1]!, false, true); // 2
      gch.reject(ms[3]!, true); // 4
      await settle(gch, q);
      const cch = await channel(conn);
      const got: ConsumeMessage[] = [];
      await cch.consume(q, (m) => { if (m) { got.push(m); cch.ack(m); } });
      await waitFor(() => got.length === 7, 3000, '7 deliveries');
      assert.deepStrictEqual(got.map(body), ['2', '4', '6', '7', '8', '9', '10']);
      assert.deepStrictEqual(got.map((m) => m.fields.redelivered), [true, true, false, false, false, false, false]);
      gch.ack(ms[4]!, true); // acks 1, 3, 5 (2 and 4 are no longer outstanding)
      await settle(gch, q);
      await gch.close();
      await settle(cch, q);
      assert.equal(await count(ch, q), 0);
    });
  });

  test('ack of an unknown delivery tag → channel error 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const err = nextError(ch);
      ch.ack({ fields: { deliveryTag: 99 } } as unknown as Message);
      const e = await err;
      assert.equal(e.code, 406);
      assert.equal(e.classId, 60);
      assert.equal(e.methodId, 80);
    });
  });

  test('double ack → channel error 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'double-ack');
      publishNumbers(ch, q, 1, 1);
      const gch = await channel(conn);
      const m = await getOrFail(gch, q);
      const err = nextError(gch);
      gch.ack(m);
      gch.ack(m);
      assert.equal((await err).code, 406);
      assert.equal(await count(ch, q), 0, 'the first ack took effect');
    });
  });

  test('nack/reject of an unknown delivery tag → channel error 406', async () => {
    await withConn(async (conn) => {
      const ch1 = await channel(conn);
      const e1 = nextError(ch1);
      ch1.nack({ fields: { deliveryTag: 7 } } as unknown as Message, false, true);
      assert.equal((await e1).code, 406);
      const ch2 = await channel(conn);
      const e2 = nextError(ch2);
      ch2.reject({ fields: { deliveryTag: 7 } } as unknown as Message, false);
      assert.equal((await e2).code, 406);
    });
  });

  test("ack of another channel's delivery tag → 406 on the acking channel; the owner can still ack", async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'foreign-ack');
      publishNumbers(ch, q, 1, 1);
      const owner = await channel(conn);
      const other = await channel(conn);
      const m = await getOrFail(owner, q);
      const err = nextError(other);
      other.ack(m);
      assert.equal((await err).code, 406);
      owner.ack(m);
      await settle(owner, q);
      await owner.close();
      assert.equal(await count(ch, q), 0);
    });
  });
});

describe('requeue of unacked messages', () => {
  test('unacked messages return to the queue, redelivered, when their channel closes', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'close-ch');
      publishNumbers(ch, q, 1, 3);
      const cch = await channel(conn);
      const got: ConsumeMessage[] = [];
      await cch.consume(q, (m) => { if (m) got.push(m); });
      await waitFor(() => got.length === 3, 3000, '3 deliveries');
      assert.ok(got.every((m) => !m.fields.redelivered));
      await cch.close();
      assert.equal(await count(ch, q), 3);
      for (const want of ['1', '2', '3']) {
        const m = await getOrFail(ch, q, { noAck: true });
        assert.equal(body(m), want);
        assert.equal(m.fields.redelivered, true);
      }
    });
  });

  test('unacked messages return to the queue, redelivered, when their connection closes', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'close-conn');
      publishNumbers(ch, q, 1, 3);
      await ch.checkQueue(q);
      const conn2 = await connect();
      try {
        const cch = await channel(conn2);
        const got: ConsumeMessage[] = [];
        await cch.consume(q, (m) => { if (m) got.push(m); });
        await waitFor(() => got.length === 3, 3000, '3 deliveries');
      } finally {
        await closeQuietly(conn2);
      }
      await waitForCount(ch, q, 3);
      const c = await channel(conn);
      const got: ConsumeMessage[] = [];
      await c.consume(q, (m) => { if (m) got.push(m); }, { noAck: true });
      await waitFor(() => got.length === 3, 3000, 'redeliveries');
      assert.deepStrictEqual(got.map(body), ['1', '2', '3']);
      assert.ok(got.every((m) => m.fields.redelivered));
    });
  });

  test('basic.recover requeues unacked messages; they are redelivered', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'recover');
      const got: ConsumeMessage[] = [];
      await ch.consume(q, (m) => { if (m) got.push(m); });
      publishNumbers(ch, q, 1, 2);
      await waitFor(() => got.length === 2, 3000, '2 deliveries');
      await ch.recover();
      await waitFor(() => got.length === 4, 3000, '2 redeliveries');
      assert.deepStrictEqual(got.map(body), ['1', '2', '1', '2']);
      assert.deepStrictEqual(got.map((m) => m.fields.redelivered), [false, false, true, true]);
      assert.ok(got[2]!.fields.deliveryTag > got[1]!.fields.deliveryTag, 'redeliveries get new tags');
      ch.ack(got[3]!, true);
      await settle(ch, q);
      await ch.close();
      const ch2 = await channel(conn);
      assert.equal(await count(ch2, q), 0);
    });
  });

  test('old delivery tags are invalid after basic.recover → 406', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'recover-tag');
      publishNumbers(ch, q, 1, 1);
      const m = await getOrFail(ch, q);
      await ch.recover();
      const err = nextError(ch);
      ch.ack(m);
      assert.equal((await err).code, 406);
    });
  });
});

describe('unsupported or refused features', () => {
  test('basic.qos with prefetch_size != 0 → connection error 540', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const err = nextError(conn);
      await assert.rejects(raw(ch).rpc(defs.BasicQos!, { prefetchSize: 1024, prefetchCount: 10, global: false }, defs.BasicQosOk!));
      assert.equal((await err).code, 540);
    });
  });

  test('basic.publish with immediate=true → connection error 540', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'immediate');
      const err = nextError(conn);
      raw(ch).sendMessage({ exchange: '', routingKey: q, mandatory: false, immediate: true }, {}, Buffer.from('x'));
      assert.equal((await err).code, 540);
    });
  });

  test('channel.flow active=true → flow-ok', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const ok = await raw(ch).rpc(defs.ChannelFlow!, { active: true }, defs.ChannelFlowOk!);
      assert.equal(ok.active, true);
    });
  });

  test('channel.flow active=false from a client → connection error 540 (RabbitMQ does not implement it)', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const err = nextError(conn);
      const rpc = raw(ch).rpc(defs.ChannelFlow!, { active: false }, defs.ChannelFlowOk!).catch((e: Error) => e);
      assert.equal((await err).code, 540);
      assert.ok((await rpc) instanceof Error);
    });
  });
});

describe('mandatory and basic.return', () => {
  test('mandatory publish to an unroutable key → basic.return 312 NO_ROUTE with the message', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const returns: Message[] = [];
      ch.on('return', (m: Message) => returns.push(m));
      const content = randomBytes(1000);
      ch.publish('amq.direct', 'nowhere-at-all', content, { mandatory: true, messageId: 'r1', headers: { h: 'v' } });
      const missing = qname('no-such-queue');
      ch.sendToQueue(missing, Buffer.from('to default'), { mandatory: true });
      await waitFor(() => returns.length === 2, 3000, '2 returns');
      const [r1, r2] = returns as [Message, Message];
      const f1 = r1.fields as unknown as Record<string, unknown>;
      assert.equal(f1.replyCode, 312);
      assert.equal(f1.replyText, 'NO_ROUTE');
      assert.equal(f1.exchange, 'amq.direct');
      assert.equal(f1.routingKey, 'nowhere-at-all');
      assert.ok(r1.content.equals(content));
      assert.equal(r1.properties.messageId, 'r1');
      assert.deepStrictEqual(r1.properties.headers, { h: 'v' });
      const f2 = r2.fields as unknown as Record<string, unknown>;
      assert.equal(f2.replyCode, 312);
      assert.equal(f2.exchange, '');
      assert.equal(f2.routingKey, missing);
      assert.equal(body(r2), 'to default');
    });
  });

  test('unroutable publish without mandatory is dropped silently; routable mandatory is not returned', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = await declare(ch, 'mand-ok');
      const returns: Message[] = [];
      ch.on('return', (m: Message) => returns.push(m));
      ch.publish('amq.direct', 'nowhere-at-all', Buffer.from('x'));
      ch.sendToQueue(q, Buffer.from('y'), { mandatory: true });
      await settle(ch, q);
      assert.equal(returns.length, 0);
      assert.equal(await count(ch, q), 1);
    });
  });
});
