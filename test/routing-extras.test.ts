/**
 * RabbitMQ's routing extensions through amqplib:
 * - alternate exchanges: unroutable messages go to the AE's queues; mandatory is not returned when
 *   the AE routes (and confirms ack); AE chains; an AE cycle ends (returned when mandatory); a
 *   missing AE is ignored; an e2e-bound exchange that routes nowhere uses its own AE (the outer one's
 *   AE is not used because the outer routed to it);
 * - sender-selected distribution: CC and BCC route to extra keys, BCC is removed from every copy
 *   and CC kept, non-string elements are skipped, a queue reached twice gets one copy, non-array
 *   CC/BCC → 406, x-death routing-keys include CC but not BCC;
 * - internal exchanges: publishing → 403, while they work as e2e targets, AEs and DLXs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel, Message } from 'amqplib';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { clientHelpers, count, getOrFail, qname, sleep, waitForCount } from './helpers/amqp-client.js';
import {
  ACCESS_REFUSED, PRECONDITION_FAILED, expectChannelClose, queue, typedGet, xDeath,
} from './helpers/queue-features.js';

let broker: TestBroker;
before(async () => { broker = await startTestBroker(); });
after(async () => { await broker.stop(); });

const { channel, confirmChannel, withConn } = clientHelpers(() => broker.url);

async function exchange(ch: Channel, prefix: string, type: string, options: { alternateExchange?: string; internal?: boolean } = {}): Promise<string> {
  const x = qname(prefix);
  await ch.assertExchange(x, type, { durable: false, ...options });
  return x;
}

/** Counts of several queues at once. */
async function counts(ch: Channel, qs: string[]): Promise<number[]> {
  return Promise.all(qs.map((q) => count(ch, q)));
}

/** Collects basic.return on `ch`. */
function returns(ch: Channel): Message[] {
  const out: Message[] = [];
  ch.on('return', (m: Message) => out.push(m));
  return out;
}

