/**
 * A really full disk under the durable store (src/store/segment/*, group-commit.ts): the broker's
 * data directory is a small tmpfs. Persistent publishes with confirms into a durable queue fill it;
 * the store must never confirm a message that is not in its files (checked by reading the segment
 * files whenever a confirm arrives), must nack what it could not write, must stay up, and must work
 * again by itself once there is space. Confirmed messages must survive a restart.

 *
 * Needs root (mount -t tmpfs); skipped with a message where mounting is not possible.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { WarrenOptions } from '../src/index.js';
import { Warren } from '../src/index.js';
import { waitFor } from './helpers/broker.js'; // (importing it also quiets the broker's log)
import { closeQuietly, count, defs, qname, raw, rejectsWithCode, sleep, within } from './helpers/amqp-client.js';
import type { AmqpError } from './helpers/amqp-client.js';


const BODY = 16 * 1024;
/** The body index of the message a refused tx.commit leaves behind. */
const TX_INDEX = 999_999;
const OPTIONS: WarrenOptions = { amqpPort: 0, managementPort: 0, metricsPort: 0, host: '127.0.0.1', diskFreeLimit: 0, segmentBytes: 64 * 1024 };

const mounts: string[] = [];
const brokers: Warren[] = [];
const conns: ChannelModel[] = [];

