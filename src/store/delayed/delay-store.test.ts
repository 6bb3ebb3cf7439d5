/**
 * The delay store with a fake clock: due order, the cascade through the levels, far delays,
 * recovery of a durable store from its directory (clean stop and crashes at awkward moments),
 * deletion, and that memory holds only the near future.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import type { Message } from '../../core/message.js';
import { GroupCommit } from '../segment/group-commit.js';
import type { SyncSource } from '../segment/group-commit.js';
import { persistent, tmpRoot, transient } from '../segment/segment-test-helpers.js';
import { DelayStore } from './delay-store.js';
import { parseDirName } from './delay-levels.js';

const newDir = tmpRoot('warren-delay-');
const T0 = Date.UTC(2031, 4, 6, 12, 0, 0, 250);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

interface Fired {
  body: string;
  at: number;
}

interface Harness {
  store: DelayStore;
  clock: { t: number };
  fired: Fired[];
  commit: GroupCommit;
}

interface OpenOptions {
  durable?: boolean;
  commit?: GroupCommit;
  at?: number;
  onDue?: (m: Message) => void;
}

function open(dir: string, o: OpenOptions = {}): Harness {
  const clock = { t: o.at ?? T0 };
  const fired: Fired[] = [];
  const commit = o.commit ?? new GroupCommit(false);
  const store = new DelayStore({
    dir, durable: o.durable ?? true, label: "exchange 'dx' in vhost '/'", segmentBytes: 64 * 1024, commit,
    clock: () => clock.t,
    onDue: (m) => {
      fired.push({ body: m.body.toString(), at: clock.t });
      o.onDue?.(m);
    },
  });
  return { store, clock, fired, commit };
}

/** Moves the fake clock to `to`, stopping at every moment the store wants to run (perfect timers). */
function advance(h: Harness, to: number): number {
  let wakes = 0;
  h.store.runDue();
  for (let next = h.store.nextWakeAt(); next <= to; next = h.store.nextWakeAt()) {
    assert.ok(++wakes < 100_000, 'the store keeps asking to run');
    h.clock.t = Math.max(h.clock.t, next);
    h.store.runDue();
  }
  h.clock.t = to;
  h.store.runDue();
  return wakes;
}

/** One group-commit round (every waiter registered before it has been called back). */
const round = (commit: GroupCommit): Promise<void> => new Promise((resolve) => commit.wait({ committed: () => resolve() }));
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A group commit whose rounds never finish: what a crash before the next fsync looks like. */
class StuckCommit extends GroupCommit {
  constructor() {
    super(false);
  }

  override markDirty(): void {
    this.writes++;
  }

  override wait(): void {}
}

function levelsOnDisk(dir: string): (number | 'hot')[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map(parseDirName).filter((p) => p !== null).map((p) => (p.kind === 'hot' ? 'hot' : p.level)).sort();
}

