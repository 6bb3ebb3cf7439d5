import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Message } from '../core/message.js';
import { setLogLevel } from '../log.js';
import { encodeProperties } from '../protocol/amqp/codec/properties.js';
import { MemoryQueueStore } from './memory/memory-queue-store.js';
import { MessageStore } from './message-store.js';
import type { MessageStoreOptions } from './message-store.js';
import { PriorityQueueStore } from './priority-queue-store.js';
import type { QueueStore } from './queue-store.js';
import { queueStoreContract } from './queue-store.contract.js';

if (!process.env.WARREN_LOG_LEVEL) setLogLevel('warn');

const root = mkdtempSync(join(tmpdir(), 'warren-priostore-'));
const opened: MessageStore[] = [];
after(async () => {
  for (const ms of opened) await ms.close();
  rmSync(root, { recursive: true, force: true });
});
let n = 0;

function messageStore(options: Omit<MessageStoreOptions, 'dataDir' | 'fsync'>): MessageStore {
  const ms = new MessageStore({ dataDir: join(root, `ms${++n}`), fsync: false, pagingThreshold: 0, ...options });
  opened.push(ms);
  return ms;
}

/** Stores of a MessageStore with budgets small enough that most messages go through the disk. */
function viaMessageStore(durable: boolean, queueMemoryMessages: number, segmentBytes: number): () => QueueStore {
  const ms = messageStore({ segmentBytes, queueMemoryMessages });
  return () => ms.openPriority('/', `q${++n}`, durable, 10);
}

// The contract's messages have no priority property: they all go to level 0, so the shared suite
// checks that the composition keeps every rule of a single store.
queueStoreContract('priority store (memory levels)',
  () => new PriorityQueueStore({ maxPriority: 10, createLevel: () => new MemoryQueueStore() }));
queueStoreContract('priority store (durable, 4 in memory per level, 4 KiB segments)', viaMessageStore(true, 44, 4096));
queueStoreContract('priority store (paging, 4 in memory per level, 4 KiB segments)', viaMessageStore(false, 44, 4096));
queueStoreContract('priority store (durable, default budget)', viaMessageStore(true, 16384, 8 << 20));

/** A message with the priority property (undefined: absent) and a body naming it. */
export function prio(body: string, priority?: number): Message {
  return new Message('', 'q', encodeProperties({ priority, deliveryMode: 2 }), Buffer.from(body));
}

function drain(s: QueueStore): string[] {
  const out: string[] = [];
  for (let e = s.shift(); e; e = s.shift()) out.push(e.message.body.toString());
  return out;
}

/** The same tests on levels in memory and on levels that page to disk at once. */
const variants: [string, (max: number) => PriorityQueueStore][] = [
  ['memory levels', (max) => new PriorityQueueStore({ maxPriority: max, createLevel: () => new MemoryQueueStore() })],
  ['paging levels', (max) => {
    const ms = messageStore({ segmentBytes: 4096, queueMemoryMessages: 2 * (max + 1) });
    return ms.openPriority('/', `q${++n}`, false, max) as PriorityQueueStore;
  }],
  ['durable levels', (max) => {
    const ms = messageStore({ segmentBytes: 4096, queueMemoryMessages: 2 * (max + 1) });
    return ms.openPriority('/', `q${++n}`, true, max) as PriorityQueueStore;
  }],
];

