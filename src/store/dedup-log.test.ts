/**
 * The deduplication journal on disk, driven through the core's Deduplicator as the broker does:
 * replay after a close, a torn or corrupt tail (cut off, logged, never fatal), compaction while
 * running and at start, the group commit covering admitted keys, and deletion.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Deduplicator } from '../core/queue/deduplication.js';
import type { DeduplicationConfig } from '../core/queue/deduplication.js';
import { DEDUP_LOG_FILE, DedupLog } from './dedup-log.js';
import { GroupCommit } from './segment/group-commit.js';
import { captureLogs } from './segment/segment-test-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'warren-dedup-log-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

const IN_QUEUE: DeduplicationConfig = { ttlMs: undefined, cacheSize: undefined };
const HEADER_BYTES = 16;

class Clock {
  t = 5_000_000;
  readonly now = (): number => this.t;
}

/** A journal directory plus a way to open a Deduplicator on it, as a restart would. */
function fixture(config: DeduplicationConfig, fsync = false) {
  const dir = join(root, `q${++dirs}`);
  const commit = new GroupCommit(fsync);
  const clock = new Clock();
  const registry = new Set<DedupLog>();
  let journal: DedupLog;
  const open = (): Deduplicator => {
    journal = new DedupLog({ dir, label: `queue 'q${dirs}' in vhost '/'`, commit, registry });
    return new Deduplicator(config, journal, clock.now);
  };
  return { dir, path: join(dir, DEDUP_LOG_FILE), commit, clock, registry, open, journal: () => journal };
}

/** One group-commit round, finished. */
const round = (commit: GroupCommit): Promise<void> =>
  new Promise((resolve) => commit.wait({ committed: () => resolve() }));

