/**
 * Damaged segment files at start-up: a torn tail, corrupt records in the middle (body, crc and
 * length fields), and a garbage segment header. Recovery must keep every undamaged message, drop
 * only what is damaged, name the queue in a warning, and leave a store that works (push, shift,
 * ack, restart again). Ack and state files: segment-corruption-acks.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  captureLogs, labelsOf, openStore, padded, persistent, recordsIn, segmentFiles, shiftAll, tmpRoot,
} from './segment-test-helpers.js';
import type { LogLine } from './segment-test-helpers.js';
import type { SegmentQueueStore } from './segment-queue-store.js';

const newDir = tmpRoot('warren-segcorrupt-');
const LABEL = "queue 'q' in vhost '/'";
const N = 50;
const all = Array.from({ length: N }, (_, i) => `m${i}`);
const without = (...gone: string[]): string[] => all.filter((l) => !gone.includes(l));
const seg = (id: number): string => `msgs.${String(id).padStart(10, '0')}`;

/** 50 persistent messages of 200 bytes in 4 KiB segments: m0-m16 in segment 1, m17-m33 in 2, m34-m49 in 3. */
function populate(): string {
  const dir = newDir();
  const s = openStore(dir);
  for (let i = 0; i < N; i++) s.push(persistent(padded(`m${i}`, 200)));
  s.close();
  assert.deepEqual(segmentFiles(dir), [seg(1), seg(2), seg(3)]);
  assert.equal(recordsIn(join(dir, seg(2)))[0]!.body.replace(/\.+$/, ''), 'm17', 'layout as the tests expect');
  return dir;
}

interface Where { path: string; offset: number; bodyStart: number; size: number }

/** Where every record sits, read before any damage is done: label → file, offset, body start, size. */
function layout(dir: string): Map<string, Where> {
  const out = new Map<string, Where>();
  for (const file of segmentFiles(dir)) {
    const path = join(dir, file);
    for (const r of recordsIn(path)) out.set(r.body.replace(/\.+$/, ''), { path, offset: r.offset, bodyStart: r.bodyStart, size: r.size });
  }
  return out;
}

function patch(path: string, at: number, bytes: number[]): void {
  const buf = readFileSync(path);
  for (let i = 0; i < bytes.length; i++) buf[at + i] = bytes[i]!;
  writeFileSync(path, buf);
}

function flipBody(r: Where): void {
  const buf = readFileSync(r.path);
  for (let i = 20; i < 24; i++) buf[r.bodyStart + i]! ^= 0xff;
  writeFileSync(r.path, buf);
}

function setLength(r: Where, length: (old: number) => number): void {
  const buf = readFileSync(r.path);
  buf.writeUInt32BE(length(buf.readUInt32BE(r.offset)) >>> 0, r.offset);
  writeFileSync(r.path, buf);
}

/** Opens the damaged store, capturing what recovery logs. */
function reopen(dir: string): { store: SegmentQueueStore; lines: LogLine[] } {
  const logs = captureLogs();
  try {
    return { store: openStore(dir, { memoryMessages: 8 }), lines: logs.lines };
  } finally {
    logs.stop();
  }
}

function warnings(lines: LogLine[]): LogLine[] {
  return lines.filter((l) => l.level === 'warn' && l.component === 'store');
}

/**
 * The recovered store works: its messages are `expected` in order; acking most of them, pushing
 * more and restarting twice keeps exactly what was not acked, and acking the rest empties it.
 */
function assertUsable(dir: string, store: SegmentQueueStore, expected: string[]): void {
  const out = shiftAll(store);
  assert.deepEqual(labelsOf(out), expected);
  for (const e of out.slice(0, -2)) store.ack(e);
  store.push(persistent('new0'));
  store.push(persistent('new1'));
  const n0 = store.shift()!;
  store.ack(n0);
  store.close();
  const kept = [...expected.slice(-2), 'new1'];
  let s = reopen(dir).store;
  assert.deepEqual(labelsOf(shiftAll(s)), kept, 'after a further restart');
  s.close();
  s = reopen(dir).store;
  const again = shiftAll(s);
  assert.deepEqual(labelsOf(again), kept, 'and another');
  for (const e of again) s.ack(e);
  s.close();
  s = reopen(dir).store;
  assert.equal(s.readyCount, 0);
  s.close();
}

