/**
 * Management API: bindings (all the path forms, properties keys, Location), policies, and the
 * list query options (columns, sort, pagination), over real HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { qname } from './helpers/amqp-client.js';
import { apiClient, enc } from './helpers/http-client.js';

let tb: TestBroker;
before(async () => {
  tb = await startTestBroker({ managementPort: 0 });
});
after(async () => {
  await tb.stop();
});
const api = apiClient(() => tb);

describe('bindings', () => {
  test('exchange → queue: create (Location), list, show by properties key, delete', async () => {
    const x = qname('bx');
    const q = qname('bq');
    await api('PUT', `/api/exchanges/%2F/${x}`, { body: { type: 'headers', durable: false } });
    await api('PUT', `/api/queues/%2F/${q}`, { body: { durable: false } });
    const base = `/api/bindings/%2F/e/${x}/q/${q}`;

    const plain = await api('POST', base, { body: { routing_key: 'k/1' } });
    assert.equal(plain.status, 201);
    assert.equal(plain.headers.get('location'), `${base}/${enc('k/1')}`);
    const withArgs = await api('POST', base, { body: { routing_key: 'k/1', arguments: { 'x-match': 'any', a: 1 } } });
    const empty = await api('POST', base, { body: {} });
    assert.equal(empty.headers.get('location'), `${base}/~`);

    const list = await api('GET', base);
    assert.equal(list.body.length, 3);
    const keys = list.body.map((b: { properties_key: string }) => b.properties_key);
    assert.equal(new Set(keys).size, 3, 'distinct properties keys');
    const argsBinding = list.body.find((b: { arguments: Record<string, unknown> }) => b.arguments.a === 1);
    assert.equal(withArgs.headers.get('location'), `${base}/${enc(argsBinding.properties_key)}`);
    assert.deepEqual(argsBinding, {
      source: x, vhost: '/', destination: q, destination_type: 'queue', routing_key: 'k/1',
      arguments: { 'x-match': 'any', a: 1 }, properties_key: argsBinding.properties_key,
    });

    const one = await api('GET', withArgs.headers.get('location')!);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, argsBinding);
    assert.equal((await api('GET', `${base}/nope`)).status, 404);
    assert.equal((await api('DELETE', withArgs.headers.get('location')!)).status, 204);
    assert.equal((await api('GET', withArgs.headers.get('location')!)).status, 404);
    assert.equal((await api('GET', base)).body.length, 2);

    // The queue's bindings start with the default exchange's implicit one.
    const qb = await api('GET', `/api/queues/%2F/${q}/bindings`);
    assert.deepEqual(qb.body.map((b: { source: string; routing_key: string }) => [b.source, b.routing_key]), [['', q], [x, 'k/1'], [x, '']]);
    const all = await api('GET', '/api/bindings/%2F');
    assert.ok(all.body.some((b: { source: string; destination: string }) => b.source === x && b.destination === q));
    assert.ok((await api('GET', '/api/bindings')).body.length >= all.body.length);

    assert.equal((await api('POST', `/api/bindings/%2F/e/${x}/q/missing`, { body: {} })).status, 404);
    assert.equal((await api('POST', `/api/bindings/%2F/e/amq.default/q/${q}`, { body: {} })).status, 403, 'the default exchange cannot be bound');
    assert.equal((await api('POST', `/api/bindings/%2F/e/amq.headers/q/${q}`, { body: { arguments: { 'x-match': 'some' } } })).status, 400);
    await api('DELETE', `/api/exchanges/%2F/${x}`);
    await api('DELETE', `/api/queues/%2F/${q}`);
  });

  test('exchange → exchange: create, list, show, delete', async () => {
    const a = qname('ea');
    const b = qname('eb');
    for (const n of [a, b]) await api('PUT', `/api/exchanges/%2F/${n}`, { body: { type: 'direct', durable: false } });
    const base = `/api/bindings/%2F/e/${a}/e/${b}`;
    const created = await api('POST', base, { body: { routing_key: 'rk' } });
    assert.equal(created.status, 201);
    const list = await api('GET', base);
    assert.deepEqual(list.body.map((x: { destination_type: string; routing_key: string }) => [x.destination_type, x.routing_key]), [['exchange', 'rk']]);
    assert.equal((await api('GET', created.headers.get('location')!)).body.destination, b);
    assert.equal((await api('DELETE', `${base}/rk`)).status, 204);
    assert.deepEqual((await api('GET', base)).body, []);
    for (const n of [a, b]) await api('DELETE', `/api/exchanges/%2F/${n}`);
  });
});

describe('policies', () => {
  test('put, show, list, apply to queues, replace, delete', async () => {
    const q = qname('pol');
    await api('PUT', `/api/queues/%2F/${q}`, { body: { durable: false } });
    const body = { pattern: `^${q}$`, definition: { 'max-length': 5 }, priority: 3, 'apply-to': 'queues' };
    assert.equal((await api('PUT', '/api/policies/%2F/limit', { body })).status, 201);
    assert.deepEqual((await api('GET', '/api/policies/%2F/limit')).body, { vhost: '/', name: 'limit', ...body });
    assert.ok((await api('GET', '/api/policies')).body.some((p: { name: string }) => p.name === 'limit'));
    assert.equal((await api('GET', '/api/policies/%2F')).body.length, 1);
    const shown = await api('GET', `/api/queues/%2F/${q}`);
    assert.equal(shown.body.policy, 'limit');
    assert.deepEqual(shown.body.effective_policy_definition, { 'max-length': 5 });
    assert.equal(tb.warren.broker.getVhost('/')!.queues.get(q)!.settings.maxLength, 5);

    assert.equal((await api('PUT', '/api/policies/%2F/limit', { body: { ...body, definition: { 'max-length': 7 } } })).status, 204);
    assert.equal(tb.warren.broker.getVhost('/')!.queues.get(q)!.settings.maxLength, 7);
    const bad = await api('PUT', '/api/policies/%2F/bad', { body: { pattern: '.*', definition: { 'ha-mode': 'all' } } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.reason, /ha-mode/);
    assert.equal((await api('PUT', '/api/policies/%2F/bad', { body: { pattern: '(', definition: { 'max-length': 1 } } })).status, 400);
    assert.equal((await api('PUT', '/api/policies/nowhere/p', { body })).status, 404);

    assert.equal((await api('DELETE', '/api/policies/%2F/limit')).status, 204);
    assert.equal((await api('GET', '/api/policies/%2F/limit')).status, 404);
    assert.equal((await api('DELETE', '/api/policies/%2F/limit')).status, 404);
    assert.equal(tb.warren.broker.getVhost('/')!.queues.get(q)!.settings.maxLength, undefined);
    await api('DELETE', `/api/queues/%2F/${q}`);
  });
});

describe('list query options', () => {
  test('columns, sort, sort_reverse, pagination with a name filter', async () => {
    const prefix = qname('lq');
    for (const n of ['b', 'a', 'c']) await api('PUT', `/api/queues/%2F/${prefix}-${n}`, { body: { durable: false } });
    const cols = await api('GET', '/api/queues/%2F?columns=name,arguments&sort=name');
    const mine = cols.body.filter((q: { name: string }) => q.name.startsWith(prefix));
    assert.deepEqual(mine, ['a', 'b', 'c'].map((n) => ({ name: `${prefix}-${n}`, arguments: {} })));
    const rev = await api('GET', '/api/queues/%2F?columns=name&sort=name&sort_reverse=true');
    const revNames = rev.body.map((q: { name: string }) => q.name).filter((n: string) => n.startsWith(prefix));
    assert.deepEqual(revNames, ['c', 'b', 'a'].map((n) => `${prefix}-${n}`));

    const page = await api('GET', `/api/queues/%2F?page=1&page_size=2&name=${enc(prefix)}&sort=name`);
    assert.equal(page.body.filtered_count, 3);
    assert.equal(page.body.item_count, 2);
    assert.equal(page.body.page_count, 2);
    assert.equal(page.body.items[0].name, `${prefix}-a`);
    const page2 = await api('GET', `/api/queues/%2F?page=2&page_size=2&name=${enc(`^${prefix}-[ab]$`)}&use_regex=true`);
    assert.equal(page2.status, 400, 'past the last page of a 2-item filter');
    assert.equal((await api('GET', '/api/queues/%2F?page=0')).status, 400);
    for (const n of ['a', 'b', 'c']) await api('DELETE', `/api/queues/%2F/${prefix}-${n}`);
  });
});
