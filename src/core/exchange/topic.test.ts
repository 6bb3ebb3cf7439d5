import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../message.js';
import { Queue } from '../queue/queue.js';
import { MemoryQueueStore } from '../../store/memory/memory-queue-store.js';
import type { Destination } from './exchange.js';
import { TopicExchange } from './topic.js';

const events = { lastConsumerGone() {} };
const opts = { durable: false, autoDelete: false, internal: false, arguments: {} };
function queue(name: string): Queue {
  return new Queue('/', name, { durable: false, exclusive: false, autoDelete: false, arguments: {}, owner: null }, new MemoryQueueStore(), { ...events, queueExpired() {}, deadLetter() {} });
}
function routes(ex: TopicExchange, key: string): string[] {
  const out: Destination[] = [];
  ex.route(new Message('t', key, Buffer.alloc(2), Buffer.alloc(0)), out);
  return [...new Set(out.map((d) => d.name))].sort();
}

test('topic patterns: *, #, # matching zero words, and combinations', () => {
  const ex = new TopicExchange('/', 't', opts);
  const cases: Record<string, string[]> = {
    'a.b': ['a.b'],
    '*.b': ['a.b', 'x.b'],
    'a.#': ['a', 'a.b', 'a.b.c'],
    '#': ['', 'a', 'a.b', 'x.y.z'],
    'a.#.c': ['a.c', 'a.b.c', 'a.b.b.c'],
    '#.c': ['c', 'a.c', 'a.b.c'],
    '*.*': ['a.b', 'x.b'],
    'x.#.y.#': ['x.y', 'x.b.y', 'x.y.c', 'x.a.y.b.c'],
  };
  const qs = new Map<string, Queue>();
  for (const pattern of Object.keys(cases)) {
    const q = queue(pattern);
    qs.set(pattern, q);
    ex.bind(q, pattern, {});
  }
  const keys = ['', 'a', 'c', 'a.b', 'x.b', 'a.c', 'a.b.c', 'a.b.b.c', 'x.y', 'x.b.y', 'x.y.c', 'x.a.y.b.c', 'x.y.z', 'b.a.c.d'];
  for (const key of keys) {
    const expected = Object.entries(cases).filter(([, ks]) => ks.includes(key)).map(([p]) => p);
    // patterns whose case list omits a key must not match it, except where listed elsewhere
    const got = routes(ex, key);
    for (const p of expected) assert.ok(got.includes(p), `'${key}' should match '${p}' (got ${got.join(', ')})`);
  }
  assert.deepEqual(routes(ex, 'a.b'), ['#', '*.*', '*.b', 'a.#', 'a.b']);
  assert.deepEqual(routes(ex, 'b.a.c.d'), ['#']);
  assert.deepEqual(routes(ex, 'a.b.c'), ['#', '#.c', 'a.#', 'a.#.c']);
});

test('unbinding removes the route and invalidates the cache; shared prefixes survive', () => {
  const ex = new TopicExchange('/', 't', opts);
  const q1 = queue('q1');
  const q2 = queue('q2');
  ex.bind(q1, 'a.*.c', {});
  ex.bind(q2, 'a.b.#', {});
  assert.deepEqual(routes(ex, 'a.b.c'), ['q1', 'q2']);
  ex.unbind(q1, 'a.*.c', {});
  assert.deepEqual(routes(ex, 'a.b.c'), ['q2']);
  ex.unbind(q2, 'a.b.#', {});
  assert.deepEqual(routes(ex, 'a.b.c'), []);
  ex.bind(q1, 'a.b.c', {});
  assert.deepEqual(routes(ex, 'a.b.c'), ['q1']);
});

test('two bindings of one queue with different arguments: one copy, and one unbind keeps the other', () => {
  const ex = new TopicExchange('/', 't', opts);
  const q = queue('q');
  ex.bind(q, 'k.*', { a: 1 });
  ex.bind(q, 'k.*', { a: 2 });
  assert.equal(ex.bindingCount, 2);
  const out: Destination[] = [];
  ex.route(new Message('t', 'k.x', Buffer.alloc(2), Buffer.alloc(0)), out);
  assert.equal(out.length, 1);
  ex.unbind(q, 'k.*', { a: 1 });
  assert.deepEqual(routes(ex, 'k.x'), ['q']);
});
