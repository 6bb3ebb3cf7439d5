/**
 * queue.declare (and exchange.declare alternate-exchange) argument validation through amqplib,
 * against RabbitMQ 3.13's checks and error texts:
 * - every invalid argument is refused with 406 "invalid arg '<key>' for queue ...: <term>" (wrong
 *   type, negative, zero x-expires, too large, priority above 255, unknown x-overflow/x-queue-mode/
 *   x-queue-version/x-queue-type, DL routing key without DLX, non-bool SAC), and a non-string
 *   x-dead-letter-exchange / alternate-exchange with the channel's "invalid type" text;
 * - Erlang type names in the terms, for every field type;
 * - which argument is reported when several are invalid (the DLX type first, then RabbitMQ's order);
 *   re-declaring an existing queue with a bad value is an equivalence error;
 * - valid values of every integer width (amqplib typed values {'!': type, value}) are accepted,
 *   take effect, and are equivalent to each other on re-declare; the boundaries are accepted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel, ChannelModel } from 'amqplib';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { clientHelpers, count, qname, waitForCount } from './helpers/amqp-client.js';
import { expectChannelClose, PRECONDITION_FAILED } from './helpers/queue-features.js';

let broker: TestBroker;
before(async () => { broker = await startTestBroker(); });
after(async () => { await broker.stop(); });

const { channel, withConn } = clientHelpers(() => broker.url);

type Args = Record<string, unknown>;
const typed = (type: string, value: unknown) => ({ '!': type, value });

/** Declares a fresh queue with `args` and expects 406 with `invalid arg '<key>' ...: <term>`. */
async function expectInvalid(conn: ChannelModel, key: string, args: Args, term: string, timeoutMs = 3000): Promise<void> {
  const q = qname('bad');
  await expectChannelClose(conn, (c) => c.assertQueue(q, { durable: false, arguments: args }), PRECONDITION_FAILED,
    `PRECONDITION_FAILED - invalid arg '${key}' for queue '${q}' in vhost '/': ${term}`, timeoutMs);
  const ch = await channel(conn);
  await assert.rejects(ch.checkQueue(q), (e: { code?: number }) => e.code === 404, 'the queue was not created');
}