after(async () => {
  await Promise.all(conns.map((c) => within(closeQuietly(c), 2000)));
  // Space first: a broker stopping on a full disk retries its last writes for a few seconds.
  for (const dir of mounts) spawnSync('mount', ['-o', 'remount,size=16m', dir]);
  for (const w of brokers) await w.stop().catch(() => {});
  for (const dir of mounts) {
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A fresh directory with a tmpfs of `size` on it, or why that is not possible here. */
function mountTmpfs(size: string): { dir: string } | { why: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warren-diskfull-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { why: `${r.error?.message ?? ''}${r.stderr ?? ''}`.trim() || `mount exited ${r.status}` };
  }
  mounts.push(dir);
  return { dir };
}

function remount(dir: string, size: string): void {
  const r = spawnSync('mount', ['-o', `remount,size=${size}`, dir], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `remount failed: ${r.stderr}`);
}

async function startBroker(dataDir: string, extra: WarrenOptions = {}): Promise<{ warren: Warren; url: string }> {
  const warren = await Warren.start({ ...OPTIONS, ...extra, dataDir });
  brokers.push(warren);
  return { warren, url: `amqp://guest:guest@127.0.0.1:${warren.amqpPort}` };
}

async function stopBroker(warren: Warren): Promise<void> {
  await warren.stop();
  brokers.splice(brokers.indexOf(warren), 1);
}

async function connect(url: string): Promise<{ conn: ChannelModel; closed: { err?: Error & { code?: number }; closed: boolean } }> {
  const conn = await amqp.connect(url);
  conns.push(conn);
  const closed: { err?: Error & { code?: number }; closed: boolean } = { closed: false };
  conn.on('error', (err: Error) => (closed.err = err));
  conn.on('close', () => (closed.closed = true));
  return { conn, closed };
}

/** Message `i`'s body: a marker and bytes that differ from every other message's. */
function bodyOf(i: number): Buffer {
  const b = Buffer.alloc(BODY);
  for (let j = 0; j < BODY; j++) b[j] = (i * 131 + j * 7 + (j >> 8)) & 0xff;
  b.write(`msg-${String(i).padStart(6, '0')}|`, 0);
  return b;
}

function indexOf(body: Buffer): number {
  const m = /^msg-(\d{6})\|/.exec(body.subarray(0, 11).toString('latin1'));
  return m ? Number(m[1]) : -1;
}

/** Every byte of every segment file of every durable queue, as one buffer (the tmpfs is small). */
function segmentBytesOnDisk(dataDir: string): Buffer {
  const parts: Buffer[] = [];
  const queues = join(dataDir, 'queues');
  if (!existsSync(queues)) return Buffer.alloc(0);
  for (const q of readdirSync(queues)) {
    const dir = join(queues, q);
    if (!statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir)) if (f.startsWith('msgs.')) parts.push(readFileSync(join(dir, f)));
  }
  return Buffer.concat(parts);
}

type Outcome = 'pending' | 'ack' | 'nack' | 'closed';

/**
 * A confirming publisher that checks, whenever basic.ack arrives, that every message it confirms is
 * already in a segment file, whole.
 */
class CheckedPublisher {
  readonly outcome = new Map<number, Outcome>();
  readonly notOnDisk: number[] = [];
  readonly errors = new Set<string>();
  #unchecked: number[] = [];

  constructor(readonly ch: ConfirmChannel, readonly queue: string, readonly dataDir: string) {
    // Listeners run in order: amqplib's own (which calls the per-message callbacks) first, then this.
    ch.on('ack', () => this.#check());
  }

  #check(): void {
    if (this.#unchecked.length === 0) return;
    const disk = segmentBytesOnDisk(this.dataDir);
    for (const i of this.#unchecked) if (disk.indexOf(bodyOf(i)) < 0) this.notOnDisk.push(i);
    this.#unchecked = [];
  }

  /** Publishes messages `from`..`from+n-1`; resolves when each has an outcome (or the timeout). */
  async batch(from: number, n: number, timeoutMs = 15_000): Promise<Outcome[]> {
    const settled: Promise<void>[] = [];
    for (let i = from; i < from + n; i++) {
      this.outcome.set(i, 'pending');
      settled.push(new Promise<void>((resolve) => {
        this.ch.sendToQueue(this.queue, bodyOf(i), { persistent: true }, (err) => {
          if (!err) {
            this.outcome.set(i, 'ack');
            this.#unchecked.push(i);
          } else {
            this.errors.add(String((err as Error).message));
            this.outcome.set(i, /nack/.test(String((err as Error).message)) ? 'nack' : 'closed');
          }
          resolve();
        });
      }));
    }
    await within(Promise.all(settled), timeoutMs);
    return Array.from({ length: n }, (_, k) => this.outcome.get(from + k)!);
  }

  indexes(o: Outcome): number[] {
    return [...this.outcome].filter(([, v]) => v === o).map(([i]) => i);
  }
}

/** Fills the disk: batches until some publishes are nacked, then one more batch. Returns the next index. */
async function fillUntilNacked(p: CheckedPublisher, closed: { closed: boolean }, wantNackedBatches = 2): Promise<number> {
  let next = 0;
  let nackedBatches = 0;
  while (nackedBatches < wantNackedBatches && next < 1000 && !closed.closed) {
    const outcomes = await p.batch(next, 8);
    next += 8;
    assert.ok(!outcomes.includes('pending'), `every publish of batch ${next / 8} was confirmed or nacked within 15 s: ${outcomes.join(',')}`);
    if (outcomes.includes('nack')) nackedBatches++;
  }
  return next;
}

/** Publishes one message on a confirm channel: its outcome ('pending' if none within the timeout). */
async function publishOne(ch: ConfirmChannel, queue: string, body: Buffer, timeoutMs = 10_000): Promise<Outcome> {
  const outcome = new Promise<Outcome>((resolve) => {
    try {
      ch.sendToQueue(queue, body, { persistent: true }, (err) => resolve(!err ? 'ack' : /nack/.test(String((err as Error).message)) ? 'nack' : 'closed'));
    } catch {
      resolve('closed');
    }
  });
  return (await within(outcome, timeoutMs)) ?? 'pending';
}

/** Publishes `body` on fresh connections until one is confirmed (the store works again), at most `timeoutMs`. */
async function publishUntilConfirmed(url: string, queue: string, body: Buffer, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Outcome | string = 'none';
  while (Date.now() < deadline) {
    const c = await connect(url);
    const ch = await c.conn.createConfirmChannel();
    ch.on('error', () => {});
    last = await publishOne(ch, queue, body);
    await within(closeQuietly(c.conn), 2000);
    if (last === 'ack') return;
    await sleep(250);
  }
  assert.fail(`no publish into ${queue} was confirmed within ${timeoutMs} ms (last: ${last})`);
}

function skipUnlessMounted(t: TestContext, size: string): string | undefined {
  const m = mountTmpfs(size);
  if ('why' in m) {
    t.skip(`cannot mount a tmpfs here: ${m.why}`);
    return undefined;
  }
  return m.dir;
}

interface FullDisk { dir: string; warren: Warren; url: string; extra: WarrenOptions }

/**
 * A broker on a fresh 2 MiB tmpfs: `prepare` runs while there is space, then a filler queue fills
 * the disk until publishes are nacked. Undefined (and the test skipped) where mounting is not possible.
 */
async function fullDisk(t: TestContext, extra: WarrenOptions = {}, prepare?: (ch: ConfirmChannel) => Promise<void>): Promise<FullDisk | undefined> {
  const dir = skipUnlessMounted(t, '2m');
  if (!dir) return undefined;
  const { warren, url } = await startBroker(dir, extra);
  const fill = await connect(url);
  const ch = await fill.conn.createConfirmChannel();
  ch.on('error', () => {});
  if (prepare) await prepare(ch);
  const filler = qname('filler');
  await ch.assertQueue(filler, { durable: true });
  const p = new CheckedPublisher(ch, filler, dir);
  await fillUntilNacked(p, fill.closed, 1);
  assert.ok(p.indexes('nack').length > 0, `the disk is full (errors: ${[...p.errors].join('; ')})`);
  assert.deepEqual(p.notOnDisk, []);
  return { dir, warren, url, extra };
}

describe('a full disk under the durable store', () => {
  test('nacks, stays up, never confirms what is not on disk; consuming frees space and publishing works again', { timeout: 60_000 }, async (t) => {
    const dir = skipUnlessMounted(t, '2m');
    if (!dir) return;
    let { warren, url } = await startBroker(dir);
    const q = qname('full');
    const pub = await connect(url);
    const ch = await pub.conn.createConfirmChannel();
    ch.on('error', () => {});
    await ch.assertQueue(q, { durable: true });
    const p = new CheckedPublisher(ch, q, dir);

    const next = await fillUntilNacked(p, pub.closed);
    const acked = p.indexes('ack');
    const nacked = p.indexes('nack');
    assert.deepEqual(p.notOnDisk, [], 'every confirmed message was in a segment file when its confirm arrived');
    assert.ok(acked.length > 0, 'some publishes fit');
    assert.equal(pub.closed.closed, false, `the publisher's connection stays open (closed with: ${pub.closed.err?.message}); outcomes: ${[...p.errors].join('; ')}`);
    assert.ok(nacked.length > 0, `publishes the disk refused are nacked (acked ${acked.length}, errors: ${[...p.errors].join('; ')})`);
    assert.deepEqual([...p.errors], ['message nacked'], 'refused publishes are nacked, not failed by a channel or connection close');
    assert.ok(acked.every((i) => i < nacked[0]!), 'once the disk is full, nothing later is confirmed while it stays full');

    // The broker is up: another connection declares, publishes (non-durable, memory) and consumes.
    const other = await connect(url);
    const och = await other.conn.createChannel();
    och.on('error', () => {});
    const side = await och.assertQueue('', { durable: false, exclusive: true });
    och.sendToQueue(side.queue, Buffer.from('still here'));
    let got = null;
    for (let tries = 0; !got && tries < 100; tries++) {
      got = await och.get(side.queue, { noAck: true });
      if (!got) await sleep(20);
    }
    assert.equal(got && got.content.toString(), 'still here');
    // A transaction whose persistent message cannot be written fails its commit (506), and only its channel.
    const tx = await connect(url);
    const txCh = await tx.conn.createChannel();
    txCh.on('error', () => {});
    await raw(txCh).rpc(defs.TxSelect!, {}, defs.TxSelectOk!);
    txCh.sendToQueue(q, bodyOf(TX_INDEX), { persistent: true });
    await rejectsWithCode(raw(txCh).rpc(defs.TxCommit!, {}, defs.TxCommitOk!), 506);
    assert.equal(tx.closed.closed, false, 'a failed commit closes the channel, not the connection');

    const inQueue = await count(och, q);
    assert.ok(inQueue >= acked.length, `the queue holds at least the confirmed messages (${inQueue} >= ${acked.length})`);

    // Free space the broker's way: consume and ack everything, so the segment files go.
    const consumed = new Map<number, number>();
    let corrupt = 0;
    const { consumerTag } = await och.consume(q, (m) => {
      if (!m) return;
      const i = indexOf(m.content);
      if (i < 0 || !m.content.equals(bodyOf(i))) corrupt++;
      consumed.set(i, (consumed.get(i) ?? 0) + 1);
      och.ack(m);
    });
    await waitFor(() => [...consumed.values()].reduce((a, b) => a + b, 0) >= inQueue, 15_000, `consuming the ${inQueue} queued messages`);
    assert.equal(corrupt, 0, 'every consumed body is intact');
    for (const i of acked) assert.equal(consumed.get(i), 1, `confirmed message ${i} was consumed once`);
    for (const i of consumed.keys()) assert.ok(p.outcome.get(i) === 'ack' || p.outcome.get(i) === 'nack' || i === TX_INDEX, `consumed ${i} was published`);

    // Nothing consumes while the confirms are checked against the files (a consumed and acked
    // message's segment may go before its confirm arrives).
    await och.cancel(consumerTag);

    // Publishing works again by itself (the failed round is retried in the background).
    let again: number[] = [];
    let from = next;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const outcomes = await p.batch(from, 8);
      if (outcomes.every((o) => o === 'ack')) {
        again = Array.from({ length: 8 }, (_, k) => from + k);
        break;
      }
      assert.ok(!outcomes.includes('pending'));
      from += 8;
      assert.ok(Date.now() < deadline, 'publishes are confirmed again within 20 s of space coming back');
      await sleep(200);
    }
    assert.deepEqual(p.notOnDisk, [], 'nothing was confirmed before it was on disk');
    assert.equal(pub.closed.closed, false);
    const more = await count(och, q);
    assert.ok(more >= again.length);
    const second = await och.consume(q, (m) => {
      if (!m) return;
      const i = indexOf(m.content);
      if (i < 0 || !m.content.equals(bodyOf(i))) corrupt++;
      consumed.set(i, (consumed.get(i) ?? 0) + 1);
      och.ack(m);
    });
    await waitFor(() => again.every((i) => consumed.get(i) === 1), 10_000, 'the new publishes to be consumed');
    await waitFor(() => [...consumed.values()].reduce((a, b) => a + b, 0) >= inQueue + more, 10_000, 'the queue to be drained');
    assert.equal(corrupt, 0);
    await och.cancel(second.consumerTag);

    // Acked messages stay acked across a restart (their acks reached the disk, or their segments went).
    await sleep(200);
    await within(closeQuietly(other.conn), 2000);
    await within(closeQuietly(pub.conn), 2000);
    await stopBroker(warren);
    ({ warren, url } = await startBroker(dir));
    const later = await connect(url);
    const lch = await later.conn.createChannel();
    const left = await count(lch, q);
    assert.equal(left, 0, `every message consumed and acked before the restart stays gone (${left} came back)`);
    await closeQuietly(later.conn);
  });

  test('confirmed messages survive a restart after the disk was full; more space (remount) makes publishing work again', { timeout: 60_000 }, async (t) => {
    const dir = skipUnlessMounted(t, '2m');
    if (!dir) return;
    let { warren, url } = await startBroker(dir);
    const q = qname('full-remount');
    const pub = await connect(url);
    const ch = await pub.conn.createConfirmChannel();
    ch.on('error', () => {});
    await ch.assertQueue(q, { durable: true });
    const p = new CheckedPublisher(ch, q, dir);

    let next = await fillUntilNacked(p, pub.closed);
    assert.ok(p.indexes('nack').length > 0, `the full disk nacks (errors: ${[...p.errors].join('; ')}; connection closed: ${pub.closed.err?.message})`);
    assert.equal(pub.closed.closed, false, `the publisher's connection stays open (closed with: ${pub.closed.err?.message})`);

    remount(dir, '8m');
    const deadline = Date.now() + 20_000;
    for (;;) {
      const outcomes = await p.batch(next, 8);
      next += 8;
      if (outcomes.every((o) => o === 'ack')) break;
      assert.ok(Date.now() < deadline, 'publishes are confirmed again within 20 s of the remount');
      await sleep(200);
    }
    assert.deepEqual(p.notOnDisk, [], 'nothing was confirmed before it was on disk');
    const acked = p.indexes('ack');

    await within(closeQuietly(pub.conn), 2000);
    await stopBroker(warren);
    ({ warren, url } = await startBroker(dir));
    const c = await connect(url);
    const cch = await c.conn.createChannel();
    const n = await count(cch, q);
    const consumed = new Map<number, number>();
    let corrupt = 0;
    await cch.consume(q, (m) => {
      if (!m) return;
      const i = indexOf(m.content);
      if (i < 0 || !m.content.equals(bodyOf(i))) corrupt++;
      consumed.set(i, (consumed.get(i) ?? 0) + 1);
      cch.ack(m);
    });
    await waitFor(() => [...consumed.values()].reduce((a, b) => a + b, 0) >= n, 15_000, `consuming the ${n} recovered messages`);
    assert.equal(corrupt, 0, 'every recovered body is intact');
    const lost = acked.filter((i) => consumed.get(i) !== 1);
    assert.deepEqual(lost, [], 'every confirmed message is there after the restart, once');
    for (const i of consumed.keys()) assert.notEqual(p.outcome.get(i), undefined, `recovered ${i} was published`);
    await closeQuietly(c.conn);
  });
  test('acks made while the disk is full are not lost: a clean restart does not bring acked messages back', {
    timeout: 60_000,
  }, async (t) => {
    const q = qname('acked-while-full');
    const full = await fullDisk(t, {}, async (ch) => {
      await ch.assertQueue(q, { durable: true });
      for (let i = 0; i < 6; i++) ch.sendToQueue(q, bodyOf(i), { persistent: true });
      await ch.waitForConfirms();
    });
    if (!full) return;
    const c = await connect(full.url);
    const ch = await c.conn.createChannel();
    const m0 = await ch.get(q);
    assert.ok(m0);
    assert.equal(indexOf(m0.content), 0);
    ch.ack(m0);
    await sleep(300); // the broker tries to write the ack now, and the disk refuses
    remount(full.dir, '8m');
    const m1 = await ch.get(q);
    assert.ok(m1);
    assert.equal(indexOf(m1.content), 1);
    ch.ack(m1); // made when there is space again
    await publishUntilConfirmed(full.url, q, bodyOf(6)); // the store works again (and has flushed)
    assert.equal(await count(ch, q), 5);
    await within(closeQuietly(c.conn), 2000);

    await stopBroker(full.warren);
    const { url } = await startBroker(full.dir, full.extra);
    const r = await connect(url);
    const rch = await r.conn.createChannel();
    assert.equal(await count(rch, q), 5, 'the two acked messages stay gone after a clean restart');
    const first = await rch.get(q, { noAck: true });
    assert.ok(first);
    assert.equal(indexOf(first.content), 2, 'the first message after the restart is the first one never acked');
  });

  test('a publish into a durable queue with no segment yet, while the disk is full, is nacked and the connection stays open', {
    timeout: 60_000,
  }, async (t) => {
    const q = qname('empty-durable');
    const full = await fullDisk(t, {}, async (ch) => {
      await ch.assertQueue(q, { durable: true });
    });
    if (!full) return;
    const pub = await connect(full.url);
    const ch = await pub.conn.createConfirmChannel();
    ch.on('error', () => {});
    const outcome = await publishOne(ch, q, bodyOf(0));
    await sleep(100);
    assert.equal(pub.closed.closed, false, `the publisher's connection stays open (closed with: ${pub.closed.err?.message})`);
    assert.equal(outcome, 'nack');
    remount(full.dir, '8m');
    await publishUntilConfirmed(full.url, q, bodyOf(1));
  });

  test('a non-durable queue that must page while the disk is full loses nothing it confirmed and keeps the connection', {
    timeout: 60_000,
  }, async (t) => {
    const full = await fullDisk(t, { pagingThreshold: 0, queueMemoryMessages: 4, queueMemoryBytes: 64 * 1024 });
    if (!full) return;
    const pub = await connect(full.url);
    const ch = await pub.conn.createConfirmChannel();
    ch.on('error', () => {});
    const q = qname('transient-paging');
    await ch.assertQueue(q, { durable: false });
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 20; i++) outcomes.push(await publishOne(ch, q, Buffer.from(`t${i}`.padEnd(4096, '.'))));
    await sleep(100);
    assert.equal(pub.closed.closed, false, `the publisher's connection stays open (closed with: ${pub.closed.err?.message}); outcomes ${outcomes.join(',')}`);
    const confirmed = outcomes.flatMap((o, i) => (o === 'ack' ? [`t${i}`] : []));
    const got: string[] = [];
    const cch = await pub.conn.createChannel();
    for (let m = await cch.get(q, { noAck: true }); m; m = await cch.get(q, { noAck: true })) got.push(m.content.toString().split('.')[0]!);
    for (const b of confirmed) assert.ok(got.includes(b), `confirmed ${b} can be consumed`);
  });

  test('declaring a durable queue while the disk is full is refused as a resource error, not an internal error; it works once there is space', {
    timeout: 60_000,
  }, async (t) => {
    const full = await fullDisk(t);
    if (!full) return;
    const c = await connect(full.url);
    const ch = await c.conn.createChannel();
    ch.on('error', () => {});
    const q = qname('declared-while-full');
    const outcome = await ch.assertQueue(q, { durable: true }).then(() => undefined, (err: AmqpError) => err);
    await sleep(100);
    if (outcome) {
      const replyCode = c.closed.err?.code ?? outcome.code;
      assert.equal(replyCode, 506, `refused with RESOURCE_ERROR (got: ${c.closed.err?.message ?? outcome.message})`);
    }
    remount(full.dir, '8m');
    const again = await connect(full.url);
    const ach = await again.conn.createChannel();
    await ach.assertQueue(q, { durable: true });
    await publishUntilConfirmed(full.url, q, bodyOf(0));
  });
});
