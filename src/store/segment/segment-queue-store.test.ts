import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { queueStoreContract } from '../queue-store.contract.js';
import { GroupCommit } from './group-commit.js';
import { SegmentQueueStore } from './segment-queue-store.js';
import { persistent } from './segment-test-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'warren-segstore-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const commit = new GroupCommit(false);

function create(durable: boolean, memoryMessages: number, segmentBytes: number): () => SegmentQueueStore {
  return () => new SegmentQueueStore({
    dir: join(root, String(++n)), durable, label: `/q${n}`, segmentBytes, commit,
    memoryMessages, memoryBytes: 1 << 20,
  });
}

// The same suite the memory store runs, with memory budgets small enough that most messages go
// through the disk: segments rotate, read-ahead refills, acks free whole segments.
queueStoreContract('segment store (durable, 4 in memory, 4 KiB segments)', create(true, 4, 4096));
queueStoreContract('segment store (paging, 4 in memory, 4 KiB segments)', create(false, 4, 4096));
queueStoreContract('segment store (durable, default budget)', create(true, 16384, 8 << 20));
queueStoreContract('segment store (paging, everything in memory)', create(false, 1 << 20, 8 << 20));

// Scenario S5 (10k idle queues): an empty durable queue must not hold a write buffer (256 KiB each
// before it was allocated on the first append); the first message still goes through.
test('an empty durable queue allocates its write buffer only on the first message', () => {
  const before = process.memoryUsage().arrayBuffers;
  const stores = Array.from({ length: 64 }, () => create(true, 16384, 8 << 20)());
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 64 * 32 * 1024, `64 empty durable queues took ${grown} bytes of buffers`);
  const store = stores[0]!;
  store.push(persistent('first'));
  const entry = store.shift();
  assert.equal(entry?.message.body.toString(), 'first');
  for (const s of stores) s.close();
});
