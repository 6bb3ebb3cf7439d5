/**
 * Firehose tracing (core/trace.ts) with real clients: the switch over the management API, the
 * copies on amq.rabbitmq.trace with RabbitMQ's routing keys and headers, no tracing when off, no
 * loops, the live SSE trace (http/trace-stream.ts) and the switch surviving a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel, GetMessage } from 'amqplib';
import { startTestBroker, waitFor } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { clientHelpers, getOrFail, nextError, qname, sleep, waitForCount } from './helpers/amqp-client.js';
import { apiClient } from './helpers/http-client.js';

let tb: TestBroker;
before(async () => {
  tb = await startTestBroker();
});
after(async () => {
  await tb.stop();
});
const api = apiClient(() => tb);
const { withConn, channel } = clientHelpers(() => tb.url);
const vhost = () => tb.warren.broker.getVhost('/')!;

async function setTracing(on: boolean): Promise<void> {
  assert.equal((await api('PUT', '/api/vhosts/%2F', { body: { tracing: on } })).status, 204);
}

/** A queue bound to amq.rabbitmq.trace with '#': it collects every copy. */
async function traceQueue(ch: Channel, durable = false): Promise<string> {
  const q = qname('trace');
  await ch.assertQueue(q, { durable });
  await ch.bindQueue(q, 'amq.rabbitmq.trace', '#');
  return q;
}

/** Every copy in the trace queue, in order (basic.get, acked). */
async function drainTrace(ch: Channel, q: string): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) out.push(m);
  return out;
}

