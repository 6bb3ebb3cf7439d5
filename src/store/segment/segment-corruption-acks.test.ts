/**
 * Damaged ack and state files at start-up. Acks are not fsynced (format: segment-format.ts), so a
 * lost or unreadable ack may bring a message back (flagged redelivered) but must never drop one,
 * never stop the start, and acks made after the recovery must hold. A damaged state file (the
 * delivered mark) must not stop the start or lose messages either.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { QueueEntry } from '../queue-store.js';
import { labelsOf, openStore, padded, persistent, shiftAll, tick, tmpRoot } from './segment-test-helpers.js';
import type { SegmentQueueStore } from './segment-queue-store.js';

const newDir = tmpRoot('warren-segcorrupt-acks-');
const N = 50;
const all = Array.from({ length: N }, (_, i) => `m${i}`);
const labelsFrom = (from: number): string[] => all.slice(from);
const ACKS1 = 'acks.0000000001';

const reopen = (dir: string): SegmentQueueStore => openStore(dir, { memoryMessages: 8 });
const find = (entries: QueueEntry[], label: string): QueueEntry => entries.find((e) => labelsOf([e])[0] === label)!;

/** 50 messages (m0-m16 in segment 1); m0..m(acked-1) delivered and acked, the rest delivered, unacked; closed. */
function populate(acked: number): string {
  const dir = newDir();
  const s = openStore(dir);
  for (let i = 0; i < N; i++) s.push(persistent(padded(`m${i}`, 200)));
  const out = shiftAll(s);
  for (const e of out.slice(0, acked)) s.ack(e);
  s.close();
  if (acked < 17) assert.equal(statSync(join(dir, ACKS1)).size, 16 + 4 * acked, 'one u32 per ack after the header');
  return dir;
}

/** Acks `labels` on a freshly recovered store, closes, and returns what the next start brings back. */
function ackThenRestart(dir: string, store: SegmentQueueStore, entries: QueueEntry[], labels: string[]): string[] {
  for (const l of labels) store.ack(find(entries, l));
  store.close();
  const s = reopen(dir);
  const back = labelsOf(shiftAll(s));
  s.close();
  return back;
}

describe('ack files', () => {
  test('a torn last ack entry: only that ack is lost (its message comes back, redelivered)', () => {
    const dir = populate(5);
    truncateSync(join(dir, ACKS1), 16 + 4 * 5 - 2);
    const s = reopen(dir);
    const back = shiftAll(s);
    assert.deepEqual(labelsOf(back), labelsFrom(4));
    assert.ok(back.every((e) => e.redelivered), 'all were delivered before the restart');
    s.close();
  });

  test('a torn last ack entry: acks made after the recovery still hold at the next start', () => {
    const dir = populate(5);
    truncateSync(join(dir, ACKS1), 16 + 4 * 5 - 2);
    const s = reopen(dir);
    const back = shiftAll(s);
    assert.deepEqual(ackThenRestart(dir, s, back, ['m4', 'm5', 'm6']), labelsFrom(7));
  });

  test('aligned garbage entries (offsets of no record) change nothing', () => {
    const dir = populate(3);
    const junk = Buffer.alloc(12);
    junk.writeUInt32BE(0xffff_fff0, 0);
    junk.writeUInt32BE(17, 4);
    junk.writeUInt32BE(4095, 8);
    appendFileSync(join(dir, ACKS1), junk);
    const s = reopen(dir);
    assert.deepEqual(labelsOf(shiftAll(s)), labelsFrom(3));
    s.close();
  });

  test('a garbage ack file header: that segment\'s acks are ignored (messages back, redelivered), the start goes on', () => {
    const dir = populate(20); // m0..m16 fill segment 1 (deleted), m17..m19 acked in segment 2
    const acks2 = join(dir, 'acks.0000000002');
    writeFileSync(acks2, Buffer.concat([Buffer.from('not an ack file!'), readFileSync(acks2).subarray(16)]));
    const s = reopen(dir);
    const back = shiftAll(s);
    assert.deepEqual(labelsOf(back), labelsFrom(17));
    assert.ok(back.every((e) => e.redelivered));
    s.close();
  });

  test('a garbage ack file header: acks made after the recovery hold at the next start', () => {
    const dir = populate(20);
    const acks2 = join(dir, 'acks.0000000002');
    writeFileSync(acks2, Buffer.concat([Buffer.from('not an ack file!'), readFileSync(acks2).subarray(16)]));
    const s = reopen(dir);
    const back = shiftAll(s);
    assert.deepEqual(ackThenRestart(dir, s, back, ['m17', 'm18', 'm19', 'm20']), labelsFrom(21));
  });

  test('an ack file shorter than its header, or empty: ignored, and later acks hold', () => {
    for (const size of [0, 5]) {
      const dir = populate(3);
      truncateSync(join(dir, ACKS1), size);
      const s = reopen(dir);
      const back = shiftAll(s);
      assert.deepEqual(labelsOf(back), all, `ack file of ${size} bytes`);
      assert.deepEqual(ackThenRestart(dir, s, back, ['m0', 'm1']), labelsFrom(2), `ack file of ${size} bytes, acks after`);
    }
  });

  test('an ack file of a segment that no longer exists is removed', () => {
    const dir = populate(3);
    writeFileSync(join(dir, 'acks.0000000042'), Buffer.alloc(20));
    const s = reopen(dir);
    assert.equal(s.readyCount, N - 3);
    s.close();
    assert.throws(() => statSync(join(dir, 'acks.0000000042')), /ENOENT/);
  });
});

describe('state file', () => {
  test('a damaged state file: messages delivered before the restart still come back redelivered', () => {
    const dir = populate(3); // all 50 delivered, m3..m49 unacked at the close
    writeFileSync(join(dir, 'state'), Buffer.from('0123456789ab'));
    const s = reopen(dir);
    const back = shiftAll(s);
    s.close();
    assert.equal(back.length, N - 3);
    assert.ok(back.every((e) => e.redelivered), 'all were delivered before the restart');
  });

  const damage: Record<string, (path: string) => void> = {
    empty: (p) => truncateSync(p, 0),
    'truncated (5 bytes)': (p) => truncateSync(p, 5),
    'bad crc': (p) => writeFileSync(p, Buffer.from('0123456789ab')),
    missing: (p) => rmSync(p),
    'longer than 12 bytes': (p) => appendFileSync(p, Buffer.from('trailing junk')),
  };
  for (const [name, harm] of Object.entries(damage)) {
    test(`${name}: the start succeeds, every message is kept, and the mark works again afterwards`, async () => {
      const dir = populate(3);
      harm(join(dir, 'state'));
      let s = reopen(dir);
      const back = shiftAll(s);
      assert.deepEqual(labelsOf(back), labelsFrom(3));
      assert.deepEqual(back.slice(0, 2).map((e) => e.seq), [4, 5], 'seq survives (from the records)');
      s.close();
      s = reopen(dir);
      assert.equal(s.readyCount, N - 3);
      s.push(persistent('after'));
      const first = s.shift()!;
      s.ack(first);
      s.shift(); // delivered, not acked
      await tick(); // crash
      s = reopen(dir);
      const again = shiftAll(s);
      assert.deepEqual(labelsOf(again), [...labelsFrom(4), 'after']);
      assert.equal(again[0]!.redelivered, true, 'delivered before the crash: flagged');
      assert.ok(again.at(-1)!.seq > 50, 'new seq above the recovered ones');
      s.close();
    });
  }
});
