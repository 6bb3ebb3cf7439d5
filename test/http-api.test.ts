/**
 * The management HTTP API against a real broker over real HTTP (fetch): every resource endpoint
 * for exchanges, queues, bindings, policies, vhosts, users, overview and nodes, with amqplib for
 * the AMQP side where it matters. Authorisation, connections and health: http-api-auth.test.ts;
 * definitions: http-definitions.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { clientHelpers, qname } from './helpers/amqp-client.js';
import { apiClient, enc } from './helpers/http-client.js';

let tb: TestBroker;
before(async () => {
  tb = await startTestBroker({ managementPort: 0 });
});
after(async () => {
  await tb.stop();
});
const api = apiClient(() => tb);
const { withConn, channel } = clientHelpers(() => tb.url);

describe('overview and nodes', () => {
  test('GET /api/overview: product, totals, listeners', async () => {
    const q = qname('ov');
    assert.equal((await api('PUT', `/api/queues/%2F/${q}`, { body: {} })).status, 201);
    await api('POST', '/api/exchanges/%2F/amq.default/publish', { body: { routing_key: q, payload: 'x', payload_encoding: 'string', properties: {} } });
    const r = await api('GET', '/api/overview');
    assert.equal(r.status, 200);
    assert.equal(r.body.product_name, 'Warren');
    assert.match(r.body.rabbitmq_version, /^3\./);
    assert.equal(r.body.management_version, r.body.rabbitmq_version);
    assert.equal(typeof r.body.node, 'string');
    for (const k of ['connections', 'channels', 'exchanges', 'queues', 'consumers']) assert.equal(typeof r.body.object_totals[k], 'number', k);
    assert.ok(r.body.object_totals.queues >= 1);
    assert.ok(r.body.queue_totals.messages >= 1);
    assert.equal(r.body.queue_totals.messages, r.body.queue_totals.messages_ready + r.body.queue_totals.messages_unacknowledged);
    const amqp = r.body.listeners.find((l: { protocol: string }) => l.protocol === 'amqp');
    assert.equal(amqp.port, tb.port);
    assert.ok(r.body.listeners.some((l: { protocol: string; port: number }) => l.protocol === 'http' && l.port === tb.warren.managementPort));
    assert.equal(r.body.message_stats.publish, r.body.message_stats.publish_in, 'publish is what publishers sent');
    await api('DELETE', `/api/queues/%2F/${q}`);
  });

  test('GET /api/nodes and /api/nodes/{name}', async () => {
    const r = await api('GET', '/api/nodes');
    assert.equal(r.status, 200);
    const n = r.body[0];
    for (const k of ['mem_used', 'mem_limit', 'disk_free_limit', 'uptime']) assert.equal(typeof n[k], 'number', k);
    for (const k of ['running', 'mem_alarm', 'disk_free_alarm']) assert.equal(typeof n[k], 'boolean', k);
    assert.equal(n.running, true);
    assert.equal((await api('GET', `/api/nodes/${enc(n.name)}`)).body.name, n.name);
    assert.equal((await api('GET', '/api/nodes/rabbit@elsewhere')).status, 404);
  });
});

describe('vhosts, users, permissions', () => {
  test('vhosts: list, show, create; "/" is %2F', async () => {
    const list = await api('GET', '/api/vhosts');
    assert.ok(list.body.some((v: { name: string }) => v.name === '/'));
    const one = await api('GET', '/api/vhosts/%2F');
    assert.equal(one.body.name, '/');
    assert.equal(typeof one.body.messages, 'number');
    assert.equal((await api('PUT', '/api/vhosts/dev', { body: { description: 'x' } })).status, 201);
    assert.equal((await api('PUT', '/api/vhosts/dev', { body: {} })).status, 204);
    assert.ok(tb.warren.broker.getVhost('dev'));
    assert.equal((await api('GET', '/api/vhosts/nope')).status, 404);
    assert.equal((await api('GET', '/api/queues/dev')).status, 200);
  });

  test('users: tags, no password hashes; whoami; permissions', async () => {
    assert.equal((await api('PUT', '/api/users/ops', { body: { password: 'pw', tags: 'management' } })).status, 201);
    assert.equal((await api('PUT', '/api/permissions/%2F/ops', { body: { configure: '.*', write: '.*', read: '.*' } })).status, 201);
    const users = await api('GET', '/api/users');
    const guest = users.body.find((u: { name: string }) => u.name === 'guest');
    assert.deepEqual(guest.tags, ['administrator']);
    assert.ok(!JSON.stringify(users.body).includes('password_hash'));
    assert.deepEqual((await api('GET', '/api/users/ops')).body.tags, ['management']);
    assert.equal((await api('GET', '/api/users/nobody')).status, 404);
    assert.deepEqual((await api('GET', '/api/whoami', { auth: ['ops', 'pw'] })).body.name, 'ops');
    const perms = await api('GET', '/api/permissions');
    assert.ok(perms.body.some((p: { user: string; vhost: string; configure: string }) => p.user === 'ops' && p.vhost === '/' && p.configure === '.*'));
    assert.equal((await api('GET', '/api/permissions/%2F/ops')).body.write, '.*');
    assert.ok((await api('GET', '/api/users/ops/permissions')).body.length >= 1);
    assert.ok((await api('GET', '/api/vhosts/%2F/permissions')).body.length >= 2);
  });
});

describe('exchanges', () => {
  test('declare, show, list, equivalence, delete with if-unused', async () => {
    const x = qname('ex');
    assert.equal((await api('PUT', `/api/exchanges/%2F/${x}`, { body: { type: 'fanout', durable: false, arguments: { 'alternate-exchange': 'ae' } } })).status, 201);
    assert.equal((await api('PUT', `/api/exchanges/%2F/${x}`, { body: { type: 'fanout', durable: false, arguments: { 'alternate-exchange': 'ae' } } })).status, 204);
    const r = await api('GET', `/api/exchanges/%2F/${x}`);
    assert.deepEqual({ ...r.body, policy: undefined }, { name: x, vhost: '/', type: 'fanout', durable: false, auto_delete: false, internal: false, arguments: { 'alternate-exchange': 'ae' }, policy: undefined });
    const bad = await api('PUT', `/api/exchanges/%2F/${x}`, { body: { type: 'direct', durable: false } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'bad_request');
    assert.match(bad.body.reason, /inequivalent arg 'type'/);
    assert.equal((await api('PUT', `/api/exchanges/%2F/${qname('ex')}`, { body: {} })).status, 400, 'type is required');
    assert.equal((await api('PUT', `/api/exchanges/%2F/${qname('ex')}`, { body: { type: 'nonsense' } })).status, 400);
    assert.equal((await api('PUT', '/api/exchanges/%2F/amq.mine', { body: { type: 'direct' } })).status, 403);
    const all = await api('GET', '/api/exchanges');
    assert.ok(all.body.some((e: { name: string }) => e.name === x));
    assert.ok(all.body.some((e: { name: string }) => e.name === ''), 'the default exchange is listed');
    assert.ok((await api('GET', '/api/exchanges/%2F')).body.some((e: { name: string }) => e.name === 'amq.topic'));
    assert.equal((await api('GET', '/api/exchanges/%2F/amq.default')).body.name, '');

    const q = qname('exq');
    await api('PUT', `/api/queues/%2F/${q}`, { body: { durable: false } });
    await api('POST', `/api/bindings/%2F/e/${x}/q/${q}`, { body: {} });
    const inUse = await api('DELETE', `/api/exchanges/%2F/${x}?if-unused=true`);
    assert.equal(inUse.status, 400);
    assert.match(inUse.body.reason, /in use/);
    assert.equal((await api('DELETE', `/api/exchanges/%2F/${x}`)).status, 204);
    assert.equal((await api('GET', `/api/exchanges/%2F/${x}`)).status, 404);
    assert.equal((await api('DELETE', `/api/exchanges/%2F/${x}`)).status, 404);
    assert.equal((await api('DELETE', '/api/exchanges/%2F/amq.direct')).status, 403);
    await api('DELETE', `/api/queues/%2F/${q}`);
  });

  test('bindings/source and bindings/destination; publish reports routed', async () => {
    const src = qname('src');
    const mid = qname('mid');
    const q = qname('pq');
    await api('PUT', `/api/exchanges/%2F/${src}`, { body: { type: 'topic', durable: false } });
    await api('PUT', `/api/exchanges/%2F/${mid}`, { body: { type: 'fanout', durable: false } });
    await api('PUT', `/api/queues/%2F/${q}`, { body: { durable: false } });
    assert.equal((await api('POST', `/api/bindings/%2F/e/${src}/e/${mid}`, { body: { routing_key: 'a.*' } })).status, 201);
    await api('POST', `/api/bindings/%2F/e/${mid}/q/${q}`, { body: {} });
    const source = await api('GET', `/api/exchanges/%2F/${src}/bindings/source`);
    assert.deepEqual(source.body.map((b: { destination: string; destination_type: string }) => [b.destination, b.destination_type]), [[mid, 'exchange']]);
    const dest = await api('GET', `/api/exchanges/%2F/${mid}/bindings/destination`);
    assert.deepEqual(dest.body.map((b: { source: string }) => b.source), [src]);

    const publish = (routing_key: string, extra: object = {}) =>
      api('POST', `/api/exchanges/%2F/${src}/publish`, { body: { routing_key, payload: 'aGVsbG8=', payload_encoding: 'base64', properties: { delivery_mode: 2, headers: { n: 1 } }, ...extra } });
    assert.deepEqual((await publish('a.b')).body, { routed: true });
    assert.deepEqual((await publish('b.b')).body, { routed: false });
    const got = await api('POST', `/api/queues/%2F/${q}/get`, { body: { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' } });
    assert.equal(got.body[0].payload, 'hello');
    assert.deepEqual(got.body[0].properties, { delivery_mode: 2, headers: { n: 1 } });
    assert.equal((await publish('a.b', { properties: { expiration: 'soon' } })).status, 400);
    assert.equal((await publish('a.b', { payload_encoding: 'rot13' })).status, 400);
    assert.equal((await publish('a.b', { properties: { bogus: 1 } })).status, 400);
    const tooLong = await publish('k'.repeat(256));
    assert.equal(tooLong.status, 400, 'a routing key longer than a shortstr');
    assert.match(tooLong.body.reason, /256 bytes long; the most is 255/);
    assert.equal((await api('POST', `/api/exchanges/%2F/${qname('none')}/publish`, { body: { routing_key: '', payload: '' } })).status, 404);
    for (const n of [src, mid]) await api('DELETE', `/api/exchanges/%2F/${n}`);
    await api('DELETE', `/api/queues/%2F/${q}`);
  });
});

describe('queues', () => {
  test('declare (durable by default), show fields, list, equivalence, 404', async () => {
    const q = qname('q');
    assert.equal((await api('PUT', `/api/queues/%2F/${q}`, { body: { arguments: { 'x-max-length': 10 } } })).status, 201);
    assert.equal((await api('PUT', `/api/queues/%2F/${q}`, { body: { arguments: { 'x-max-length': 10 } } })).status, 204);
    const r = await api('GET', `/api/queues/%2F/${q}`);
    assert.equal(r.body.durable, true);
    assert.equal(r.body.auto_delete, false);
    assert.equal(r.body.exclusive, false);
    assert.deepEqual(r.body.arguments, { 'x-max-length': 10 });
    assert.equal(r.body.state, 'running');
    for (const k of ['messages', 'messages_ready', 'messages_unacknowledged', 'consumers', 'memory']) assert.equal(typeof r.body[k], 'number', k);
    assert.equal((await api('PUT', `/api/queues/%2F/${q}`, { body: { durable: false } })).status, 400);
    assert.equal((await api('PUT', `/api/queues/%2F/${qname('q')}`, { body: { arguments: { 'x-max-length': 'lots' } } })).status, 400);
    // Names longer than an AMQP shortstr could never reach a client.
    const long = 'n'.repeat(256);
    const q256 = await api('PUT', `/api/queues/%2F/${long}`, { body: {} });
    assert.equal(q256.status, 400);
    assert.match(q256.body.reason, /queue name is 256 bytes long; the most is 255/);
    assert.equal((await api('PUT', `/api/exchanges/%2F/${long}`, { body: { type: 'direct' } })).status, 400);
    assert.equal((await api('PUT', `/api/queues/%2F/${'n'.repeat(255)}`, { body: { durable: false } })).status, 201);
    assert.equal((await api('DELETE', `/api/queues/%2F/${'n'.repeat(255)}`)).status, 204);
    assert.equal((await api('PUT', `/api/queues/%2F/${qname('q')}`, { text: '{not json' })).status, 400);
    assert.ok((await api('GET', '/api/queues')).body.some((x: { name: string }) => x.name === q));
    assert.ok((await api('GET', '/api/queues/%2F')).body.some((x: { name: string }) => x.name === q));
    assert.equal((await api('GET', '/api/queues/%2F/none-such')).status, 404);
    assert.deepEqual((await api('GET', '/api/queues/%2F/none-such')).body, { error: 'Object Not Found', reason: 'Not Found' });
    assert.equal((await api('GET', '/api/queues/no-vhost')).status, 404);
    assert.equal((await api('DELETE', `/api/queues/%2F/${q}`)).status, 204);
  });

  test('names with "/" and "%" survive the path', async () => {
    const q = 'odd/name%2F#1';
    assert.equal((await api('PUT', `/api/queues/%2F/${enc(q)}`, { body: { durable: false } })).status, 201);
    assert.ok(tb.warren.broker.getVhost('/')!.queues.has(q));
    assert.equal((await api('GET', `/api/queues/%2F/${enc(q)}`)).body.name, q);
    assert.equal((await api('DELETE', `/api/queues/%2F/${enc(q)}`)).status, 204);
  });

  test('get: ackmodes, counts, encodings, truncate; purge; delete if-empty / if-unused', async () => {
    const q = qname('g');
    await api('PUT', `/api/queues/%2F/${q}`, { body: { durable: false } });
    const pub = (payload: string, payload_encoding = 'string') =>
      api('POST', '/api/exchanges/%2F/amq.default/publish', { body: { routing_key: q, payload, payload_encoding, properties: { content_type: 'text/plain' } } });
    for (const p of ['one', 'two', 'three']) await pub(p);
    await pub(Buffer.from([0xff, 0xfe, 0x00]).toString('base64'), 'base64');

    let got = await api('POST', `/api/queues/%2F/${q}/get`, { body: { count: 2, ackmode: 'ack_requeue_true', encoding: 'auto' } });
    assert.deepEqual(got.body.map((m: { payload: string }) => m.payload), ['one', 'two'], 'distinct messages in one request');
    assert.deepEqual(got.body.map((m: { message_count: number }) => m.message_count), [3, 2]);
    assert.equal(got.body[0].redelivered, false);
    assert.equal(got.body[0].routing_key, q);
    assert.equal(got.body[0].exchange, '');
    assert.equal(got.body[0].payload_bytes, 3);
    assert.equal(got.body[0].properties.content_type, 'text/plain');
    got = await api('POST', `/api/queues/%2F/${q}/get`, { body: { count: 1, ackmode: 'reject_requeue_true', encoding: 'base64' } });
    assert.equal(got.body[0].payload, Buffer.from('one').toString('base64'));
    assert.equal(got.body[0].payload_encoding, 'base64');
    assert.equal(got.body[0].redelivered, true, 'requeued by the previous get');
    got = await api('POST', `/api/queues/%2F/${q}/get`, { body: { count: 10, ackmode: 'ack_requeue_false', encoding: 'auto', truncate: 2 } });
    assert.deepEqual(got.body.map((m: { payload: string }) => m.payload), ['on', 'tw', 'th', Buffer.from([0xff, 0xfe]).toString('base64')]);
    assert.equal(got.body[3].payload_encoding, 'base64', 'auto: not UTF-8, so base64');
    assert.equal(got.body[3].payload_bytes, 3);
    assert.deepEqual((await api('POST', `/api/queues/%2F/${q}/get`, { body: { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' } })).body, []);
    assert.equal((await api('POST', `/api/queues/%2F/${q}/get`, { body: { count: 1, ackmode: 'keep' } })).status, 400);

    // reject_requeue_false dead-letters, as a basic.reject would.
    const dlq = qname('dlq');
    const src = qname('src');
    await api('PUT', `/api/queues/%2F/${dlq}`, { body: { durable: false } });
    await api('PUT', `/api/queues/%2F/${src}`, { body: { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } } });
    await api('POST', '/api/exchanges/%2F/amq.default/publish', { body: { routing_key: src, payload: 'dead', payload_encoding: 'string', properties: {} } });
    await api('POST', `/api/queues/%2F/${src}/get`, { body: { count: 1, ackmode: 'reject_requeue_false', encoding: 'auto' } });
    assert.equal((await api('GET', `/api/queues/%2F/${dlq}`)).body.messages, 1);

    await pub('keep');
    const notEmpty = await api('DELETE', `/api/queues/%2F/${q}?if-empty=true`);
    assert.equal(notEmpty.status, 400);
    assert.match(notEmpty.body.reason, /not empty/);
    assert.equal((await api('DELETE', `/api/queues/%2F/${q}/contents`)).status, 204);
    assert.equal((await api('GET', `/api/queues/%2F/${q}`)).body.messages, 0);

    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.consume(q, () => {});
      const r = await api('GET', `/api/queues/%2F/${q}`);
      assert.equal(r.body.consumers, 1);
      const inUse = await api('DELETE', `/api/queues/%2F/${q}?if-unused=true`);
      assert.equal(inUse.status, 400);
      assert.match(inUse.body.reason, /in use/);
    });
    assert.equal((await api('DELETE', `/api/queues/%2F/${q}?if-empty=true&if-unused=true`)).status, 204);
    for (const n of [dlq, src]) await api('DELETE', `/api/queues/%2F/${n}`);
  });

  test('messages_unacknowledged counts deliveries out to amqplib consumers', async () => {
    const q = qname('un');
    await api('PUT', `/api/queues/%2F/${q}`, { body: { durable: false } });
    for (let i = 0; i < 3; i++) await api('POST', '/api/exchanges/%2F/amq.default/publish', { body: { routing_key: q, payload: `m${i}`, payload_encoding: 'string', properties: {} } });
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.prefetch(2);
      let n = 0;
      await ch.consume(q, () => n++);
      while (n < 2) await new Promise((r) => setTimeout(r, 5));
      const r = await api('GET', `/api/queues/%2F/${q}`);
      assert.deepEqual([r.body.messages, r.body.messages_ready, r.body.messages_unacknowledged], [3, 1, 2]);
    });
    await api('DELETE', `/api/queues/%2F/${q}`);
  });
});

describe('message statistics', () => {
  test('queues, vhosts and the overview carry message_stats with counts and rates', async () => {
    const q = qname('stats');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(q, { durable: false });
      for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
      await ch.checkQueue(q);
      for (let i = 0; i < 3; i++) {
        const m = await ch.get(q, { noAck: false });
        assert.ok(m);
        ch.ack(m);
      }
      await ch.checkQueue(q);
      const queue = (await api('GET', `/api/queues/%2F/${q}`)).body;
      assert.equal(queue.message_stats.publish, 5);
      assert.equal(queue.message_stats.get, 3);
      assert.equal(queue.message_stats.ack, 3);
      assert.equal(typeof queue.message_stats.publish_details.rate, 'number');
      const overview = (await api('GET', '/api/overview')).body;
      assert.equal(overview.rates_mode, 'basic');
      assert.ok(overview.message_stats.publish >= 5, 'publishers sent at least these 5');
      const vhost = (await api('GET', '/api/vhosts/%2F')).body;
      assert.ok(vhost.message_stats.publish >= 5);
      // Publishes and gets over the API count as AMQP ones do.
      const before = (await api('GET', '/api/overview')).body.message_stats.publish;
      await api('POST', '/api/exchanges/%2F/amq.default/publish', { body: { routing_key: q, payload: 'h', payload_encoding: 'string', properties: {} } });
      await api('POST', `/api/queues/%2F/${q}/get`, { body: { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' } });
      const after = (await api('GET', `/api/queues/%2F/${q}`)).body;
      assert.equal(after.message_stats.publish, 6);
      assert.equal(after.message_stats.get, 4);
      assert.equal(after.message_stats.ack, 4);
      assert.equal((await api('GET', '/api/overview')).body.message_stats.publish, before + 1);
      await ch.deleteQueue(q);
    });
  });
});