describe('firehose', () => {
  test('amq.rabbitmq.trace exists in every vhost: a durable internal topic exchange', async () => {
    const r = await api('GET', '/api/exchanges/%2F/amq.rabbitmq.trace');
    assert.equal(r.status, 200);
    assert.deepEqual({ type: r.body.type, durable: r.body.durable, internal: r.body.internal }, { type: 'topic', durable: true, internal: true });
    tb.warren.broker.addVhost('traced-vhost');
    assert.equal(tb.warren.broker.getVhost('traced-vhost')!.exchanges.get('amq.rabbitmq.trace')?.internal, true);
    tb.warren.broker.deleteVhost('traced-vhost');
  });

  test('tracing is off by default; PUT /api/vhosts/{vhost} {"tracing": true} turns it on', async () => {
    assert.equal((await api('GET', '/api/vhosts/%2F')).body.tracing, false);
    await setTracing(true);
    assert.equal((await api('GET', '/api/vhosts/%2F')).body.tracing, true);
    assert.equal(vhost().tracing, true);
    await setTracing(false);
    assert.equal(vhost().tracing, false);
    assert.equal((await api('PUT', '/api/vhosts/%2F', { body: { tracing: 'yes' } })).status, 400);
  });

  test('publish.<exchange> and deliver.<queue> copies carry the body and RabbitMQ\'s headers', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const tq = await traceQueue(ch);
      const ex = qname('tx');
      const q = qname('tq');
      await ch.assertExchange(ex, 'direct', { durable: false });
      await ch.assertQueue(q, { durable: false });
      await ch.bindQueue(q, ex, 'k');
      await setTracing(true);
      try {
        // One delivery by basic.consume, one by basic.get.
        const sub = await channel(conn);
        let delivered!: () => void;
        const got = new Promise<void>((resolve) => (delivered = resolve));
        const { consumerTag } = await sub.consume(q, () => delivered(), { noAck: true });
        ch.publish(ex, 'k', Buffer.from('hello'), { contentType: 'text/plain', messageId: 'm1', headers: { a: 1, CC: ['cc-key'] } });
        await got;
        await sub.cancel(consumerTag);
        ch.publish('', q, Buffer.from('second'));
        await getOrFail(ch, q, { noAck: true });
        await waitForCount(ch, tq, 4);
      } finally {
        await setTracing(false);
      }
      const copies = await drainTrace(ch, tq);
      assert.deepEqual(copies.map((m) => m.fields.routingKey), [`publish.${ex}`, `deliver.${q}`, 'publish.', `deliver.${q}`]);
      for (const m of copies) assert.equal(m.fields.exchange, 'amq.rabbitmq.trace');

      const [pub, del, pubDefault] = copies as [GetMessage, GetMessage, GetMessage];
      assert.equal(pub.content.toString(), 'hello');
      // The copy's only property is its headers; the original's are in the `properties` header.
      assert.equal(pub.properties.contentType, undefined);
      const h = pub.properties.headers!;
      assert.equal(h.exchange_name, ex);
      assert.deepEqual(h.routing_keys, ['k', 'cc-key']);
      assert.equal(h.properties.content_type, 'text/plain');
      assert.equal(h.properties.message_id, 'm1');
      assert.deepEqual(h.properties.headers, { a: 1, CC: ['cc-key'] });
      assert.equal(typeof h.node, 'string');
      assert.equal(h.vhost, '/');
      assert.equal(h.user, 'guest');
      assert.equal(typeof h.channel, 'number');
      assert.match(h.connection, / -> /);
      assert.deepEqual(h.routed_queues, [q]);
      assert.equal(pubDefault.properties.headers!.exchange_name, '');
      assert.equal(pubDefault.content.toString(), 'second');

      assert.equal(del.content.toString(), 'hello');
      const d = del.properties.headers!;
      assert.equal(d.exchange_name, ex);
      assert.deepEqual(d.routing_keys, ['k', 'cc-key']);
      assert.equal(d.redelivered, 0);
      assert.equal(d.user, 'guest');
      assert.equal(d.vhost, '/');
      assert.equal(d.properties.message_id, 'm1');
      assert.equal(d.routed_queues, undefined);
    });
  });

  test('management API publishes and gets are traced too', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const tq = await traceQueue(ch);
      const q = qname('hq');
      await ch.assertQueue(q, { durable: false });
      await setTracing(true);
      try {
        await api('POST', '/api/exchanges/%2F/amq.default/publish', { body: { routing_key: q, payload: 'via http', payload_encoding: 'string', properties: {} } });
        await api('POST', `/api/queues/%2F/${q}/get`, { body: { count: 1, ackmode: 'ack_requeue_false' } });
      } finally {
        await setTracing(false);
      }
      const copies = await drainTrace(ch, tq);
      assert.deepEqual(copies.map((m) => m.fields.routingKey), ['publish.', `deliver.${q}`]);
      assert.equal(copies[0]!.content.toString(), 'via http');
    });
  });

  test('tracing off: nothing is traced', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const tq = await traceQueue(ch);
      const q = qname('off');
      await ch.assertQueue(q, { durable: false });
      ch.publish('', q, Buffer.from('x'));
      await getOrFail(ch, q, { noAck: true });
      await sleep(50);
      assert.equal((await ch.checkQueue(tq)).messageCount, 0);
    });
  });

  test('a delayed message is traced at publish with no queue (its parking place is internal) and routed when due', async () => {
    assert.equal((await api('PUT', '/api/vhosts/%2F', { body: { tracing: true } })).status, 204);
    try {
      await withConn(async (conn) => {
        const ch = await channel(conn);
        const tq = await traceQueue(ch);
        const ex = qname('delayed');
        const q = qname('due');
        await ch.assertExchange(ex, 'x-delayed-message', { durable: false, arguments: { 'x-delayed-type': 'direct' } });
        await ch.assertQueue(q, { durable: false });
        await ch.bindQueue(q, ex, 'k');
        const routedBefore = vhost().stats.routed;
        ch.publish(ex, 'k', Buffer.from('later'), { headers: { 'x-delay': 100 } });
        await waitForCount(ch, q, 1);
        const copies = await drainTrace(ch, tq);
        const publish = copies.find((m) => m.fields.routingKey === `publish.${ex}`);
        assert.ok(publish, 'the publish is traced');
        assert.deepEqual(publish.properties.headers?.['routed_queues'], []);
        assert.equal(vhost().stats.routed - routedBefore, 1, 'counted once, when routed to its queue');
        await ch.deleteExchange(ex);
        await ch.deleteQueue(q);
        await ch.deleteQueue(tq);
      });
    } finally {
      await api('PUT', '/api/vhosts/%2F', { body: { tracing: false } });
    }
  });

  test('publishing to amq.rabbitmq.trace is refused (internal), and copies are never traced again', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const tq = await traceQueue(ch);
      await setTracing(true);
      try {
        const closed = nextError(ch);
        ch.publish('amq.rabbitmq.trace', 'publish.x', Buffer.from('loop?'));
        assert.equal((await closed).code, 403);
        const ch2 = await channel(conn);
        const http = await api('POST', '/api/exchanges/%2F/amq.rabbitmq.trace/publish', { body: { routing_key: 'x', payload: 'p', payload_encoding: 'string', properties: {} } });
        assert.equal(http.status, 403);
        // Consuming the trace queue delivers copies: those deliveries produce no copies.
        ch2.publish('', tq, Buffer.from('seed'));
        await waitForCount(ch2, tq, 2); // the seed's publish copy, then the seed itself
        // Getting the seed is traced (deliver.<tq>, into tq again); getting copies is not.
        const drained = await drainTrace(ch2, tq);
        assert.deepEqual(drained.map((m) => m.fields.routingKey), ['publish.', tq, `deliver.${tq}`]);
        await sleep(50);
        assert.equal((await ch2.checkQueue(tq)).messageCount, 0);
      } finally {
        await setTracing(false);
      }
    });
  });
});