describe('delay store', () => {
  test('messages fire in due order, never early; equal due times keep their arrival order', () => {
    const h = open(newDir());
    const delays = [5 * SECOND, 100, 2500, 100, 70 * SECOND, 3 * HOUR + 17, 59 * MINUTE, 1, 100];
    delays.forEach((d, i) => h.store.add(persistent(`m${i}`), T0 + d));
    assert.equal(h.store.pending, delays.length);
    advance(h, T0 + 4 * HOUR);
    const expected = delays.map((d, i) => ({ body: `m${i}`, at: T0 + d })).sort((a, b) => a.at - b.at);
    assert.deepEqual(h.fired, expected);
    assert.equal(h.store.pending, 0);
    h.store.close();
  });

  test('a message 40 days away cascades down level by level and fires on time', () => {
    const dir = newDir();
    // Non-durable: an opened bucket is deleted at once (a durable one waits for a group-commit
    // round), so the directory shows exactly where the message is.
    const h = open(dir, { durable: false });
    const due = T0 + 40 * DAY + 1234;
    h.store.add(persistent('far'), due);
    const seen: string[] = [];
    const look = (): void => {
      const where = h.store.inMemory > 0 ? ['memory'] : levelsOnDisk(dir).map((l) => `L${l}`);
      assert.ok(where.length <= 1, `in one place at a time: ${where.join(', ')}`);
      if (where[0] && seen[seen.length - 1] !== where[0]) seen.push(where[0]);
    };
    look();
    assert.ok(seen[0] === 'L4' || seen[0] === 'L3', `a coarse bucket first (got ${seen[0]})`);
    // Step through every moment the store wakes, watching where the message is.
    h.store.runDue();
    for (let next = h.store.nextWakeAt(); next <= due + SECOND; next = h.store.nextWakeAt()) {
      h.clock.t = Math.max(h.clock.t, next);
      h.store.runDue();
      look();
    }
    assert.deepEqual(h.fired, [{ body: 'far', at: due }]);
    assert.equal(seen.join(' → '), `${seen[0] === 'L4' ? 'L4 → ' : ''}L3 → L2 → L1 → L0 → memory`);
    h.store.close();
  });

  test('delays of years have no cap and need few wake-ups', () => {
    const dir = newDir();
    const h = open(dir);
    const dues = [T0 + 5 * 365 * DAY + 7, T0 + 60 * DAY, T0 + 49.7 * DAY + 3];
    dues.forEach((due, i) => h.store.add(persistent(`y${i}`), due));
    assert.equal(h.store.inMemory, 0);
    const wakes = advance(h, T0 + 6 * 365 * DAY);
    assert.deepEqual(h.fired.map((f) => f.at), [...dues].sort((a, b) => a - b));
    assert.ok(wakes < 200, `woke ${wakes} times over six years`);
    h.store.close();
  });

  test('memory holds only the near future; buckets stay few', async () => {
    const dir = newDir();
    const h = open(dir);
    const n = 6000;
    const spread = 3 * MINUTE; // 33 a second
    for (let i = 0; i < n; i++) h.store.add(persistent(`s${i}`), T0 + 5 * SECOND + Math.floor((i * spread) / n));
    assert.equal(h.store.inMemory, 0);
    // The rest of this minute in 1 s buckets, the rest of the hour in 1 min ones, the next hour's start in one.
    assert.ok(h.store.bucketCount <= 60 + 60 + 1, `${h.store.bucketCount} buckets`);
    let maxInMemory = 0;
    h.store.runDue();
    for (let next = h.store.nextWakeAt(); next <= T0 + 2 * HOUR; next = h.store.nextWakeAt()) {
      h.clock.t = Math.max(h.clock.t, next);
      h.store.runDue();
      maxInMemory = Math.max(maxInMemory, h.store.inMemory);
    }
    assert.equal(h.fired.length, n);
    // A 1 s bucket is loaded 1 s before it starts: at most about two seconds' worth are in memory.
    const perSecond = n / (spread / SECOND);
    assert.ok(maxInMemory <= 2.2 * perSecond, `at most ${maxInMemory} in memory`);
    assert.ok(maxInMemory >= perSecond / 2, `but the next second's are (${maxInMemory})`);
    for (let i = 1; i < n; i++) assert.ok(h.fired[i]!.at >= h.fired[i - 1]!.at);
    await round(h.commit);
    assert.deepEqual(levelsOnDisk(dir), ['hot'], 'opened buckets are deleted');
    h.store.close();
  });

  test('restart: persistent messages come back, overdue ones fire at once and the rest on time; transient ones do not', async () => {
    const dir = newDir();
    const h = open(dir);
    h.store.add(persistent('p-soon'), T0 + 500);
    h.store.add(persistent('p-30s'), T0 + 30 * SECOND);
    h.store.add(persistent('p-2h'), T0 + 2 * HOUR);
    h.store.add(transient('t-soon'), T0 + 500);
    h.store.add(transient('t-2h'), T0 + 2 * HOUR);
    await round(h.commit); // the publishes are confirmed: on disk
    // A crash: the old store is never closed. The new one starts after p-soon was due.
    const r = open(dir, { at: T0 + 5 * SECOND });
    assert.equal(r.fired.length, 0, 'nothing fires from inside the constructor');
    r.store.runDue();
    assert.deepEqual(r.fired, [{ body: 'p-soon', at: T0 + 5 * SECOND }]);
    advance(r, T0 + 3 * HOUR);
    assert.deepEqual(r.fired.map((f) => [f.body, f.at]), [
      ['p-soon', T0 + 5 * SECOND], ['p-30s', T0 + 30 * SECOND], ['p-2h', T0 + 2 * HOUR],
    ]);
    await round(r.commit);
    r.store.close();
    const again = open(dir, { at: T0 + 4 * HOUR });
    advance(again, T0 + 5 * HOUR);
    assert.deepEqual(again.fired, [], 'fired messages stay fired');
    again.store.close();
  });

  test('a clean stop in the middle of a cascade neither loses nor duplicates', async () => {
    const dir = newDir();
    const h = open(dir);
    const n = 30_000;
    const start = T0 + 10 * MINUTE;
    for (let i = 0; i < n; i++) h.store.add(persistent(`c${i}`), start + (i % 60_000));
    await round(h.commit);
    // The minute bucket opens 10 s before it starts; one slice of the copy runs, then the stop.
    h.clock.t = start - 10 * SECOND;
    h.store.run();
    h.store.stop();
    await h.store.settle();
    h.store.close();
    const r = open(dir, { at: start - 10 * SECOND });
    advance(r, start + 2 * MINUTE);
    assert.equal(r.fired.length, n);
    assert.equal(new Set(r.fired.map((f) => f.body)).size, n);
    r.store.close();
  });

  test('a crash in the middle of a cascade loses nothing (it may duplicate)', async () => {
    const dir = newDir();
    const stuck = new StuckCommit();
    const h = open(dir, { commit: stuck });
    const n = 2000;
    const start = T0 + 10 * MINUTE;
    for (let i = 0; i < n; i++) h.store.add(persistent(`c${i}`), start + i * 7);
    await tick(); // written out (not fsynced: this test does not cut the power)
    h.clock.t = start - 10 * SECOND;
    h.store.runDue(); // copied into 1 s buckets; the minute bucket waits for a round that never comes
    await tick();
    assert.ok(levelsOnDisk(dir).includes(1) && levelsOnDisk(dir).includes(0), `both copies on disk: ${levelsOnDisk(dir)}`);
    const r = open(dir, { at: start - 10 * SECOND });
    advance(r, start + MINUTE);
    const bodies = new Set(r.fired.map((f) => f.body));
    assert.equal(bodies.size, n, 'every message fired');
    assert.ok(r.fired.length > n, 'some twice (the price of never losing one)');
    for (const f of r.fired) assert.ok(f.at >= start + Number(f.body.slice(1)) * 7, 'never early');
    r.store.close();
  });

  test('a fired message is acked only after the round that covers its destinations\' writes', async () => {
    const source: SyncSource = { flushForSync() {} };
    // Crash before that round: the message fires again after the restart.
    const dir = newDir();
    const stuck = new StuckCommit();
    const h = open(dir, { commit: stuck, onDue: () => stuck.markDirty() });
    h.store.add(persistent('once'), T0 + 100);
    await tick();
    advance(h, T0 + SECOND);
    assert.equal(h.fired.length, 1);
    await tick();
    const r = open(dir, { at: T0 + 2 * SECOND });
    r.store.runDue();
    assert.deepEqual(r.fired.map((f) => f.body), ['once'], 'not acked: fired again');
    r.store.close();
    // After the round: acked, and not fired again.
    const dir2 = newDir();
    const commit = new GroupCommit(false);
    const g = open(dir2, { commit, onDue: () => commit.markDirty(source) });
    g.store.add(persistent('once'), T0 + 100);
    await round(commit);
    advance(g, T0 + SECOND);
    await round(commit);
    await round(commit);
    const r2 = open(dir2, { at: T0 + 2 * SECOND });
    r2.store.runDue();
    assert.deepEqual(r2.fired, []);
    r2.store.close();
    g.store.close();
  });

  test('destroy drops pending messages and the directory', () => {
    const dir = newDir();
    const h = open(dir);
    for (const d of [200, 20 * SECOND, 3 * HOUR, 90 * DAY]) h.store.add(persistent(`d${d}`), T0 + d);
    assert.ok(existsSync(dir));
    h.store.destroy();
    assert.equal(existsSync(dir), false);
    assert.equal(h.store.pending, 0);
    h.clock.t = T0 + 100 * DAY;
    h.store.runDue();
    assert.deepEqual(h.fired, []);
  });

  test('a non-durable store starts empty (its directory is scratch) and still delays through its buckets', () => {
    const dir = newDir();
    const d = open(dir);
    d.store.add(persistent('left'), T0 + HOUR);
    d.store.close();
    const h = open(dir, { durable: false });
    assert.deepEqual(levelsOnDisk(dir), []);
    h.store.add(persistent('a'), T0 + 3 * MINUTE);
    h.store.add(transient('b'), T0 + 90 * SECOND);
    assert.ok(levelsOnDisk(dir).length > 0, 'pending messages wait on disk');
    advance(h, T0 + 2 * HOUR);
    assert.deepEqual(h.fired.map((f) => [f.body, f.at]), [['b', T0 + 90 * SECOND], ['a', T0 + 3 * MINUTE]]);
    h.store.close();
  });

  test('with the real clock and timers, near messages fire in order and not early', async () => {
    const fired: { body: string; at: number }[] = [];
    const store = new DelayStore({
      dir: newDir(), durable: true, label: 'real', segmentBytes: 64 * 1024, commit: new GroupCommit(false),
      onDue: (m) => fired.push({ body: m.body.toString(), at: Date.now() }),
    });
    const now = Date.now();
    const dues = { a: now + 120, b: now + 40, c: now + 80 };
    for (const [body, due] of Object.entries(dues)) store.add(persistent(body), due);
    const deadline = Date.now() + 3000;
    while (fired.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(fired.map((f) => f.body), ['b', 'c', 'a']);
    for (const f of fired) assert.ok(f.at >= dues[f.body as keyof typeof dues], `${f.body} not early`);
    store.close();
  });
});
