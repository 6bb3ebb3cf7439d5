/**
 * GroupCommit with fake sync sources: rounds in order, one round per burst of writes, a refusing
 * source (ok=false, retried after a delay), waiters registered while a round runs, and real
 * fdatasync on a temporary file (callbacks, fds closed after the round).
 */
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setLogLevel, setLogSink } from '../../log.js';
import type { LogSink } from '../../log.js';
import { GroupCommit } from './group-commit.js';
import type { CommitWaiter, SyncSource } from './group-commit.js';

const root = mkdtempSync(join(tmpdir(), 'warren-groupcommit-'));
after(() => rmSync(root, { recursive: true, force: true }));

type Done = { round: number; ok: boolean };

/** A source that records its calls in `trace` and hands out `syncFds`/`closeAfter`; refuses `failures` times. */
class FakeSource implements SyncSource {
  calls = 0;
  failures = 0;
  syncFds: number[] = [];
  closeAfter: number[] = [];
  onFlush: (() => void) | null = null;
  constructor(readonly name: string, readonly trace: string[]) {}

  flushForSync(syncFds: number[], closeAfter: number[]): void {
    this.calls++;
    this.onFlush?.();
    if (this.failures > 0) {
      this.failures--;
      this.trace.push(`${this.name}:refused`);
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    }
    this.trace.push(`${this.name}:flushed`);
    syncFds.push(...this.syncFds);
    closeAfter.push(...this.closeAfter.splice(0));
  }
}

/** The next round that finishes, as seen by a waiter registered now. */
function nextRound(commit: GroupCommit, trace?: string[]): Promise<Done> {
  return new Promise((resolve) => commit.wait({
    committed(round, ok) {
      trace?.push(`round ${round} ${ok ? 'ok' : 'failed'}`);
      resolve({ round, ok });
    },
  }));
}

/** What a publisher does: waits until a round at least `epoch` has finished (re-waiting as needed). */
function covered(commit: GroupCommit, epoch: number): Promise<Done> {
  return new Promise((resolve) => {
    const waiter: CommitWaiter = {
      committed(round, ok) {
        if (round >= epoch || !ok) resolve({ round, ok });
        else commit.wait(waiter);
      },
    };
    commit.wait(waiter);
  });
}

const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('rounds', () => {
  test('writes in one tick share one round; rounds run and report in order', async () => {
    const trace: string[] = [];
    const commit = new GroupCommit(false);
    const a = new FakeSource('a', trace);
    const b = new FakeSource('b', trace);
    assert.equal(commit.epoch, 1);
    commit.markDirty(a);
    commit.markDirty(b);
    commit.markDirty(a);
    assert.equal(commit.writes, 3);
    const first = nextRound(commit, trace);
    const second = nextRound(commit, trace);
    assert.deepEqual(await first, { round: 1, ok: true });
    assert.deepEqual(await second, { round: 1, ok: true });
    assert.equal(a.calls, 1, 'one flush per source per round');
    assert.equal(commit.synced, 1);
    assert.equal(commit.epoch, 2);

    commit.markDirty(b);
    assert.deepEqual(await nextRound(commit, trace), { round: 2, ok: true });
    commit.markDirty(a);
    assert.deepEqual(await nextRound(commit, trace), { round: 3, ok: true });
    assert.deepEqual(trace, [
      'a:flushed', 'b:flushed', 'round 1 ok', 'round 1 ok', 'b:flushed', 'round 2 ok', 'a:flushed', 'round 3 ok',
    ]);
  });

  test('a wait with nothing dirty still gets an (empty) round', async () => {
    const commit = new GroupCommit(false);
    assert.deepEqual(await nextRound(commit), { round: 1, ok: true });
    assert.equal(commit.synced, 1);
  });

  test('a write and a waiter registered while a round runs are covered by the next round, and told', async () => {
    const trace: string[] = [];
    const commit = new GroupCommit(false);
    const a = new FakeSource('a', trace);
    const late = new FakeSource('late', trace);
    let lateEpoch = 0;
    let lateDone: Promise<Done> | undefined;
    let duringRound: Promise<Done> | undefined;
    a.onFlush = () => {
      // Inside round 1: a publisher writes (covered by round 2) and waits.
      a.onFlush = null;
      lateEpoch = commit.epoch;
      commit.markDirty(late);
      duringRound = nextRound(commit);
      lateDone = covered(commit, lateEpoch);
    };
    commit.markDirty(a);
    assert.deepEqual(await nextRound(commit), { round: 1, ok: true });
    assert.equal(lateEpoch, 2);
    const told = await duringRound!;
    assert.ok(told.round === 1 || told.round === 2, `told at the running or the next round (${told.round})`);
    assert.deepEqual(await lateDone!, { round: 2, ok: true });
    assert.deepEqual(trace, ['a:flushed', 'late:flushed']);
  });

  test('drain runs rounds until nothing is dirty', async () => {
    const trace: string[] = [];
    const commit = new GroupCommit(false);
    const a = new FakeSource('a', trace);
    a.onFlush = () => {
      if (a.calls < 3) commit.markDirty(a); // keeps writing for a while
    };
    commit.markDirty(a);
    await commit.drain();
    assert.equal(a.calls, 3);
    assert.equal(commit.synced, 3);
  });
});