/** Reads SSE events from a fetch body until `done` says stop (or the time runs out). */
async function readEvents(res: Response, done: (events: { event: string; data: any }[]) => boolean, timeoutMs = 5000) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: any }[] = [];
  let buf = '';
  const deadline = Date.now() + timeoutMs;
  while (!done(events)) {
    if (Date.now() > deadline) throw new Error(`timed out; events so far: ${JSON.stringify(events)}`);
    const { value, done: ended } = await reader.read();
    if (ended) break;
    buf += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) events.push({ event, data: JSON.parse(data.join('\n')) });
    }
  }
  return events;
}

describe('live trace (SSE)', () => {
  const auth = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  const traceUrl = (query: string) => `http://127.0.0.1:${tb.warren.managementPort}/api/trace/%2F${query}`;

  test('streams filtered events while connected, tracing the vhost only meanwhile', async () => {
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = qname('sse');
      const other = qname('sse-other');
      await ch.assertQueue(q, { durable: false });
      await ch.assertQueue(other, { durable: false });
      const queuesBefore = vhost().queues.size;
      assert.equal(vhost().tracing, false);
      const abort = new AbortController();
      const res = await fetch(traceUrl(`?queue=${q}&truncate=4`), { headers: auth('guest', 'guest'), signal: abort.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      let published = false;
      const events = await readEvents(res, (evs) => {
        if (!published && evs.some((e) => e.event === 'open')) {
          published = true;
          assert.equal(vhost().tracing, true, 'an open stream turns tracing on');
          ch.publish('', other, Buffer.from('not this one'));
          ch.publish('', q, Buffer.from('payload-of-q'), { headers: { n: 1 } });
          void ch.get(q, { noAck: true });
        }
        return evs.filter((e) => e.event === 'message').length >= 2;
      });
      abort.abort();
      const open = events.find((e) => e.event === 'open')!;
      assert.deepEqual(open.data.filter, { queue: q, truncate: 4 });
      assert.equal(open.data.tracing, false);
      const msgs = events.filter((e) => e.event === 'message').map((e) => e.data);
      assert.deepEqual(msgs.map((m) => m.type), ['publish', 'deliver']);
      const [pub, del] = msgs;
      assert.deepEqual(pub.routed_queues, [q]);
      assert.equal(pub.queue, null);
      assert.equal(pub.exchange, '');
      assert.deepEqual(pub.routing_keys, [q]);
      assert.deepEqual(pub.properties.headers, { n: 1 });
      assert.equal(pub.payload, 'payl');
      assert.equal(pub.payload_encoding, 'string');
      assert.equal(pub.payload_bytes, 12);
      assert.equal(pub.payload_truncated, true);
      assert.equal(pub.user, 'guest');
      assert.equal(typeof pub.timestamp, 'number');
      assert.equal(del.queue, q);
      assert.equal(del.redelivered, false);
      // The client went: its queue and its need for tracing go too.
      await waitFor(() => vhost().queues.size === queuesBefore && !vhost().tracing, 3000, 'the trace stream to close');
    });
  });

  test('routing_key and exchange filters; administrator or monitoring only', async () => {
    assert.equal((await api('GET', '/api/trace/%2F?type=bogus')).status, 400);
    assert.equal((await api('GET', '/api/trace/nope')).status, 404);
    assert.equal((await api('PUT', '/api/users/trace-mgmt', { body: { password: 'pw', tags: ['management'] } })).status, 201);
    const refused = await fetch(traceUrl(''), { headers: auth('trace-mgmt', 'pw') });
    assert.equal(refused.status, 403);
    await refused.text();
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const q = qname('rk');
      await ch.assertQueue(q, { durable: false });
      await ch.bindQueue(q, 'amq.topic', 'orders.#');
      const abort = new AbortController();
      const res = await fetch(traceUrl('?exchange=amq.topic&routing_key=orders.*.eu&type=publish'), { headers: auth('guest', 'guest'), signal: abort.signal });
      let published = false;
      const events = await readEvents(res, (evs) => {
        if (!published && evs.some((e) => e.event === 'open')) {
          published = true;
          ch.publish('amq.topic', 'orders.new.us', Buffer.from('us'));
          ch.publish('', q, Buffer.from('default exchange'));
          ch.publish('amq.topic', 'orders.new.eu', Buffer.from([0xff, 0xfe]));
        }
        return evs.some((e) => e.event === 'message');
      });
      abort.abort();
      const msgs = events.filter((e) => e.event === 'message').map((e) => e.data);
      assert.equal(msgs.length, 1);
      assert.deepEqual(msgs[0].routing_keys, ['orders.new.eu']);
      assert.equal(msgs[0].payload_encoding, 'base64');
      assert.equal(msgs[0].payload, Buffer.from([0xff, 0xfe]).toString('base64'));
    });
    await waitFor(() => !vhost().tracing, 3000, 'tracing to stop with the stream');
  });
});

