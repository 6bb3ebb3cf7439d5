/**
 * Durable priority queues in the message store: one log per level under the queue's directory,
 * found again at start, removed with the queue, never taken for an orphan.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Message } from '../core/message.js';
import { setLogLevel } from '../log.js';
import { encodeProperties } from '../protocol/amqp/codec/properties.js';
import { MessageStore } from './message-store.js';
import type { PriorityQueueStore } from './priority-queue-store.js';
import type { QueueStore } from './queue-store.js';

if (!process.env.WARREN_LOG_LEVEL) setLogLevel('warn');

const root = mkdtempSync(join(tmpdir(), 'warren-priomsgstore-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const msg = (body: string, priority: number | undefined, persistent = true): Message =>
  new Message('', 'q', encodeProperties({ priority, deliveryMode: persistent ? 2 : 1 }), Buffer.from(body));

function drain(s: QueueStore): [string, boolean][] {
  const out: [string, boolean][] = [];
  for (let e = s.shift(); e; e = s.shift()) {
    out.push([e.message.body.toString(), e.redelivered]);
    s.ack(e);
  }
  return out;
}

/** Small budgets (2 messages in memory per level of an x-max-priority 10 queue): most records go through the disk. */
function newStore(dataDir: string): MessageStore {
  return new MessageStore({ dataDir, fsync: false, segmentBytes: 4096, queueMemoryMessages: 22, pagingThreshold: 0 });
}

test('a durable priority queue keeps its order and redelivered flags across a restart', async () => {
  const dataDir = join(root, String(++n));
  let ms = newStore(dataDir);
  let s = ms.openPriority('/', 'pq', true, 10) as PriorityQueueStore;
  for (let i = 0; i < 30; i++) s.push(msg(`p${i % 3 * 4}-${i}`, (i % 3) * 4));
  s.push(msg('transient-9', 9, false));
  // Out when the broker stops: the transient one is gone after the restart, p8-2 comes back redelivered.
  assert.equal(s.shift()!.message.body.toString(), 'transient-9');
  assert.equal(s.shift()!.message.body.toString(), 'p8-2');
  const acked = s.shift()!;
  assert.equal(acked.message.body.toString(), 'p8-5');
  s.ack(acked);
  assert.deepEqual(readdirSync(ms.queueDir('/', 'pq')).sort(), ['p0', 'p4', 'p8', 'p9', 'queue.json']);
  await ms.close();

  ms = newStore(dataDir);
  s = ms.openPriority('/', 'pq', true, 10) as PriorityQueueStore;
  ms.removeOrphans();
  assert.equal(s.readyCount, 29);
  // Level 9 held only a transient message: nothing of it survives, not even its directory.
  assert.deepEqual(s.openLevels, [0, 4, 8]);
  assert.equal(existsSync(join(ms.queueDir('/', 'pq'), 'p9')), false);
  const got = drain(s);
  const expected = (p: number, skip: number[] = []): string[] =>
    Array.from({ length: 10 }, (_, k) => 3 * k + p / 4).filter((i) => !skip.includes(i)).map((i) => `p${p}-${i}`);
  assert.deepEqual(got.map(([b]) => b), [...expected(8, [5]), ...expected(4), ...expected(0)]);
  assert.deepEqual(got.filter(([, r]) => r).map(([b]) => b), ['p8-2']);
  await ms.close();
});

test('removeOrphans keeps live priority queues (with or without levels) and drops deleted ones', async () => {
  const dataDir = join(root, String(++n));
  let ms = newStore(dataDir);
  const kept = ms.openPriority('/', 'kept', true, 5);
  kept.push(msg('k', 3));
  ms.openPriority('/', 'empty', true, 5);
  const gone = ms.openPriority('/', 'gone', true, 5);
  gone.push(msg('g', 1));
  await ms.close();

  // Restart where only 'kept' and 'empty' are still defined.
  ms = newStore(dataDir);
  const kept2 = ms.openPriority('/', 'kept', true, 5);
  const empty2 = ms.openPriority('/', 'empty', true, 5);
  ms.removeOrphans();
  assert.equal(existsSync(ms.queueDir('/', 'gone')), false);
  assert.equal(existsSync(join(ms.queueDir('/', 'kept'), 'p3')), true);
  assert.equal(existsSync(join(ms.queueDir('/', 'empty'), 'queue.json')), true);
  assert.deepEqual(drain(kept2), [['k', false]]);
  empty2.push(msg('e', 5));
  assert.deepEqual(drain(empty2), [['e', false]]);
  await ms.close();
});

test('destroying a durable priority queue removes its directory with every level', async () => {
  const ms = newStore(join(root, String(++n)));
  const s = ms.openPriority('/', 'del', true, 3);
  for (let p = 0; p <= 3; p++) s.push(msg(`m${p}`, p));
  const out = s.shift()!;
  const dir = ms.queueDir('/', 'del');
  assert.equal(readdirSync(dir).length, 5);
  s.destroy();
  assert.equal(existsSync(dir), false);
  s.ack(out); // a late ack of a deleted queue's message is harmless
  assert.equal(s.readyCount, 0);
  await ms.close();
});

test('a non-durable priority queue pages each level and keeps nothing across a restart', async () => {
  const dataDir = join(root, String(++n));
  let ms = newStore(dataDir);
  const s = ms.openPriority('/', 'tq', false, 2);
  for (let i = 0; i < 200; i++) s.push(msg(`m${i}`, i % 3));
  assert.equal(existsSync(ms.queueDir('/', 'tq')), false, 'no durable directory');
  assert.ok(readdirSync(join(dataDir, 'paging')).length >= 3, 'levels paged out');
  const got = drain(s).map(([b]) => Number(b.slice(1)));
  assert.equal(got.length, 200);
  assert.deepEqual(got.slice(0, 3), [2, 5, 8]);
  assert.deepEqual(got.slice(-2), [195, 198]);
  await ms.close();
  ms = newStore(dataDir);
  assert.equal(existsSync(join(dataDir, 'paging')), false);
  await ms.close();
});