describe('invalid queue arguments → 406 naming the argument', () => {
  const cases: [string, unknown, string][] = [
    ['x-message-ttl', 'abc', '"expected integer, got longstr"'],
    ['x-message-ttl', -1, '{value_negative,-1}'],
    ['x-message-ttl', 1.5, '"expected integer, got double"'],
    ['x-message-ttl', typed('long', 315360000001), '{value_too_large,315360000001}'],
    ['x-expires', 0, '{value_zero,0}'],
    ['x-expires', -5, '{value_negative,-5}'],
    ['x-expires', typed('long', 315360000001), '{value_too_large,315360000001}'],
    ['x-expires', true, '"expected integer, got bool"'],
    ['x-max-length', -1, '{value_negative,-1}'],
    ['x-max-length', 'ten', '"expected integer, got longstr"'],
    ['x-max-length-bytes', -1000, '{value_negative,-1000}'],
    ['x-max-priority', 256, '{max_value_exceeded,256}'],
    ['x-max-priority', -1, '{value_negative,-1}'],
    ['x-overflow', 'drop-tail', 'invalid_overflow'],
    ['x-overflow', typed('long', 1), '{unacceptable_type,long}'],
    ['x-single-active-consumer', 'true', '{unacceptable_type,longstr}'],
    ['x-queue-mode', 'fast', `"unsupported queue mode 'fast'"`],
  ];
  for (const [key, value, term] of cases) {
    test(`${key} = ${JSON.stringify(value)} → ${term}`, async () => {
      await withConn((conn) => expectInvalid(conn, key, { [key]: value }, term));
    });
  }

  test('x-dead-letter-routing-key without x-dead-letter-exchange, or not a string', async () => {
    await withConn(async (conn) => {
      await expectInvalid(conn, 'x-dead-letter-routing-key', { 'x-dead-letter-routing-key': 'k' }, 'routing_key_but_no_dlx_defined');
      await expectInvalid(conn, 'x-dead-letter-routing-key',
        { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': typed('long', 5) }, '{unacceptable_type,long}');
      // Longer than a shortstr: a dead-lettered message could not be delivered with it.
      await expectInvalid(conn, 'x-dead-letter-routing-key',
        { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'k'.repeat(256) }, '"routing key of 256 bytes, longer than 255"');
    });
  });

  test('a non-string x-dead-letter-exchange gets the channel\'s "invalid type" text', async () => {
    await withConn(async (conn) => {
      const q = qname('bad-dlx');
      await expectChannelClose(conn, (c) => c.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': typed('long', 5) } }),
        PRECONDITION_FAILED, `PRECONDITION_FAILED - invalid type 'long' for arg 'x-dead-letter-exchange' in queue '${q}' in vhost '/'`);
    });
  });

  test('a non-string alternate-exchange on exchange.declare → 406', async () => {
    await withConn(async (conn) => {
      const x = qname('bad-ae');
      await expectChannelClose(conn, (c) => c.assertExchange(x, 'direct', { durable: false, arguments: { 'alternate-exchange': typed('long', 5) } }),
        PRECONDITION_FAILED, `PRECONDITION_FAILED - invalid type 'long' for arg 'alternate-exchange' in exchange '${x}' in vhost '/'`);
    });
  });

  test('x-queue-version and x-queue-type are validated', async () => {
    await withConn(async (conn) => {
      await expectInvalid(conn, 'x-queue-version', { 'x-queue-version': 3 }, `"unsupported queue version '3'"`, 1000);
      await expectInvalid(conn, 'x-queue-type', { 'x-queue-type': 'fancy' }, `"unsupported queue type 'fancy'"`, 1000);
    });
  });
});

describe('Erlang type names in the error terms', () => {
  const sac = 'x-single-active-consumer';
  test('int, long, float, double, decimal, timestamp, void, array, table, bool', async () => {
    await withConn(async (conn) => {
      const cases: [unknown, string][] = [
        [typed('int', 7), 'signedint'], [typed('long', 7), 'long'], [typed('float', 1.5), 'float'],
        [typed('double', 2), 'double'], [typed('decimal', { places: 1, digits: 5 }), 'decimal'],
        [typed('timestamp', 5), 'timestamp'], [null, 'void'], [['a'], 'array'], [{ a: 1 }, 'table'],
      ];
      for (const [value, name] of cases) await expectInvalid(conn, sac, { [sac]: value }, `{unacceptable_type,${name}}`);
      await expectInvalid(conn, 'x-max-length', { 'x-max-length': false }, '"expected integer, got bool"');
      await expectInvalid(conn, 'x-max-length', { 'x-max-length': typed('float', 2) }, '"expected integer, got float"');
    });
  });

  test('byte, short, unsignedbyte, unsignedshort, unsignedint', async () => {
    await withConn(async (conn) => {
      const cases: [unknown, string][] = [
        [typed('byte', 1), 'byte'], [typed('short', 1), 'short'], [typed('unsignedbyte', 1), 'unsignedbyte'],
        [typed('unsignedshort', 1), 'unsignedshort'], [typed('unsignedint', 1), 'unsignedint'],
      ];
      for (const [value, name] of cases) await expectInvalid(conn, sac, { [sac]: value }, `{unacceptable_type,${name}}`);
      const q = qname('bad-dlx-byte');
      await expectChannelClose(conn, (c) => c.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': 5 } }),
        PRECONDITION_FAILED, `invalid type 'byte' for arg 'x-dead-letter-exchange' in queue '${q}'`);
    });
  });
});

describe('which argument is reported', () => {
  test('several invalid arguments: the DLX type first, then RabbitMQ\'s argument order (not the client\'s)', async () => {
    await withConn(async (conn) => {
      const q = qname('order');
      await expectChannelClose(conn, (c) => c.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': -1, 'x-dead-letter-exchange': typed('long', 1) } }),
        PRECONDITION_FAILED, `invalid type 'long' for arg 'x-dead-letter-exchange'`);
      await expectInvalid(conn, 'x-expires', { 'x-max-length': -1, 'x-expires': 0 }, '{value_zero,0}');
    });
  });

  test('re-declaring an existing queue with an invalid value is an equivalence error', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = qname('existing');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 1000 } });
      await expectChannelClose(conn, (c) => c.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': -1 } }),
        PRECONDITION_FAILED, `PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '${q}' in vhost '/'`);
    });
  });
});