describe('torn tail', () => {
  test('a few bytes cut off the last segment: the torn record goes, every earlier message stays, a warning says so', () => {
    const dir = populate();
    const last = layout(dir).get('m49')!;
    truncateSync(last.path, last.offset + last.size - 5);
    const { store, lines } = reopen(dir);
    assert.equal(store.readyCount, N - 1);
    const w = warnings(lines);
    assert.equal(w.length, 1, JSON.stringify(lines));
    assert.equal(w[0]!.queue, LABEL);
    assert.match(w[0]!.msg, /truncat/);
    assert.equal(w[0]!.segment, 3);
    assert.equal(w[0]!.offset, last.offset);
    assert.equal(statSync(last.path).size, last.offset, 'the torn bytes are cut off the file');
    const info = lines.find((l) => l.msg === 'queue recovered');
    assert.equal(info?.damagedRecords, 1);
    assertUsable(dir, store, without('m49'));
  });

  test('a tail with only part of a record prefix (3 bytes), and a segment cut right after its header', () => {
    const dir = populate();
    const at = layout(dir);
    const last = at.get('m49')!;
    truncateSync(last.path, last.offset + 3);
    const first2 = at.get('m17')!;
    truncateSync(first2.path, first2.offset); // segment 2 now holds no records at all
    const { store, lines } = reopen(dir);
    assert.equal(warnings(lines).length, 1, 'one torn record');
    const gone = [...Array.from({ length: 17 }, (_, i) => `m${17 + i}`), 'm49'];
    assertUsable(dir, store, without(...gone));
  });
});

describe('corrupt records in the middle', () => {
  test('flipped body bytes: only that message is dropped, the ones before and after it are kept, the damage is logged', () => {
    const dir = populate();
    const m20 = layout(dir).get('m20')!;
    flipBody(m20);
    const { store, lines } = reopen(dir);
    const w = warnings(lines);
    assert.equal(w.length, 1, JSON.stringify(lines));
    assert.equal(w[0]!.queue, LABEL);
    assert.match(w[0]!.msg, /corrupt record/);
    assert.equal(w[0]!.segment, 2);
    assert.equal(w[0]!.offset, m20.offset);
    assert.equal(w[0]!.bytes, m20.size);
    assertUsable(dir, store, without('m20'));
  });

  test('several damaged records: first of a segment, middle, last of a non-last segment, a bad crc field', () => {
    const dir = populate();
    const at = layout(dir);
    flipBody(at.get('m0')!);
    flipBody(at.get('m25')!);
    flipBody(at.get('m33')!); // last record of segment 2: nothing to resync on, cut
    const m40 = at.get('m40')!;
    patch(m40.path, m40.offset + 4, [0xde, 0xad]); // the crc field itself
    const { store, lines } = reopen(dir);
    assert.equal(warnings(lines).length, 4, JSON.stringify(lines));
    assert.ok(warnings(lines).every((l) => l.queue === LABEL));
    assert.equal(store.readyCount, N - 4);
    assertUsable(dir, store, without('m0', 'm25', 'm33', 'm40'));
  });

  test('a length field made slightly too big, or zero: resync keeps the following records', () => {
    const dir = populate();
    const at = layout(dir);
    setLength(at.get('m20')!, (n) => n + 1);
    setLength(at.get('m22')!, () => 0);
    setLength(at.get('m5')!, (n) => n - 7);
    const { store, lines } = reopen(dir);
    assert.equal(warnings(lines).length, 3, JSON.stringify(lines));
    assertUsable(dir, store, without('m5', 'm20', 'm22'));
  });

  test('a length field pointing past the end of the file (high bit flipped): resync keeps the following records', () => {
    const dir = populate();
    setLength(layout(dir).get('m20')!, (n) => n | 0x0100_0000);
    const { store, lines } = reopen(dir);
    assert.ok(warnings(lines).length >= 1, 'the damage is logged');
    assert.deepEqual(labelsOf(shiftAll(store)), without('m20'), 'm21..m33 are intact and must be kept');
    store.close();
  });

  test('recovery is repeatable: the same damage found again at the next start loses nothing more', () => {
    const dir = populate();
    flipBody(layout(dir).get('m20')!);
    let { store } = reopen(dir);
    store.close();
    ({ store } = reopen(dir));
    assert.deepEqual(labelsOf(shiftAll(store)), without('m20'));
    store.close();
  });
});

describe('segment headers', () => {
  test('a garbage header: logged, and the segment records (each with its own crc) are kept', () => {
    const dir = populate();
    patch(join(dir, seg(2)), 0, [...Buffer.from('garbage header!!')]);
    const { store, lines } = reopen(dir);
    const w = warnings(lines);
    assert.equal(w.length, 1, JSON.stringify(lines));
    assert.equal(w[0]!.queue, LABEL);
    assert.match(w[0]!.msg, /header/);
    assert.equal(w[0]!.segment, 2);
    assertUsable(dir, store, without());
  });

  test('a wrong segment id, a wrong version, and an empty trailing segment file', () => {
    const dir = populate();
    patch(join(dir, seg(1)), 8, [0, 0, 0, 9]); // id 9 in msgs.0000000001
    patch(join(dir, seg(3)), 4, [0, 7]); // version 7
    writeFileSync(join(dir, seg(4)), Buffer.alloc(0)); // created, header never written (crash)
    const { store, lines } = reopen(dir);
    assert.equal(warnings(lines).length, 3, JSON.stringify(lines));
    assert.ok(warnings(lines).every((l) => l.queue === LABEL));
    assertUsable(dir, store, without());
  });
});