describe('live trace ends', () => {
  test('with an end event when its vhost is deleted', async () => {
    const broker = tb.warren.broker;
    broker.addVhost('sse-gone');
    const res = await fetch(`http://127.0.0.1:${tb.warren.managementPort}/api/trace/sse-gone`, {
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    });
    let deleted = false;
    const events = await readEvents(res, (evs) => {
      if (!deleted && evs.some((e) => e.event === 'open')) {
        deleted = true;
        broker.deleteVhost('sse-gone');
      }
      return evs.some((e) => e.event === 'end');
    });
    assert.deepEqual(events.map((e) => e.event), ['open', 'end']);
  });
});

describe('durability', () => {
  test('the tracing switch survives a restart', async () => {
    await setTracing(true);
    tb = await tb.restart();
    assert.equal((await api('GET', '/api/vhosts/%2F')).body.tracing, true);
    assert.equal(vhost().tracing, true);
    await withConn(async (conn) => {
      const ch = await channel(conn);
      const tq = await traceQueue(ch);
      ch.publish('amq.direct', 'nowhere', Buffer.from('unroutable'));
      await waitForCount(ch, tq, 1);
      const [copy] = await drainTrace(ch, tq);
      assert.equal(copy!.fields.routingKey, 'publish.amq.direct');
      assert.deepEqual(copy!.properties.headers!.routed_queues, []);
    });
    await setTracing(false);
    tb = await tb.restart();
    assert.equal((await api('GET', '/api/vhosts/%2F')).body.tracing, false);
  });
});
