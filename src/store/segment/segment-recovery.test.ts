/**
 * The durable segment store across restarts, on SegmentQueueStore directly: what a clean close and
 * a crash (the store abandoned without close) bring back, the delivered mark (redelivered flags),
 * segment clean-up, seq continuity, purge and destroy, and records larger than a segment.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Message } from '../../core/message.js';
import type { QueueEntry } from '../queue-store.js';
import {
  ackFiles, bodiesOf, labelsOf, openStore, padded, persistent, recordsIn, segmentFiles, shiftAll, tick, tmpRoot, transient,
} from './segment-test-helpers.js';

const newDir = tmpRoot('warren-segrecovery-');
const range = (from: number, to: number, prefix = 'm'): string[] =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
const flags = (entries: QueueEntry[]): boolean[] => entries.map((e) => e.redelivered);

describe('clean restart', () => {
  test('persistent messages survive close/reopen in order (through several segments); transient ones do not', () => {
    const dir = newDir();
    let s = openStore(dir, { memoryMessages: 4 });
    for (let i = 0; i < 40; i++) s.push(i % 2 === 0 ? persistent(padded(`p${i}`, 200)) : transient(padded(`t${i}`, 200)));
    s.close();
    assert.ok(segmentFiles(dir).length >= 2, 'the test spans several segments');

    s = openStore(dir, { memoryMessages: 4 });
    assert.equal(s.readyCount, 20);
    assert.equal(s.readyBytes, 20 * 200);
    const out = shiftAll(s, true);
    assert.deepEqual(labelsOf(out), range(0, 20).map((_, i) => `p${i * 2}`));
    assert.deepEqual(flags(out), out.map(() => false), 'never delivered: not redelivered');
    for (let i = 1; i < out.length; i++) assert.ok(out[i]!.seq > out[i - 1]!.seq, 'seq order kept');
    assert.equal(s.readyCount, 0);
    assert.equal(s.readyBytes, 0);
    s.close();
  });

  test('properties, exchange and routing key come back byte for byte', () => {
    const dir = newDir();
    let s = openStore(dir);
    const props = Buffer.from([0x90, 0x00, 0x0a, ...Buffer.from('text/plain'), 0x02]); // content-type + delivery-mode 2
    const msg = new Message('amq.direct', 'rk.é', props, Buffer.from([0, 1, 2, 255]));
    assert.equal(msg.persistent, true);
    s.push(msg);
    s.close();
    s = openStore(dir);
    const [e] = shiftAll(s);
    assert.equal(e!.message.exchange, 'amq.direct');
    assert.equal(e!.message.routingKey, 'rk.é');
    assert.deepEqual(e!.message.rawProperties, props);
    assert.deepEqual(e!.message.body, Buffer.from([0, 1, 2, 255]));
    s.close();
  });

  test('acked messages do not come back; delivered-but-unacked come back redelivered, never-delivered do not', () => {
    const dir = newDir();
    let s = openStore(dir, { memoryMessages: 3 });
    for (let i = 0; i < 10; i++) s.push(persistent(`m${i}`));
    const out = [s.shift()!, s.shift()!, s.shift()!, s.shift()!, s.shift()!, s.shift()!];
    for (const e of out.slice(0, 3)) s.ack(e); // m0..m2 done; m3..m5 still out at the close
    s.close();

    s = openStore(dir, { memoryMessages: 3 });
    assert.equal(s.readyCount, 7);
    const back = shiftAll(s);
    assert.deepEqual(bodiesOf(back), range(3, 10));
    assert.deepEqual(flags(back), [true, true, true, false, false, false, false]);
    s.close();
  });

  test('requeued messages come back redelivered, in their original order', () => {
    const dir = newDir();
    let s = openStore(dir);
    for (let i = 0; i < 5; i++) s.push(persistent(`m${i}`));
    const out = shiftAll(s);
    s.requeue(out[3]!);
    s.requeue(out[1]!);
    s.ack(out[0]!);
    s.ack(out[2]!);
    s.ack(out[4]!);
    s.close();
    s = openStore(dir);
    const back = shiftAll(s);
    assert.deepEqual(bodiesOf(back), ['m1', 'm3']);
    assert.deepEqual(flags(back), [true, true]);
    s.close();
  });

  test('a never-delivered message is not flagged redelivered after several clean restarts', () => {
    const dir = newDir();
    let s = openStore(dir);
    s.push(persistent('first'));
    s.push(persistent('second'));
    s.ack(s.shift()!); // 'first' delivered and acked; 'second' never delivered
    s.close();
    for (let restart = 0; restart < 3; restart++) {
      s = openStore(dir);
      s.close();
    }
    s = openStore(dir);
    const [e] = shiftAll(s);
    assert.equal(e!.message.body.toString(), 'second');
    assert.equal(e!.redelivered, false, 'never delivered, only restarted: redelivered must stay false');
    s.close();
  });
});

describe('crash (store abandoned without close)', () => {
  test('messages delivered before the crash come back redelivered; acks written before it stick', async () => {
    const dir = newDir();
    const s = openStore(dir, { memoryMessages: 4 });
    for (let i = 0; i < 10; i++) s.push(persistent(`m${i}`));
    const out = [s.shift()!, s.shift()!, s.shift()!, s.shift()!];
    s.ack(out[0]!);
    await tick(); // the end-of-tick flush hands records and acks to the OS; then the process "dies"

    const r = openStore(dir, { memoryMessages: 4 });
    const back = shiftAll(r);
    assert.deepEqual(bodiesOf(back), range(1, 10));
    assert.deepEqual(flags(back.slice(0, 3)), [true, true, true], 'm1..m3 were delivered before the crash');
    r.close();
  });

  test('a crash before any delivery flags nothing', async () => {
    const dir = newDir();
    const s = openStore(dir);
    for (let i = 0; i < 5; i++) s.push(persistent(`m${i}`));
    s.push(transient('t'));
    await tick();
    const r = openStore(dir);
    const back = shiftAll(r);
    assert.deepEqual(bodiesOf(back), range(0, 5));
    assert.deepEqual(flags(back), [false, false, false, false, false]);
    r.close();
  });

  test('a crash after a restart: deliveries of recovered messages are flagged too', async () => {
    const dir = newDir();
    let s = openStore(dir);
    for (let i = 0; i < 6; i++) s.push(persistent(`m${i}`));
    s.close();
    s = openStore(dir);
    const a = s.shift()!;
    s.shift();
    s.ack(a);
    await tick(); // crash
    s = openStore(dir);
    const back = shiftAll(s);
    assert.deepEqual(bodiesOf(back), range(1, 6));
    assert.equal(back[0]!.redelivered, true);
    s.close();
  });
});

describe('segment files', () => {
  test('a segment is deleted (with its ack file) once all its records are acked, in any order', async () => {
    const dir = newDir();
    let s = openStore(dir, { memoryMessages: 8 });
    for (let i = 0; i < 60; i++) s.push(persistent(padded(`m${i}`, 200)));
    await tick();
    const files = segmentFiles(dir);
    assert.ok(files.length >= 3, `several segments (${files.length})`);
    const out = shiftAll(s);
    const perSeg = Math.floor((4096 - 16) / (out[0]!.message.body.length + 35)); // records of the same size
    // Segment 2 first, while segment 1 is still unacked.
    for (const e of out.slice(perSeg, 2 * perSeg)) s.ack(e);
    await tick();
    assert.ok(!segmentFiles(dir).includes('msgs.0000000002'), 'segment 2 gone');
    assert.ok(!ackFiles(dir).includes('acks.0000000002'), 'its ack file too');
    assert.ok(segmentFiles(dir).includes('msgs.0000000001'));
    for (const e of out.slice(1, perSeg)) s.ack(e);
    await tick();
    assert.ok(segmentFiles(dir).includes('msgs.0000000001'), 'one record of segment 1 still unacked');
    assert.ok(ackFiles(dir).includes('acks.0000000001'), 'its acks are logged');
    s.ack(out[0]!);
    await tick();
    assert.ok(!segmentFiles(dir).includes('msgs.0000000001'));
    assert.ok(!ackFiles(dir).includes('acks.0000000001'));
    for (const e of out.slice(2 * perSeg)) s.ack(e);
    await tick();
    assert.deepEqual(segmentFiles(dir), [files.at(-1)], 'only the segment being written stays');
    s.close();
    s = openStore(dir);
    assert.equal(s.readyCount, 0);
    assert.deepEqual(segmentFiles(dir), [], 'recovery drops the fully acked head too');
    assert.deepEqual(ackFiles(dir), []);
    s.close();
  });

  test('recovered segments are deleted as their records are acked after a restart', () => {
    const dir = newDir();
    let s = openStore(dir, { memoryMessages: 5 });
    for (let i = 0; i < 50; i++) s.push(persistent(padded(`m${i}`, 300)));
    s.close();
    const before = segmentFiles(dir).length;
    s = openStore(dir, { memoryMessages: 5 });
    const out: QueueEntry[] = [];
    for (let e = s.shift(); e; e = s.shift()) {
      out.push(e);
      s.ack(e);
      if (out.length === 25) assert.ok(segmentFiles(dir).length < before, 'fully acked segments already gone halfway');
    }
    assert.deepEqual(labelsOf(out), range(0, 50));
    assert.deepEqual(segmentFiles(dir), []);
    s.close();
  });
});

test('seq keeps increasing across restarts', () => {
  const dir = newDir();
  let s = openStore(dir);
  for (let i = 0; i < 3; i++) s.push(persistent(`a${i}`));
  const first = shiftAll(s);
  s.ack(first[0]!);
  s.close();

  s = openStore(dir);
  const again = shiftAll(s);
  assert.deepEqual(again.map((e) => e.seq), first.slice(1).map((e) => e.seq), 'recovered records keep their seq');
  s.push(persistent('b'));
  const b = s.shift()!;
  assert.ok(b.seq > first[2]!.seq);
  for (const e of [...again, b]) s.ack(e);
  s.close();

  s = openStore(dir);
  assert.equal(s.readyCount, 0);
  s.push(persistent('c'));
  const c = s.shift()!;
  assert.ok(c.seq > b.seq, `seq ${c.seq} after ${b.seq}`);
  s.close();
});

describe('purge, destroy', () => {
  test('purge is durable: purged messages stay gone, delivered-unacked ones are not purged', () => {
    const dir = newDir();
    let s = openStore(dir, { memoryMessages: 4 });
    for (let i = 0; i < 20; i++) s.push(persistent(padded(`m${i}`, 300)));
    s.shift();
    s.shift();
    assert.equal(s.purge(), 18);
    s.push(persistent('after'));
    s.close();

    s = openStore(dir, { memoryMessages: 4 });
    const back = shiftAll(s);
    assert.deepEqual(labelsOf(back), ['m0', 'm1', 'after']);
    assert.deepEqual(flags(back), [true, true, false]);
    // A purge of recovered (disk-only) messages is durable too.
    for (const e of back) s.requeue(e);
    assert.equal(s.purge(), 3);
    s.close();
    s = openStore(dir);
    assert.equal(s.readyCount, 0);
    assert.deepEqual(shiftAll(s), []);
    s.close();
    s = openStore(dir);
    for (let i = 0; i < 10; i++) s.push(persistent(`n${i}`));
    s.close();
    s = openStore(dir, { memoryMessages: 2 });
    assert.equal(s.purge(), 10);
    s.close();
    s = openStore(dir);
    assert.equal(s.readyCount, 0);
    s.close();
  });

  test('destroy removes the directory (fresh, and after a recovery)', async () => {
    const dir = newDir();
    let s = openStore(dir);
    for (let i = 0; i < 30; i++) s.push(persistent(padded(`m${i}`, 300)));
    s.shift();
    await tick();
    assert.ok(existsSync(dir));
    s.destroy();
    assert.equal(existsSync(dir), false);

    s = openStore(dir);
    for (let i = 0; i < 30; i++) s.push(persistent(padded(`m${i}`, 300)));
    s.close();
    s = openStore(dir);
    assert.equal(s.readyCount, 30);
    s.destroy();
    assert.equal(existsSync(dir), false);
    s = openStore(dir);
    assert.equal(s.readyCount, 0, 'a queue re-created on the same directory starts empty');
    s.destroy();
  });
});

test('a record larger than the segment size is written, read back and recovered', () => {
  const dir = newDir();
  const big = Buffer.alloc(20_000, 7);
  big.write('big');
  let s = openStore(dir, { memoryMessages: 1 });
  s.push(persistent('small1'));
  s.push(persistent(big));
  s.push(persistent('small2'));
  let out = shiftAll(s);
  assert.deepEqual(out.map((e) => e.message.body.length), [6, 20_000, 6]);
  assert.deepEqual(out[1]!.message.body, big);
  s.close();
  const sizes = segmentFiles(dir).map((n) => statSync(join(dir, n)).size);
  assert.ok(sizes.some((n) => n > 20_000), `the big record has a segment of its own (${sizes.join(', ')})`);

  s = openStore(dir, { memoryMessages: 1 });
  out = shiftAll(s);
  assert.deepEqual(bodiesOf([out[0]!, out[2]!]), ['small1', 'small2']);
  assert.deepEqual(out[1]!.message.body, big);
  assert.deepEqual(flags(out), [true, true, true]);
  for (const e of out) s.ack(e);
  s.push(persistent(Buffer.alloc(50_000, 1)));
  s.close();
  s = openStore(dir);
  assert.deepEqual(shiftAll(s).map((e) => e.message.body.length), [50_000]);
  s.close();
});

describe('ack files across restarts', () => {
  // After a restart a segment's ack file is opened again for appending; the acks written then must
  // be read back at the next start, and must not be mistaken for acks of other records.
  function ackAcrossTwoRestarts(segmentBytes: number, bodySize: number, n: number, ackFirst: number, ackSecond: number,
    layout: { file: string; offset: number; label: string }): string[] {
    const dir = newDir();
    let s = openStore(dir, { segmentBytes, memoryMessages: 4 });
    for (let i = 0; i < n; i++) s.push(persistent(padded(`m${i}`, bodySize)));
    let out = shiftAll(s);
    s.ack(out[ackFirst]!);
    s.close();
    const at = recordsIn(join(dir, layout.file)).find((r) => r.offset === layout.offset);
    assert.equal(at?.body.replace(/\.+$/, ''), layout.label, 'test precondition: where the record sits');
    s = openStore(dir, { segmentBytes, memoryMessages: 4 });
    out = shiftAll(s);
    assert.equal(out.length, n - 1);
    s.ack(out.find((e) => e.message.body.toString().startsWith(`m${ackSecond}.`))!);
    s.close();
    s = openStore(dir, { segmentBytes, memoryMessages: 4 });
    const labels = labelsOf(shiftAll(s));
    s.close();
    return labels;
  }

  test('segment 16: an ack after a restart does not drop the record at offset 16', () => {
    // 3 records of 135 bytes per 450-byte segment: segment 16 holds m45 (offset 16), m46, m47.
    const labels = ackAcrossTwoRestarts(450, 100, 48, 47, 46, { file: 'msgs.0000000016', offset: 16, label: 'm45' });
    assert.deepEqual(labels, range(0, 46), 'm45 was never acked');
  });

  test('an ack after a restart does not drop the record at offset 65536', () => {
    // Records of 4095 bytes in one big segment: m16 starts at 16 + 16 * 4095 = 65536.
    const labels = ackAcrossTwoRestarts(1 << 20, 4095 - 35, 20, 0, 1, { file: 'msgs.0000000001', offset: 65536, label: 'm16' });
    assert.deepEqual(labels, range(2, 20), 'm16 was never acked');
  });
});