describe('valid values', () => {
  const widths: [string, number][] = [
    ['byte', 2], ['short', 2], ['int', 2], ['long', 2], ['unsignedbyte', 2], ['unsignedshort', 2], ['unsignedint', 2],
  ];

  test('x-max-length in every integer width is accepted and enforced', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      for (const [type, n] of widths) {
        const q = qname(`len-${type}`);
        await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': typed(type, n) } });
        for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(String(i)));
        await waitForCount(ch, q, 2);
        const m = await ch.get(q, { noAck: true });
        assert.ok(m && m.content.toString() === '2', `${type}: the newest two kept`);
      }
    });
  });

  test('every numeric argument accepts every integer width', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const keys = ['x-message-ttl', 'x-expires', 'x-max-length', 'x-max-length-bytes', 'x-max-priority', 'x-delivery-limit', 'x-consumer-timeout'];
      for (const key of keys) {
        for (const [type] of widths) {
          const q = qname('width');
          const args: Args = { [key]: typed(type, 100) };
          await ch.assertQueue(q, { durable: false, arguments: args });
          await ch.deleteQueue(q);
        }
      }
    });
  });

  test('x-message-ttl as an unsignedshort takes effect; other widths of the same value are equivalent', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = qname('ttl-u16');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': typed('unsignedshort', 60) } });
      ch.sendToQueue(q, Buffer.from('x'));
      await waitForCount(ch, q, 0, 1000);
      for (const [type] of widths) {
        await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': typed(type, 60) } });
      }
      await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 60 } });
    });
  });

  test('x-expires at its ten-year maximum is accepted and the queue stays', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = qname('expires-max');
      await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': typed('long', 315360000000) } });
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(await count(ch, q), 0, 'the queue is still there');
      await ch.deleteQueue(q);
    });
  });

  test('boundaries and the other valid values are accepted', async () => {
    await withConn(async (conn) => {
      const ch: Channel = await channel(conn);
      const ok: Args[] = [
        { 'x-message-ttl': 0 }, { 'x-message-ttl': typed('long', 315360000000) },
        { 'x-expires': 1 },
        { 'x-max-priority': 0 }, { 'x-max-priority': 255 }, { 'x-max-length': 0 }, { 'x-max-length-bytes': 0 },
        { 'x-overflow': 'drop-head' }, { 'x-overflow': 'reject-publish' }, { 'x-overflow': 'reject-publish-dlx' },
        { 'x-queue-mode': 'lazy' }, { 'x-queue-mode': 'default' },
        { 'x-single-active-consumer': false }, { 'x-single-active-consumer': true },
        { 'x-dead-letter-exchange': '' }, { 'x-dead-letter-exchange': 'not-yet-declared', 'x-dead-letter-routing-key': 'k' },
        { 'x-foo': 'unknown arguments are ignored' },
      ];
      for (const args of ok) {
        const q = qname('ok');
        const ok = await ch.assertQueue(q, { durable: false, arguments: args });
        assert.equal(ok.queue, q, JSON.stringify(args));
        await ch.deleteQueue(q); // (x-expires 1 may have deleted it already: delete is idempotent)
      }
    });
  });
});