describe('a refusing source', () => {
  test('its round reports ok=false (every waiter of it), it is retried after a delay, then ok; logged once each way', async (t) => {
    const lines: Parameters<LogSink>[0][] = [];
    setLogLevel('silent');
    setLogSink((l) => lines.push(l));
    t.after(() => {
      setLogSink(null);
      setLogLevel('warn');
    });
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const trace: string[] = [];
    const commit = new GroupCommit(false);
    const bad = new FakeSource('bad', trace);
    const good = new FakeSource('good', trace);
    bad.failures = 2;
    commit.markDirty(good);
    commit.markDirty(bad);
    const goodEpoch = commit.epoch;
    const r1 = nextRound(commit, trace);
    const publisher = covered(commit, goodEpoch);
    assert.deepEqual(await r1, { round: 1, ok: false });
    assert.deepEqual(await publisher, { round: 1, ok: false }, 'a publisher covered by a failed round gets a nack');

    const r2 = nextRound(commit, trace);
    await new Promise((r) => setImmediate(r));
    assert.equal(bad.calls, 1, 'no retry at once');
    t.mock.timers.tick(999);
    assert.equal(bad.calls, 1, 'not before the delay');
    t.mock.timers.tick(1);
    assert.equal(bad.calls, 2, 'retried');
    assert.deepEqual(await r2, { round: 2, ok: false });
    assert.equal(good.calls, 1, 'only the refusing source is asked again');

    const r3 = nextRound(commit, trace);
    t.mock.timers.tick(1000);
    assert.deepEqual(await r3, { round: 3, ok: true });
    assert.equal(bad.calls, 3);
    assert.deepEqual(trace, [
      'good:flushed', 'bad:refused', 'round 1 failed', 'bad:refused', 'round 2 failed', 'bad:flushed', 'round 3 ok',
    ]);
    const store = lines.filter((l) => l.component === 'store');
    assert.deepEqual(store.map((l) => l.level), ['error', 'warn'], 'one error when it starts failing, one line when it works again');

    // Healthy again: the next write gets an immediate round.
    commit.markDirty(good);
    assert.deepEqual(await nextRound(commit), { round: 4, ok: true });
  });
});

describe('fsync on', () => {
  test('fdatasync of a real file calls back; fds handed over for closing are closed after the round', async () => {
    const path = join(root, 'seg');
    const fd = openSync(path, 'w+');
    const retired = openSync(join(root, 'old'), 'w+');
    const later = openSync(join(root, 'later'), 'w+');
    try {
      writeSync(fd, Buffer.from('some bytes'));
      writeSync(retired, Buffer.from('older bytes'));
      const commit = new GroupCommit(true);
      const src = new FakeSource('seg', []);
      src.syncFds = [fd];
      src.closeAfter = [retired];
      src.onFlush = () => commit.closeLater(later); // while the round runs: closed when it ends
      commit.markDirty(src);
      const done = nextRound(commit);
      await new Promise((r) => setImmediate(r)); // the round has started; its fdatasyncs are pending
      assert.equal(src.calls, 1);
      assert.ok(isOpen(later), 'closeLater during a round waits for the round');
      assert.ok(isOpen(retired), 'a retired fd stays open while it is being synced');
      const waitedDuring = nextRound(commit);
      assert.deepEqual(await done, { round: 1, ok: true });
      assert.deepEqual(await waitedDuring, { round: 1, ok: true }, 'a waiter registered during the round is told when it ends');
      assert.equal(commit.synced, 1);
      // Closed with fs.close (asynchronous) once the round ends.
      await eventually(() => !isOpen(retired), 'retired fd closed after the round');
      await eventually(() => !isOpen(later), 'closeLater fd closed after the round');
      assert.ok(isOpen(fd));

      commit.markDirty(src);
      assert.deepEqual(await nextRound(commit), { round: 2, ok: true });
    } finally {
      closeSync(fd);
    }
  });

  test('an fdatasync error makes the round report ok=false', async (t) => {
    setLogLevel('silent');
    t.after(() => setLogLevel('warn'));
    const commit = new GroupCommit(true);
    const src = new FakeSource('bad-fd', []);
    src.syncFds = [2 ** 30]; // EBADF
    commit.markDirty(src);
    assert.deepEqual(await nextRound(commit), { round: 1, ok: false });
  });
});
