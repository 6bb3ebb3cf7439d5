/**
 * Definitions over the management API: export → import into a fresh broker gives the same
 * definitions back; a hand-written RabbitMQ export (test/fixtures) imports, its objects work
 * (routing, policies, logins with the imported hashes) and survive a restart; bad files are 400.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { apiClient } from './helpers/http-client.js';

const FIXTURE = new URL('../../test/fixtures/rabbitmq-definitions.json', import.meta.url);

const brokers: TestBroker[] = [];
async function fresh(): Promise<TestBroker> {
  const tb = await startTestBroker({ managementPort: 0 });
  brokers.push(tb);
  return tb;
}
after(async () => {
  for (const tb of brokers) await tb.stop();
});

type Defs = Record<string, Record<string, unknown>[]>;
const byKey = (list: Record<string, unknown>[]) => [...list].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
const SECTIONS = ['users', 'vhosts', 'permissions', 'policies', 'queues', 'exchanges', 'bindings'];

describe('export → import round trip', () => {
  let source: TestBroker;
  before(async () => {
    source = await fresh();
    const api = apiClient(() => source);
    source.warren.broker.addUser('svc', { password: 'pw', tags: ['management'] });
    await api('PUT', '/api/vhosts/staging');
    await api('PUT', '/api/policies/staging/ttl', { body: { pattern: '^t\\.', definition: { 'message-ttl': 1000 }, 'apply-to': 'queues', priority: 2 } });
    await api('PUT', '/api/exchanges/staging/ev', { body: { type: 'topic', arguments: { 'alternate-exchange': 'ae' } } });
    await api('PUT', '/api/exchanges/staging/ae', { body: { type: 'fanout', durable: false } });
    await api('PUT', '/api/exchanges/staging/hx', { body: { type: 'headers', internal: true } });
    await api('PUT', '/api/queues/staging/t.1', { body: { arguments: { 'x-max-length': 10, 'x-overflow': 'reject-publish' } } });
    await api('PUT', '/api/queues/staging/transient', { body: { durable: false, auto_delete: true } });
    await api('POST', '/api/bindings/staging/e/ev/q/t.1', { body: { routing_key: 'a.#' } });
    await api('POST', '/api/bindings/staging/e/ev/e/hx', { body: { routing_key: '#' } });
    await api('POST', '/api/bindings/staging/e/hx/q/transient', { body: { arguments: { 'x-match': 'any', k: 'v', n: 5 } } });
  });

  test('a fresh broker importing the export exports the same definitions', async () => {
    const exported = (await apiClient(() => source)('GET', '/api/definitions')).body as Defs;
    assert.equal(typeof exported.rabbit_version, 'string');
    assert.ok(exported.users!.some((u) => u.name === 'svc' && typeof u.password_hash === 'string' && u.hashing_algorithm === 'rabbit_password_hashing_sha256'));
    assert.ok(exported.queues!.some((q) => q.name === 't.1'));
    assert.ok(exported.bindings!.some((b) => b.destination_type === 'exchange'));
    assert.ok(!exported.exchanges!.some((e) => String(e.name).startsWith('amq.') || e.name === ''), 'predeclared exchanges are not exported');

    const target = await fresh();
    const api = apiClient(() => target);
    const r = await api('POST', '/api/definitions', { body: exported });
    assert.equal(r.status, 204, JSON.stringify(r.body));
    const again = (await api('GET', '/api/definitions')).body as Defs;
    for (const s of SECTIONS) assert.deepEqual(byKey(again[s]!), byKey(exported[s]!), s);
    // The imported user logs in with its old password (the hash moved, not a new one).
    assert.equal((await api('GET', '/api/whoami', { auth: ['svc', 'pw'] })).status, 200);
    // And the policy applies to the imported queue.
    assert.equal(target.warren.broker.getVhost('staging')!.queues.get('t.1')!.settings.messageTtl, 1000);

    // Importing the same file again changes nothing (every object is equivalent).
    assert.equal((await api('POST', '/api/definitions', { body: exported })).status, 204);
  });

  test('per-vhost export imports into another vhost', async () => {
    const one = (await apiClient(() => source)('GET', '/api/definitions/staging')).body as Defs;
    assert.equal(one.users, undefined);
    assert.ok(one.queues!.every((q) => q.vhost === 'staging'));
    const target = await fresh();
    const api = apiClient(() => target);
    await api('PUT', '/api/vhosts/copy');
    assert.equal((await api('POST', '/api/definitions/copy', { body: one })).status, 204);
    const v = target.warren.broker.getVhost('copy')!;
    assert.deepEqual([...v.queues.keys()].sort(), ['t.1', 'transient']);
    assert.equal(v.getPolicy('ttl')?.priority, 2);
  });
});

describe('importing a RabbitMQ definitions file', () => {
  test('vhosts, users, policies, exchanges, queues and bindings arrive and work; restart keeps them', async () => {
    const tb = await fresh();
    const api = apiClient(() => tb);
    const file = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    const r = await api('POST', '/api/definitions', { body: file });
    assert.equal(r.status, 204, JSON.stringify(r.body));

    const orders = tb.warren.broker.getVhost('orders')!;
    assert.deepEqual([...orders.queues.keys()].sort(), ['orders.created', 'orders.dead', 'orders.paid', 'orders.unrouted']);
    assert.equal(orders.queues.get('orders.created')!.policy?.name, 'orders-dlx');
    assert.equal(orders.queues.get('orders.created')!.settings.maxLength, 100000);
    assert.equal(orders.exchanges.get('orders.events')!.alternateExchange, 'orders.unrouted');
    assert.equal(orders.exchanges.get('orders.internal')!.internal, true);
    assert.equal(tb.warren.broker.getVhost('/')!.queues.get('audit.log')!.arguments['x-max-priority'], 5);

    // Routing through the imported topology, over the API.
    const publish = (routing_key: string, headers = {}) => api('POST', '/api/exchanges/orders/orders.events/publish',
      { body: { routing_key, payload: '{}', payload_encoding: 'string', properties: { headers, delivery_mode: 2 } } });
    assert.deepEqual((await publish('order.created.eu')).body, { routed: true });
    assert.deepEqual((await publish('order.x', { region: 'eu' })).body, { routed: true }, 'through the internal headers exchange');
    assert.deepEqual((await publish('nothing')).body, { routed: true }, 'alternate exchange from the policy');
    const count = async (q: string) => (await api('GET', `/api/queues/orders/${q}`)).body.messages;
    assert.deepEqual([await count('orders.created'), await count('orders.dead'), await count('orders.unrouted')], [1, 1, 1]);

    // Users: sha256 hashes log in; tags given as a string are split; sha512 is skipped.
    assert.deepEqual((await api('GET', '/api/whoami', { auth: ['orders-svc', 's3cret'] })).body.tags, ['management']);
    assert.deepEqual((await api('GET', '/api/users/grafana')).body.tags, ['monitoring', 'management']);
    assert.equal((await api('GET', '/api/users/legacy-sha512')).status, 404);
    assert.equal((await api('GET', '/api/whoami')).status, 200, 'guest, replaced by the file\'s guest, still logs in');

    const restarted = await tb.restart();
    brokers[brokers.indexOf(tb)] = restarted; // the data directory is the restarted broker's now
    const v = restarted.warren.broker.getVhost('orders');
    assert.ok(v, 'vhost survives a restart');
    assert.ok(v.queues.has('orders.paid'));
    assert.equal(v.queues.get('orders.created')!.messageCount, 1, 'a persistent message published over HTTP survives');
    assert.equal(v.getPolicy('events-ae')?.definition['alternate-exchange'], 'orders.unrouted');
    assert.equal([...v.exchanges.get('orders.events')!.bindings()].length, 3);
  });

  test('malformed files are refused with 400 and a reason', async () => {
    const tb = await fresh();
    const api = apiClient(() => tb);
    const cases: [unknown, RegExp][] = [
      [{ queues: 'all of them' }, /queues must be an array/],
      [{ queues: [{ name: 'q' }] }, /vhost must be a string/],
      [{ queues: [{ name: 'q', vhost: 'missing' }] }, /vhost 'missing' does not exist/],
      [{ queues: [{ name: 'q', vhost: '/', arguments: { 'x-max-length': 'many' } }] }, /queue 'q'/],
      [{ bindings: [{ source: 'amq.direct', vhost: '/', destination: 'nope', destination_type: 'queue', routing_key: '' }] }, /does not exist/],
      [{ policies: [{ vhost: '/', name: 'p', pattern: '.*', definition: {} }] }, /policy 'p'/],
      [{ queues: [{ name: 'q'.repeat(256), vhost: '/' }] }, /queue name is 256 bytes long; the most is 255/],
      [{ exchanges: [{ name: 'x'.repeat(256), vhost: '/', type: 'direct' }] }, /exchange name is 256 bytes long/],
    ];
    for (const [body, reason] of cases) {
      const r = await api('POST', '/api/definitions', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.reason, reason);
    }
    assert.equal((await api('POST', '/api/definitions', { text: '[1,2]' })).status, 400);
  });
});