describe('alternate exchanges', () => {
  test('unroutable messages go to the AE; mandatory is not returned when the AE routes; confirms ack', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const ae = await exchange(ch, 'ae', 'fanout');
      const x = await exchange(ch, 'ae-main', 'direct', { alternateExchange: ae });
      const main = await queue(ch, 'ae-main');
      const aeq = await queue(ch, 'ae-q');
      await ch.bindQueue(main, x, 'k');
      await ch.bindQueue(aeq, ae, '');
      const returned = returns(ch);
      ch.publish(x, 'k', Buffer.from('routed'), { mandatory: true });
      ch.publish(x, 'other', Buffer.from('unroutable'), { mandatory: true });
      await ch.waitForConfirms();
      await sleep(50);
      assert.equal(returned.length, 0, 'nothing returned');
      assert.deepEqual(await counts(ch, [main, aeq]), [1, 1]);
      const m = await getOrFail(ch, aeq, { noAck: true });
      assert.equal(m.content.toString(), 'unroutable');
      assert.equal(m.fields.exchange, x, 'delivered with the exchange it was published to');
      assert.equal(m.fields.routingKey, 'other');
    });
  });

  test('an AE chain is followed; a missing AE is ignored (mandatory returns)', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const x3 = await exchange(ch, 'chain3', 'fanout');
      const x2 = await exchange(ch, 'chain2', 'direct', { alternateExchange: x3 });
      const x1 = await exchange(ch, 'chain1', 'direct', { alternateExchange: x2 });
      const end = await queue(ch, 'chain-end');
      await ch.bindQueue(end, x3, '');
      ch.publish(x1, 'nowhere', Buffer.from('x'));
      await waitForCount(ch, end, 1);
      const lost = await exchange(ch, 'ae-missing', 'direct', { alternateExchange: qname('no-such-exchange') });
      const returned = returns(ch);
      ch.publish(lost, 'k', Buffer.from('y'), { mandatory: true });
      await sleep(100);
      assert.equal(returned.length, 1);
      assert.equal((returned[0]!.fields as unknown as { replyCode: number }).replyCode, 312);
    });
  });

  test('an AE cycle terminates: the message is returned when mandatory and the channel stays usable', async () => {
    await withConn(async (conn) => {
      const ch = await confirmChannel(conn);
      const a = qname('cycle-a');
      const b = await exchange(ch, 'cycle-b', 'direct', { alternateExchange: a });
      await ch.assertExchange(a, 'direct', { durable: false, alternateExchange: b });
      const returned = returns(ch);
      const acked: boolean[] = [];
      ch.publish(a, 'k', Buffer.from('x'), { mandatory: true }, (err) => acked.push(err === null));
      await ch.waitForConfirms();
      await sleep(50);
      assert.equal(returned.length, 1);
      assert.equal((returned[0]!.fields as unknown as { replyText: string }).replyText, 'NO_ROUTE');
      assert.deepEqual(acked, [true], 'acked after the return');
      const q = await queue(ch, 'cycle-q');
      await ch.bindQueue(q, b, 'k');
      ch.publish(a, 'k', Buffer.from('y'));
      await waitForCount(ch, q, 1);
    });
  });

  test('e2e: an inner exchange that routes nowhere uses its own AE, not the outer one\'s', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const innerAe = await exchange(ch, 'inner-ae', 'fanout');
      const outerAe = await exchange(ch, 'outer-ae', 'fanout');
      const inner = await exchange(ch, 'inner', 'direct', { alternateExchange: innerAe });
      const outer = await exchange(ch, 'outer', 'fanout', { alternateExchange: outerAe });
      await ch.bindExchange(inner, outer, '');
      const innerQ = await queue(ch, 'inner-q');
      const innerAeQ = await queue(ch, 'inner-ae-q');
      const outerAeQ = await queue(ch, 'outer-ae-q');
      await ch.bindQueue(innerQ, inner, 'k');
      await ch.bindQueue(innerAeQ, innerAe, '');
      await ch.bindQueue(outerAeQ, outerAe, '');
      ch.publish(outer, 'k', Buffer.from('routed'));
      ch.publish(outer, 'zzz', Buffer.from('inner unroutable'));
      await waitForCount(ch, innerAeQ, 1);
      await sleep(30);
      assert.deepEqual(await counts(ch, [innerQ, innerAeQ, outerAeQ]), [1, 1, 0]);
    });
  });
});