for (const [name, create] of variants) {
  describe(`priority store (${name})`, () => {
    test('highest priority first, FIFO within a priority, absent = 0, above max = max', () => {
      const s = create(5);
      const input: [string, number | undefined][] = [
        ['a0', 0], ['b3', 3], ['c-', undefined], ['d5', 5], ['e3', 3], ['f9', 9], ['g1', 1], ['h255', 255], ['i0', 0],
      ];
      for (const [b, p] of input) s.push(prio(b, p));
      assert.equal(s.readyCount, 9);
      assert.deepEqual(drain(s), ['d5', 'f9', 'h255', 'b3', 'e3', 'g1', 'a0', 'c-', 'i0']);
      assert.equal(s.readyCount, 0);
      assert.equal(s.readyBytes, 0);
    });

    test('a later higher-priority message overtakes a waiting backlog', () => {
      const s = create(3);
      for (let i = 0; i < 20; i++) s.push(prio(`low${i}`, 0));
      assert.equal(s.shift()!.message.body.toString(), 'low0');
      s.push(prio('high', 3));
      assert.equal(s.peek()!.message.body.toString(), 'high');
      assert.equal(s.shift()!.message.body.toString(), 'high');
      assert.equal(s.shift()!.message.body.toString(), 'low1');
    });

    test('a requeued entry returns to its level at its original position, ahead of lower levels', () => {
      const s = create(9);
      for (const [b, p] of [['h1', 7], ['h2', 7], ['h3', 7], ['l1', 1], ['l2', 1]] as const) s.push(prio(b, p));
      const h1 = s.shift()!;
      const h2 = s.shift()!;
      const h3 = s.shift()!;
      const l1 = s.shift()!;
      assert.equal(l1.message.body.toString(), 'l1');
      s.requeue(h2);
      s.push(prio('m', 4));
      s.requeue(l1);
      s.requeue(h1);
      s.ack(h3);
      const first = s.shift()!;
      assert.equal(first.message.body.toString(), 'h1');
      assert.equal(first.redelivered, true);
      const rest = [s.shift()!, s.shift()!, s.shift()!, s.shift()!];
      assert.deepEqual(rest.map((e) => e.message.body.toString()), ['h2', 'm', 'l1', 'l2']);
      assert.deepEqual(rest.map((e) => e.redelivered), [true, false, true, false]);
      for (const e of [first, ...rest]) s.ack(e);
      assert.equal(s.shift(), undefined);
    });

    test('peek shows what shift takes, across levels', () => {
      const s = create(2);
      assert.equal(s.peek(), undefined);
      s.push(prio('low', 0));
      assert.equal(s.peek()!.message.body.toString(), 'low');
      s.push(prio('high', 2));
      assert.equal(s.peek()!.message.body.toString(), 'high');
      assert.equal(s.readyCount, 2);
      const high = s.shift()!;
      assert.equal(s.peek()!.message.body.toString(), 'low');
      s.requeue(high);
      assert.equal(s.peek()!.message.body.toString(), 'high');
    });

    test('counts and bytes are totals over the levels', () => {
      const s = create(4);
      s.push(prio('aaaa', 4));
      s.push(prio('bb', 0));
      s.push(prio('c', 2));
      assert.equal(s.readyCount, 3);
      assert.equal(s.readyBytes, 7);
      const a = s.shift()!;
      assert.equal(s.readyCount, 2);
      assert.equal(s.readyBytes, 3);
      s.requeue(a);
      assert.equal(s.readyCount, 3);
      assert.equal(s.readyBytes, 7);
    });

    test('purge empties every level but not the entries out for delivery', () => {
      const s = create(3);
      for (let p = 0; p <= 3; p++) for (let i = 0; i < 5; i++) s.push(prio(`${p}.${i}`, p));
      const out = s.shift()!;
      assert.equal(s.purge(), 19);
      assert.equal(s.readyCount, 0);
      assert.equal(s.readyBytes, 0);
      assert.equal(s.shift(), undefined);
      s.push(prio('new', 1));
      s.requeue(out);
      assert.deepEqual(drain(s), ['3.0', 'new']);
    });

    test('levels are created when first used', () => {
      const s = create(255);
      assert.deepEqual(s.openLevels, []);
      s.push(prio('x', 7));
      s.push(prio('y'));
      s.push(prio('z', 7));
      assert.deepEqual(s.openLevels, [0, 7]);
      assert.deepEqual(drain(s), ['x', 'z', 'y']);
    });

    test('many messages over many levels keep priority then FIFO order', () => {
      const s = create(9);
      const expected: string[][] = Array.from({ length: 10 }, () => []);
      for (let i = 0; i < 3000; i++) {
        const p = (i * 7) % 10;
        s.push(prio(String(i), p));
        expected[p]!.push(String(i));
      }
      assert.equal(s.readyCount, 3000);
      assert.deepEqual(drain(s), expected.reverse().flat());
    });
  });
}

test('priority store: max priority outside 1..255 is refused', () => {
  for (const max of [0, 256, 1.5]) {
    assert.throws(() => new PriorityQueueStore({ maxPriority: max, createLevel: () => new MemoryQueueStore() }), RangeError);
  }
});

test('priority store: levelOf caps at the maximum and treats absent as 0', () => {
  const s = new PriorityQueueStore({ maxPriority: 10, createLevel: () => new MemoryQueueStore() });
  assert.equal(s.levelOf(prio('a')), 0);
  assert.equal(s.levelOf(prio('a', 3)), 3);
  assert.equal(s.levelOf(prio('a', 10)), 10);
  assert.equal(s.levelOf(prio('a', 200)), 10);
  assert.equal(s.levelOf(new Message('', 'q', Buffer.from([0x08]), Buffer.alloc(0))), 0, 'malformed: 0');
});
