/**
 * Management API: authentication and the tags' rights; connections, channels and consumers seen
 * from amqplib traffic, and closing a connection (amqplib sees 320); health checks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { createManagementApp } from '../src/http/management-server.js';
import { CoreAccessDirectory } from '../src/http/access-directory.js';
import { startTestBroker, waitFor } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { closeQuietly, qname } from './helpers/amqp-client.js';
import type { AmqpError } from './helpers/amqp-client.js';
import { apiClient, enc } from './helpers/http-client.js';

let tb: TestBroker;
before(async () => {
  // Alarms are set by hand below: the periodic check must not clear them meanwhile.
  tb = await startTestBroker({ managementPort: 0, alarmIntervalMs: 3_600_000 });
  const broker = tb.warren.broker;
  for (const [name, tags] of [['mon', ['monitoring']], ['mgr', ['management']], ['pol', ['policymaker']], ['app', []]] as const) {
    broker.addUser(name, { password: `${name}-pw`, tags: [...tags] });
    broker.setPermissions(name, '/', { configure: '.*', write: '.*', read: '.*' });
  }
});
after(async () => {
  await tb.stop();
});
const api = apiClient(() => tb);

describe('authentication', () => {
  test('no credentials and bad credentials: 401 with a Basic challenge', async () => {
    for (const auth of [null, ['guest', 'wrong'], ['nobody', 'x']] as const) {
      const r = await api('GET', '/api/overview', { auth: auth as [string, string] | null });
      assert.equal(r.status, 401, JSON.stringify(auth));
      assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      assert.equal(r.body.error, 'not_authorised');
    }
    const garbled = await api('GET', '/api/overview', { auth: null, headers: { authorization: 'Bearer abc' } });
    assert.equal(garbled.status, 401);
  });

  test('guest works from loopback (every other test); from elsewhere it is refused, as over AMQP', async () => {
    const app = createManagementApp({
      broker: tb.warren.broker, connections: { list: () => [], close: () => false }, directory: new CoreAccessDirectory(tb.warren.broker),
      listeners: () => [], node: 'warren@test', startedAt: Date.now(), messageStats: undefined,
    });
    const headers = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };
    const from = (remoteAddress: string) => app.request('/api/whoami', { headers }, { incoming: { socket: { remoteAddress } } } as never);
    const far = await from('10.1.2.3');
    assert.equal(far.status, 401);
    assert.deepEqual(await far.json(), { error: 'not_authorised', reason: 'User can only log in via localhost' });
    assert.equal((await from('::ffff:127.0.0.1')).status, 200);
    assert.equal((await from('::1')).status, 200);
  });

  test('a user without a management tag: 401 "Not management user"', async () => {
    const r = await api('GET', '/api/overview', { auth: ['app', 'app-pw'] });
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { error: 'not_authorised', reason: 'Not management user' });
  });
});

describe('tags', () => {
  test('monitoring reads everything and, as in RabbitMQ, acts only where it has permissions', async () => {
    const mon: [string, string] = ['mon', 'mon-pw'];
    for (const path of ['/api/overview', '/api/nodes', '/api/queues', '/api/exchanges/%2F', '/api/connections', '/api/vhosts', '/api/policies']) {
      assert.equal((await api('GET', path, { auth: mon })).status, 200, path);
    }
    // Its permissions cover '/': it may declare there (monitoring includes management), not elsewhere.
    const q = qname('mon');
    assert.equal((await api('PUT', `/api/queues/%2F/${q}`, { auth: mon, body: { durable: false } })).status, 201);
    assert.equal((await api('DELETE', `/api/queues/%2F/${q}`, { auth: mon })).status, 204);
    assert.equal((await api('PUT', '/api/vhosts/mon-elsewhere')).status, 201);
    const put = await api('PUT', `/api/queues/mon-elsewhere/${qname('mon')}`, { auth: mon, body: {} });
    assert.equal(put.status, 403);
    assert.equal(put.body.error, 'not_authorised');
    assert.equal((await api('DELETE', '/api/vhosts/mon-elsewhere')).status, 204);
    assert.equal((await api('GET', '/api/users', { auth: mon })).status, 403, 'administrator only');
    assert.equal((await api('GET', '/api/definitions', { auth: mon })).status, 403);
  });

  test('management acts in its vhosts; no node, users or policy changes; policymaker adds policies', async () => {
    const mgr: [string, string] = ['mgr', 'mgr-pw'];
    const q = qname('mgr');
    assert.equal((await api('PUT', `/api/queues/%2F/${q}`, { auth: mgr, body: { durable: false } })).status, 201);
    assert.equal((await api('DELETE', `/api/queues/%2F/${q}`, { auth: mgr })).status, 204);
    assert.equal((await api('GET', '/api/nodes', { auth: mgr })).status, 403);
    assert.equal((await api('GET', '/api/users', { auth: mgr })).status, 403);
    assert.equal((await api('PUT', '/api/vhosts/mgr-vhost', { auth: mgr })).status, 403);
    const policy = { pattern: '^nothing$', definition: { 'max-length': 1 } };
    assert.equal((await api('PUT', '/api/policies/%2F/p', { auth: mgr, body: policy })).status, 403);
    assert.equal((await api('PUT', '/api/policies/%2F/p', { auth: ['pol', 'pol-pw'], body: policy })).status, 201);
    assert.equal((await api('DELETE', '/api/policies/%2F/p', { auth: ['pol', 'pol-pw'] })).status, 204);
  });

  test('errors are JSON; a body over the limit is 413', async () => {
    const big = await api('PUT', `/api/queues/%2F/${qname('big')}`, { text: ' '.repeat(21 * 1024 * 1024) });
    assert.equal(big.status, 413);
    assert.equal(big.body.error, 'payload_too_large');
  });
});

describe('connections, channels, consumers', () => {
  test('an amqplib connection is listed with its channels and consumers, per user', async () => {
    const conn = await amqp.connect(tb.url);
    conn.on('error', () => {});
    try {
      const ch = await conn.createConfirmChannel();
      const q = qname('cq');
      await ch.assertQueue(q, { durable: false });
      await ch.prefetch(7);
      const { consumerTag } = await ch.consume(q, () => {}, { priority: 3 });
      const list = await api('GET', '/api/connections');
      const c = list.body.find((x: { user: string; vhost: string }) => x.user === 'guest');
      assert.ok(c, 'connection listed');
      assert.equal(c.vhost, '/');
      assert.equal(c.protocol, 'AMQP 0-9-1');
      assert.equal(c.channels, 1);
      assert.equal(c.state, 'running');
      assert.equal(c.port, tb.port);
      assert.equal(typeof c.client_properties.product, 'string');
      assert.equal((await api('GET', `/api/connections/${enc(c.name)}`)).body.name, c.name);
      assert.deepEqual((await api('GET', '/api/vhosts/%2F/connections')).body.map((x: { name: string }) => x.name), [c.name]);

      const chans = await api('GET', `/api/connections/${enc(c.name)}/channels`);
      assert.equal(chans.body.length, 1);
      assert.equal(chans.body[0].confirm, true);
      assert.equal(chans.body[0].consumer_count, 1);
      assert.equal(chans.body[0].prefetch_count, 7);
      assert.equal(chans.body[0].connection_details.name, c.name);
      assert.equal((await api('GET', `/api/channels/${enc(chans.body[0].name)}`)).body.number, chans.body[0].number);
      assert.equal((await api('GET', '/api/channels')).body.length, 1);
      assert.equal((await api('GET', '/api/vhosts/%2F/channels')).body.length, 1);

      const consumers = await api('GET', '/api/consumers/%2F');
      assert.equal(consumers.body.length, 1);
      const k = consumers.body[0];
      assert.equal(k.consumer_tag, consumerTag);
      assert.deepEqual(k.queue, { name: q, vhost: '/' });
      assert.equal(k.ack_required, true);
      assert.equal(k.prefetch_count, 7);
      assert.deepEqual(k.arguments, { 'x-priority': 3 });
      assert.equal(k.channel_details.connection_name, c.name);
      assert.equal((await api('GET', '/api/consumers')).body.length, 1);
      assert.equal((await api('GET', '/api/overview')).body.object_totals.consumers, 1);

      // Others' connections: monitoring sees them, a management user does not.
      assert.equal((await api('GET', '/api/connections', { auth: ['mon', 'mon-pw'] })).body.length, 1);
      assert.equal((await api('GET', '/api/connections', { auth: ['mgr', 'mgr-pw'] })).body.length, 0);
      assert.equal((await api('DELETE', `/api/connections/${enc(c.name)}`, { auth: ['mon', 'mon-pw'] })).status, 403);
      assert.equal((await api('GET', `/api/connections/${enc(c.name)}`, { auth: ['mgr', 'mgr-pw'] })).status, 404);
    } finally {
      await closeQuietly(conn);
    }
  });

  test('DELETE /api/connections/{name}: the client gets 320 CONNECTION_FORCED with the X-Reason', async () => {
    const conn = await amqp.connect(tb.url);
    const closed = new Promise<AmqpError>((resolve) => conn.on('close', (err: AmqpError) => resolve(err)));
    conn.on('error', () => {});
    await waitFor(() => tb.warren.connectionCount === 1);
    const name = (await api('GET', '/api/connections')).body[0].name as string;
    const r = await api('DELETE', `/api/connections/${enc(name)}`, { headers: { 'X-Reason': 'maintenance window' } });
    assert.equal(r.status, 204);
    const err = await closed;
    assert.equal(err.code, 320);
    assert.match(err.message, /CONNECTION_FORCED - maintenance window/);
    await waitFor(() => tb.warren.connectionCount === 0);
    assert.equal((await api('DELETE', `/api/connections/${enc(name)}`)).status, 404);
  });
});

describe('health checks', () => {
  test('aliveness test declares, publishes, gets and removes its queue', async () => {
    const r = await api('GET', '/api/aliveness-test/%2F');
    assert.deepEqual([r.status, r.body], [200, { status: 'ok' }]);
    assert.ok(!tb.warren.broker.getVhost('/')!.queues.has('aliveness-test'));
    assert.equal((await api('GET', '/api/aliveness-test/nope')).status, 404);
  });

  test('node, alarms, local alarms, virtual hosts, listeners: ok, and 503 while an alarm is set', async () => {
    for (const path of ['/api/healthchecks/node', '/api/health/checks/alarms', '/api/health/checks/local-alarms',
      '/api/health/checks/virtual-hosts', `/api/health/checks/port-listener/${tb.port}`, '/api/health/checks/protocol-listener/amqp']) {
      const r = await api('GET', path);
      assert.deepEqual([r.status, r.body], [200, { status: 'ok' }], path);
    }
    assert.equal((await api('GET', '/api/health/checks/port-listener/1')).status, 503);
    const alarms = tb.warren.broker.alarms!;
    alarms.memoryAlarm = true;
    try {
      for (const path of ['/api/health/checks/alarms', '/api/health/checks/local-alarms', '/api/healthchecks/node']) {
        const r = await api('GET', path);
        assert.equal(r.status, 503, path);
        assert.equal(r.body.status, 'failed');
        assert.match(r.body.reason, /memory/);
      }
      const nodes = await api('GET', '/api/nodes');
      assert.equal(nodes.body[0].mem_alarm, true);
    } finally {
      alarms.memoryAlarm = false;
    }
    assert.equal((await api('GET', '/api/health/checks/alarms')).status, 200);
  });
});

describe('managing users, permissions and vhosts over the API', () => {
  test('a user made over the API needs permissions to use a vhost over AMQP; deleting it and its vhost works', async () => {
    const amqpUrl = (user: string, vhost: string): string => `amqp://${user}:secret@127.0.0.1:${tb.port}/${encodeURIComponent(vhost)}`;
    assert.equal((await api('PUT', '/api/users/robot', { body: { password: 'secret', tags: [] } })).status, 201);
    assert.equal((await api('PUT', '/api/users/robot', { body: { password: 'secret', tags: ['monitoring'] } })).status, 204);
    assert.deepEqual((await api('GET', '/api/users/robot')).body.tags, ['monitoring']);
    assert.equal((await api('PUT', '/api/vhosts/robots', { body: { description: 'for robots' } })).status, 201);
    assert.equal((await api('GET', '/api/vhosts/robots')).body.description, 'for robots');
    // No permissions in the vhost yet: RabbitMQ refuses connection.open with 530.
    await assert.rejects(amqp.connect(amqpUrl('robot', 'robots')), /ConnectionClose|530|NOT_ALLOWED|access to vhost/);
    assert.equal((await api('PUT', '/api/permissions/robots/robot', { body: { configure: '^r\\.', write: '.*', read: '.*' } })).status, 201);
    const conn = await amqp.connect(amqpUrl('robot', 'robots'));
    conn.on('error', () => {});
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    await ch.assertQueue('r.jobs', { durable: false });
    await assert.rejects(ch.assertQueue('other', { durable: false }), /403|ACCESS_REFUSED/);
    assert.equal((await api('DELETE', '/api/permissions/robots/robot')).status, 204);
    assert.equal((await api('GET', '/api/permissions/robots/robot')).status, 404);
    // Deleting the vhost closes the connection (320) and removes its queues.
    const closed = new Promise((resolve) => conn.once('close', resolve));
    assert.equal((await api('DELETE', '/api/vhosts/robots')).status, 204);
    await closed;
    assert.equal((await api('GET', '/api/vhosts/robots')).status, 404);
    assert.equal((await api('DELETE', '/api/users/robot')).status, 204);
    assert.equal((await api('GET', '/api/users/robot')).status, 404);
    assert.equal((await api('DELETE', '/api/users/robot')).status, 404);
  });

  test('a bad permission regex or user body is 400 with a reason', async () => {
    const bad = await api('PUT', '/api/permissions/%2F/guest', { body: { configure: '(', write: '.*', read: '.*' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'bad_request');
    const both = await api('PUT', '/api/users/x', { body: { password: 'a', password_hash: 'b' } });
    assert.equal(both.status, 400);
    assert.match(both.body.reason, /password/);
  });
});

describe('AMQP permissions apply to what a user does over the API', () => {
  test('declare, delete, bind, publish, get and purge need the same configure/write/read rights as over AMQP', async () => {
    const broker = tb.warren.broker;
    broker.addUser('limited', { password: 'limited-pw', tags: ['management'] });
    // May configure and read only "lim.*" queues; may write nowhere.
    broker.setPermissions('limited', '/', { configure: '^lim\\.', write: '^$', read: '^lim\\.' });
    const as: [string, string] = ['limited', 'limited-pw'];
    const refused = async (method: string, path: string, body?: unknown): Promise<void> => {
      const r = await api(method, path, { auth: as, body });
      assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.reason, /access to (queue|exchange) '.*' in vhost '\/' refused for user 'limited'/);
    };
    assert.equal((await api('PUT', '/api/queues/%2F/lim.ok', { auth: as, body: { durable: false } })).status, 201);
    await refused('PUT', '/api/queues/%2F/other', { durable: false });
    const other = qname('other');
    assert.equal((await api('PUT', `/api/queues/%2F/${other}`, { body: { durable: false } })).status, 201);
    await refused('DELETE', `/api/queues/%2F/${other}`);
    await refused('POST', `/api/queues/%2F/${other}/get`, { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' });
    await refused('DELETE', `/api/queues/%2F/${other}/contents`);
    await refused('POST', '/api/exchanges/%2F/amq.default/publish', { routing_key: 'lim.ok', payload: 'x', payload_encoding: 'string', properties: {} });
    await refused('POST', '/api/bindings/%2F/e/amq.direct/q/lim.ok', { routing_key: 'k' });
    await refused('PUT', '/api/exchanges/%2F/ex.x', { type: 'fanout' });
    // What it may do still works: read its own queue.
    const got = await api('POST', '/api/queues/%2F/lim.ok/get', { auth: as, body: { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' } });
    assert.equal(got.status, 200);
    assert.equal((await api('DELETE', '/api/queues/%2F/lim.ok', { auth: as })).status, 204);
    assert.equal((await api('DELETE', `/api/queues/%2F/${other}`)).status, 204);
    broker.deleteUser('limited');
  });
});