describe('CC and BCC headers', () => {
  async function setup(ch: Channel): Promise<{ x: string; qa: string; qb: string; qc: string }> {
    const x = await exchange(ch, 'cc', 'direct');
    const [qa, qb, qc] = [await queue(ch, 'cc-a'), await queue(ch, 'cc-b'), await queue(ch, 'cc-c')];
    await ch.bindQueue(qa, x, 'a');
    await ch.bindQueue(qb, x, 'b');
    await ch.bindQueue(qc, x, 'c');
    return { x, qa, qb, qc };
  }

  test('CC and BCC route to the extra keys; BCC is removed from every copy, CC kept', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const { x, qa, qb, qc } = await setup(ch);
      ch.publish(x, 'a', Buffer.from('m'), { headers: { CC: ['b'], BCC: ['c'], other: 1 } });
      await waitForCount(ch, qc, 1);
      assert.deepEqual(await counts(ch, [qa, qb, qc]), [1, 1, 1]);
      for (const q of [qa, qb, qc]) {
        const m = await getOrFail(ch, q, { noAck: true });
        assert.equal(m.fields.routingKey, 'a', 'delivered with the publish routing key');
        assert.deepEqual(m.properties.headers?.['CC'], ['b'], `CC kept in ${q}`);
        assert.equal(m.properties.headers?.['BCC'], undefined, `BCC removed in ${q}`);
        assert.equal(m.properties.headers?.['other'], 1);
      }
    });
  });

  test('BCC alone to the default exchange; non-string elements skipped; one copy per queue', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const { x, qa, qb, qc } = await setup(ch);
      const direct = await queue(ch, 'cc-default');
      const other = await queue(ch, 'cc-default-2');
      ch.sendToQueue(direct, Buffer.from('d'), { headers: { BCC: [other] } });
      ch.publish(x, 'a', Buffer.from('e'), { headers: { CC: [5, 'b', true, 'a'] } });
      await waitForCount(ch, qb, 1);
      assert.deepEqual(await counts(ch, [direct, other, qa, qb, qc]), [1, 1, 1, 1, 0]);
      const m = await getOrFail(ch, other, { noAck: true });
      assert.deepEqual(Object.keys(m.properties.headers ?? {}), [], 'no BCC on the copy');
    });
  });

  for (const name of ['CC', 'BCC']) {
    test(`a non-array ${name} header closes the channel with 406 and routes nothing`, async () => {
      await withConn(async (conn) => {
        const ch = await channel(conn);
        const { x, qa, qb } = await setup(ch);
        await expectChannelClose(conn, (c) => c.publish(x, 'a', Buffer.from('m'), { headers: { [name]: 'b' } }), PRECONDITION_FAILED,
          `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"${name}",longstr}`);
        assert.deepEqual(await counts(ch, [qa, qb]), [0, 0]);
      });
    });
  }

  test('x-death routing-keys hold the publish key and the CC keys, not BCC', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const dlx = await exchange(ch, 'cc-dlx', 'fanout');
      const dq = await queue(ch, 'cc-dead');
      await ch.bindQueue(dq, dlx, '');
      const x = await exchange(ch, 'cc-ttl', 'direct');
      const src = await queue(ch, 'cc-src', { 'x-message-ttl': 30, 'x-dead-letter-exchange': dlx });
      await ch.bindQueue(src, x, 'a');
      ch.publish(x, 'a', Buffer.from('m'), { headers: { CC: ['b'], BCC: ['c'] } });
      await waitForCount(ch, dq, 1, 1000);
      const d = (await typedGet(broker.port, dq))!;
      assert.deepEqual(xDeath(d)[0]!['routing-keys'], ['a', 'b']);
      assert.deepEqual(d.headers['CC'], ['b']);
      assert.equal(d.headers['BCC'], undefined);
    });
  });
});

describe('internal exchanges', () => {
  test('publishing to an internal exchange closes the channel with 403', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const x = await exchange(ch, 'internal', 'fanout', { internal: true });
      await expectChannelClose(conn, (c) => c.publish(x, '', Buffer.from('m')), ACCESS_REFUSED,
        `ACCESS_REFUSED - cannot publish to internal exchange '${x}' in vhost '/'`);
    });
  });

  test('an internal exchange works as an e2e target, as an AE and as a DLX', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const internal = await exchange(ch, 'internal-t', 'fanout', { internal: true });
      const sink = await queue(ch, 'internal-sink');
      await ch.bindQueue(sink, internal, '');
      const front = await exchange(ch, 'internal-front', 'fanout');
      await ch.bindExchange(internal, front, '');
      ch.publish(front, '', Buffer.from('e2e'));
      const withAe = await exchange(ch, 'internal-ae', 'direct', { alternateExchange: internal });
      ch.publish(withAe, 'nowhere', Buffer.from('ae'));
      const src = await queue(ch, 'internal-dl', { 'x-dead-letter-exchange': internal });
      ch.sendToQueue(src, Buffer.from('dlx'));
      const m = await getOrFail(ch, src);
      ch.reject(m, false);
      await waitForCount(ch, sink, 3);
      const got = [];
      for (let i = 0; i < 3; i++) got.push((await getOrFail(ch, sink, { noAck: true })).content.toString());
      assert.deepEqual(got.sort(), ['ae', 'dlx', 'e2e']);
    });
  });
});