describe('DedupLog', () => {
  test('keys come back after a close; released and purged keys do not; nothing is written for no keys', async () => {
    const f = fixture(IN_QUEUE);
    let d = f.open();
    d.close();
    assert.equal(existsSync(f.path), false, 'no key, no file');
    d = f.open();
    for (const k of ['a', 'b', 'c']) d.admitKey(k, 10, undefined, true);
    d.releaseKey('b', 10);
    d.close();
    d = f.open();
    assert.deepEqual(['a', 'b', 'c'].map((k) => d.has(k)), [true, false, true]);
    d.purged();
    d.admitKey('after-purge', 20, undefined, true);
    d.close();
    d = f.open();
    assert.deepEqual(['a', 'c', 'after-purge'].map((k) => d.has(k)), [false, false, true]);
    assert.equal(f.registry.size, 1);
    d.close();
    assert.equal(f.registry.size, 0, 'closed journals leave the registry');
  });

  test('window keys come back with their expiry: expired ones are dropped at start', () => {
    const f = fixture({ ttlMs: 1000, cacheSize: undefined });
    let d = f.open();
    d.admitKey('early', 0);
    f.clock.t += 500;
    d.admitKey('late', 0);
    d.close();
    f.clock.t += 600;
    d = f.open();
    assert.equal(d.has('early'), false);
    assert.equal(d.has('late'), true);
    f.clock.t += 400;
    assert.equal(d.has('late'), false, 'the replayed key keeps its original expiry');
    d.close();
  });

  test('a torn tail is cut off and logged; the keys before it survive and appending goes on', () => {
    const f = fixture(IN_QUEUE);
    let d = f.open();
    for (const k of ['k1', 'k2', 'k3']) d.admitKey(k, 1, undefined, true);
    d.close();
    const full = statSync(f.path).size;
    truncateSync(f.path, full - 3); // k3's record torn mid-write
    const logs = captureLogs();
    try {
      d = f.open();
    } finally {
      logs.stop();
    }
    assert.deepEqual(['k1', 'k2', 'k3'].map((k) => d.has(k)), [true, true, false]);
    assert.ok(logs.lines.some((l) => l.level === 'warn' && /torn or corrupt tail/.test(l.msg)), 'the truncation is logged');
    const recordBytes = (full - HEADER_BYTES) / 3;
    assert.equal(statSync(f.path).size, HEADER_BYTES + 2 * recordBytes, 'the torn record is gone from the file');
    d.admitKey('k4', 1, undefined, true);
    d.close();
    d = f.open();
    assert.deepEqual(['k1', 'k2', 'k3', 'k4'].map((k) => d.has(k)), [true, true, false, true]);
    d.close();
  });

  test('a record whose crc does not match ends the replay there; garbage and a bad header are not fatal', () => {
    const f = fixture(IN_QUEUE);
    let d = f.open();
    for (const k of ['k1', 'k2']) d.admitKey(k, 1, undefined, true);
    d.close();
    const bytes = readFileSync(f.path);
    bytes[bytes.length - 1] ^= 0xff; // the last byte of k2's key
    writeFileSync(f.path, bytes);
    appendFileSync(f.path, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 2]));
    const logs = captureLogs();
    try {
      d = f.open();
      assert.deepEqual([d.has('k1'), d.has('k2')], [true, false]);
      d.close();
      writeFileSync(f.path, 'not a journal');
      d = f.open();
      assert.equal(d.size, 0);
      d.admitKey('fresh', 1, undefined, true);
      d.close();
    } finally {
      logs.stop();
    }
    d = f.open();
    assert.equal(d.has('fresh'), true, 'the file was started over with a valid header');
    d.close();
  });

  test('compacts while running once dead records outnumber the live keys a few times over', () => {
    const f = fixture(IN_QUEUE);
    const d = f.open();
    for (let i = 0; i < 10; i++) d.admitKey(`keep${i}`, 1, undefined, true);
    let maxRecords = 0;
    for (let i = 0; i < 5000; i++) {
      d.admitKey(`k${i}`, 1, undefined, true);
      d.releaseKey(`k${i}`, 1);
      maxRecords = Math.max(maxRecords, f.journal().records);
    }
    assert.ok(maxRecords <= 4 * 11 + 1024 + 1, `the journal stayed small (${maxRecords} records at most)`);
    assert.ok(statSync(f.path).size < 64 * 1024, 'and so did the file');
    assert.equal(existsSync(`${f.path}.tmp`), false);
    d.close();
    const again = f.open();
    assert.equal(again.size, 10);
    for (let i = 0; i < 10; i++) assert.equal(again.has(`keep${i}`), true);
    again.close();
  });

  test('compacts at start when most records are dead (expired keys)', () => {
    const f = fixture({ ttlMs: 100, cacheSize: undefined });
    let d = f.open();
    for (let i = 0; i < 2000; i++) d.admitKey(`k${i}`, 1);
    d.close();
    assert.ok(statSync(f.path).size > 2000 * 25);
    f.clock.t += 100;
    d = f.open();
    assert.equal(d.size, 0);
    assert.equal(statSync(f.path).size, HEADER_BYTES, 'rewritten with no records');
    d.admitKey('next', 1);
    d.close();
    d = f.open();
    assert.equal(d.has('next'), true);
    d.close();
  });

  test('an admitted persistent key joins the group commit; a duplicate waits while the key is unsynced', async () => {
    const f = fixture(IN_QUEUE, true);
    const d = f.open();
    let writes = f.commit.writes;
    d.admitKey('transient', 1, undefined, false);
    assert.equal(f.commit.writes, writes, 'a transient message\'s key is not synced (nor journaled here)');
    d.admitKey('p', 1, undefined, true);
    assert.equal(f.commit.writes, writes + 1, 'the publish is confirmed by the round that syncs the key');
    writes = f.commit.writes;
    assert.equal(d.admitKey('p', 2, undefined, true), false);
    assert.equal(f.commit.writes, writes + 1, 'the duplicate is confirmed no earlier than the key it hit');
    await round(f.commit);
    await round(f.commit);
    writes = f.commit.writes;
    assert.equal(d.admitKey('p', 3, undefined, true), false);
    assert.equal(f.commit.writes, writes, 'once synced, a duplicate needs no round');
    assert.ok(statSync(f.path).size > HEADER_BYTES, 'the round wrote the record');
    d.close();
  });

  test('destroy deletes the file and ignores later calls', () => {
    const f = fixture(IN_QUEUE);
    const d = f.open();
    d.admitKey('a', 1, undefined, true);
    f.journal().flush();
    assert.equal(existsSync(f.path), true);
    d.destroy();
    assert.equal(existsSync(f.path), false);
    d.admitKey('b', 1, undefined, true);
    f.journal().flush();
    assert.equal(existsSync(f.path), false);
    assert.equal(f.registry.size, 0);
  });
});
