import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from '../../core/message.js';
import { createLogger } from '../../log.js';
import type { GroupCommit } from '../segment/group-commit.js';
import type { Segment } from '../segment/segment.js';
import { SegmentLog } from '../segment/segment-log.js';
import { AfterCommit } from './after-commit.js';
import { bucketDirName, bucketStart, hotDirName, openTime, scanDelayDir, targetLevel } from './delay-levels.js';
import { MinHeap } from './min-heap.js';

/**
 * The pending messages of one x-delayed-message exchange, on disk in time buckets, with only the
 * next second or two in memory.
 *
 * On-disk layout (version 1), in the exchange's directory `<data>/delayed/<hash>/`:
 *
 *   exchange.json                {vhost, name}: which exchange owns the directory (message-store.ts)
 *   L<level>-<start>-<run>/      a bucket: messages due in [start, start + width(level)) ms since
 *                                the epoch (levels and widths: delay-levels.ts; 1 s, 1 min, 1 h,
 *                                1 d, 32 d, 1024 d). Written during broker run number <run>.
 *   hot-<run>/                   the messages in memory (due within about a second), written
 *                                during run <run>: persistent ones only, acked once routed.
 *
 * Each of those directories is a segment log in the queue format (segment-format.ts: msgs.N
 * segment files, acks.N ack files), with one difference: a record's `seq` field holds the
 * message's due time (ms since the epoch), its `time` field the message's arrival time. Bucket
 * logs are append-only and never acked: a bucket is read whole when it opens and then deleted.
 * Every run writes its own directories (run = highest run found at start + 1), so a log of an
 * earlier run is only ever read, never appended to.
 *
 * How messages move: `add` puts a message in the coarsest bucket that has not opened yet
 * (targetLevel), or in memory if even its 1 s bucket has. A bucket opens `lead` ms before its
 * start: its records are read back in time slices and placed again by the same rule, so they
 * cascade day → hour → minute → second → memory, each move a sequential copy. Messages in memory
 * sit in a min-heap by due time, with one (unref'd) timer for the earliest.
 *
 * Durability (durable exchange, persistent message): every copy is written before the publish is
 * confirmed (the log marks the shared group commit dirty). An opened bucket is deleted only after
 * the group-commit round covering its copies finished, and a fired message is acked in the hot log
 * only after the round covering its writes to the destination queues: a crash at any point leaves
 * at least one copy (at-least-once; a crash can duplicate, never lose). At start, buckets of earlier
 * runs are registered by name (not read) and open on time; earlier hot logs are read at once, and
 * overdue messages are routed immediately. Transient messages and non-durable exchanges use the
 * same buckets as scratch space (never synced, wiped at start).
 */
export interface DelayStoreOptions {
  /** The exchange's directory. */
  dir: string;
  /** Durable exchange: persistent messages survive restarts. Else the directory is scratch space. */
  durable: boolean;
  /** "exchange 'x' in vhost '/'", for log lines. */
  label: string;
  segmentBytes: number;
  commit: GroupCommit | null;
  /** A message is due: route it now. */
  onDue(message: Message): void;
  /** Wall-clock time, ms since the epoch (tests inject one). */
  clock?: () => number;
  registry?: Set<DelayStore>;
}

const log = createLogger('delayed');

/** Messages routed per turn of the event loop, and ms spent copying bucket records per turn. */
const FIRE_BATCH = 2048;
const DRAIN_SLICE_MS = 8;
/** Longest sleep: the wall clock can jump (NTP, a suspended VM), so look again now and then. */
const MAX_SLEEP_MS = 10_000;

interface HotEntry {
  due: number;
  n: number;
  message: Message;
  /** Where the persistent copy is in the hot log (null: memory only). */
  segment: Segment | null;
  offset: number;
}

class Bucket {
  readonly level: number;
  readonly start: number;
  readonly openAt: number;
  /** This run's log of the bucket, and directories of earlier runs' logs for the same bucket. */
  log: SegmentLog | null = null;
  readonly recovered: string[] = [];

  constructor(level: number, start: number) {
    this.level = level;
    this.start = start;
    this.openAt = openTime(level, start);
  }
}

/** A log being read back: an opened bucket, or a hot log of an earlier run. */
interface Drain {
  dir: string;
  /** Null until reading starts (earlier runs' logs are recovered then). */
  log: SegmentLog | null;
  recovered: boolean;
  /** Earliest due time it can hold: drains run earliest first. */
  start: number;
}

export class DelayStore {
  readonly #o: DelayStoreOptions;
  readonly #clock: () => number;
  #lastNow = 0;
  readonly #run: number;
  #hot: SegmentLog | null = null;
  readonly #heap = new MinHeap<HotEntry>((a, b) => a.due < b.due || (a.due === b.due && a.n < b.n));
  #n = 0;
  readonly #buckets = new Map<string, Bucket>();
  readonly #opening = new MinHeap<Bucket>((a, b) => a.openAt < b.openAt);
  readonly #drains = new MinHeap<Drain>((a, b) => a.start < b.start);
  /** Durable stores: fired messages to ack, and read-back logs to delete, once their copies are synced. */
  readonly #acking: AfterCommit<HotEntry> | null = null;
  readonly #retiring: AfterCommit<SegmentLog> | null = null;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #immediate: NodeJS.Immediate | undefined;
  #running = false;
  #stopped = false;
  #destroyed = false;
  #pending = 0;

  constructor(options: DelayStoreOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    if (options.durable && options.commit) {
      this.#acking = new AfterCommit(options.commit, (e) => this.#hot?.ack(e.segment!, e.offset));
      this.#retiring = new AfterCommit(options.commit, (done) => done.close(true));
    }
    if (options.durable) {
      this.#run = this.#recover();
    } else {
      rmSync(options.dir, { recursive: true, force: true });
      this.#run = 1;
    }
    options.registry?.add(this);
    this.#schedule();
  }

  get dir(): string {
    return this.#o.dir;
  }

  get durable(): boolean {
    return this.#o.durable;
  }

  /** Messages waiting, as far as known: those in buckets of earlier runs not opened yet are not counted. */
  get pending(): number {
    return this.#pending;
  }

  /** Messages held in memory (due within about two seconds). */
  get inMemory(): number {
    return this.#heap.size;
  }

  /** Buckets not opened yet (each a directory on disk). */
  get bucketCount(): number {
    return this.#buckets.size;
  }

  /** Now, by the store's clock, never going backwards (a bucket once open stays open). */
  now(): number {
    const t = this.#clock();
    if (t > this.#lastNow) this.#lastNow = t;
    return this.#lastNow;
  }

  /** When the store next has something to do, ms since the epoch (Infinity: nothing pending). */
  nextWakeAt(): number {
    if (this.#drains.size > 0) return this.now();
    return Math.min(this.#heap.peek()?.due ?? Infinity, this.#opening.peek()?.openAt ?? Infinity);
  }

  /** Keeps `message` until `due` (ms since the epoch), then hands it to onDue. */
  add(message: Message, due: number): void {
    // A transaction committed after its delayed exchange was deleted routes here: nothing to keep.
    if (this.#destroyed) return;
    this.#pending++;
    this.#place(message, due);
  }

  #place(message: Message, due: number): void {
    const level = targetLevel(due, this.now());
    const persistent = this.#o.durable && message.persistent;
    if (level < 0) {
      let segment: Segment | null = null;
      let offset = 0;
      if (persistent) {
        const hot = (this.#hot ??= this.#openLog(hotDirName(this.#run)));
        hot.append(message, due, message.timestamp, true);
        segment = hot.last.segment;
        offset = hot.last.offset;
      }
      this.#heap.push({ due, n: this.#n++, message, segment, offset });
      if (due < this.#timerAt) this.#schedule();
      return;
    }
    const bucket = this.#bucket(level, bucketStart(level, due));
    const bucketLog = (bucket.log ??= this.#openLog(bucketDirName(level, bucket.start, this.#run)));
    bucketLog.append(message, due, message.timestamp, persistent);
  }

  #bucket(level: number, start: number): Bucket {
    const key = `${level}-${start}`;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new Bucket(level, start);
      this.#buckets.set(key, bucket);
      this.#opening.push(bucket);
      if (bucket.openAt < this.#timerAt) this.#schedule();
    }
    return bucket;
  }

  #openLog(name: string): SegmentLog {
    return this.#openLogAt(join(this.#o.dir, name));
  }

  /** Registers what earlier runs left; returns this run's number. Reads nothing yet. */
  #recover(): number {
    const found = scanDelayDir(this.#o.dir);
    for (const dir of found.hot) this.#drains.push({ dir, log: null, recovered: true, start: -Infinity });
    for (const b of found.buckets) this.#bucket(b.level, b.start).recovered.push(b.dir);
    if (found.buckets.length > 0 || found.hot.length > 0) {
      log.info('delayed messages found', { exchange: this.#o.label, buckets: found.buckets.length, hotLogs: found.hot.length });
    }
    return found.lastRun + 1;
  }

  /** Arms the timer (or an immediate) for the next thing to do. */
  #schedule(): void {
    if (this.#stopped || this.#running) return;
    const now = this.now();
    const next = this.nextWakeAt();
    if (next <= now) {
      this.#clearTimer();
      this.#timerAt = -Infinity; // a run is coming: nothing added meanwhile needs a timer
      this.#immediate ??= setImmediate(runStore, this);
      return;
    }
    if (next === this.#timerAt && this.#timer) return;
    this.#clearTimer();
    this.#timerAt = next;
    if (next !== Infinity) this.#timer = setTimeout(runStore, Math.min(next - now, MAX_SLEEP_MS), this).unref();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** @internal One turn of work: fire what is due, open buckets, copy for a few ms. */
  run(): void {
    this.#immediate = undefined;
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#stopped) return;
    this.#running = true;
    try {
      this.#fireDue();
      this.#openDue();
      this.#drainSome(DRAIN_SLICE_MS);
      this.#fireDue();
    } finally {
      this.#running = false;
    }
    this.#schedule();
  }

  /** Does everything due by the clock now, to the end (tests drive a store with a fake clock this way). */
  runDue(): void {
    do this.run();
    while (!this.#stopped && (this.#drains.size > 0 || (this.#heap.peek()?.due ?? Infinity) <= this.now()));
  }

  #openDue(): void {
    const now = this.now();
    for (let b = this.#opening.peek(); b && b.openAt <= now; b = this.#opening.peek()) {
      this.#opening.pop();
      this.#buckets.delete(`${b.level}-${b.start}`);
      for (const dir of b.recovered) this.#drains.push({ dir, log: null, recovered: true, start: b.start });
      if (b.log) this.#drains.push({ dir: b.log.dir, log: b.log, recovered: false, start: b.start });
    }
  }

  /** Copies records of opened logs to where they go next, for about `ms` ms. */
  #drainSome(ms: number): void {
    const deadline = performance.now() + ms;
    let count = 0;
    for (let d = this.#drains.peek(); d; d = this.#drains.peek()) {
      let message: Message | undefined;
      try {
        if (!d.log) {
          d.log = this.#openLogAt(d.dir);
          d.log.recover(this.#o.label, join(d.dir, 'state'));
        }
        message = d.log.readNext();
      } catch (err) {
        // Unreadable (an I/O error): leave it on disk for the next start rather than lose it.
        log.error('could not read delayed messages; left for the next start', { exchange: this.#o.label, dir: d.dir, err });
        this.#drains.pop();
        d.log?.close(false);
        continue;
      }
      if (!message) {
        this.#drains.pop();
        this.#retire(d.log);
        continue;
      }
      // Messages of earlier runs become known as they are read back.
      if (d.recovered) this.#pending++;
      this.#place(message, d.log.lastSeq);
      if ((++count & 127) === 0 && performance.now() > deadline) return;
    }
  }

  #openLogAt(dir: string): SegmentLog {
    const o = this.#o;
    return new SegmentLog({ dir, durable: o.durable, segmentBytes: o.segmentBytes, commit: o.commit });
  }

  /** A log read to its end: deleted once its copies are on disk. */
  #retire(done: SegmentLog): void {
    if (this.#retiring) this.#retiring.add(done);
    else done.close(true);
  }

  #fireDue(): void {
    const heap = this.#heap;
    const now = this.now();
    const commit = this.#o.commit;
    const writes = commit ? commit.writes : 0;
    const written: HotEntry[] = [];
    for (let i = 0; i < FIRE_BATCH; i++) {
      const e = heap.peek();
      if (!e || e.due > now) break;
      heap.pop();
      this.#pending--;
      try {
        this.#o.onDue(e.message);
      } catch (err) {
        // Not acked: a persistent one comes back at the next start.
        log.error('could not route a due delayed message', { exchange: this.#o.label, err });
        continue;
      }
      if (e.segment) written.push(e);
    }
    if (written.length === 0) return;
    const acking = this.#acking;
    // The destination queues wrote persistent copies: ack ours once those are on disk.
    if (acking && commit!.writes !== writes) for (const e of written) acking.add(e);
    else for (const e of written) this.#hot!.ack(e.segment!, e.offset);
  }

  /**
   * Shutdown, step 1: no more timers; a log half read back is finished (so a clean stop does not
   * duplicate its first half). Then `settle`, then `close`.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clearTimer();
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    if (this.#destroyed) return;
    const all = this.#drains.clear();
    for (const d of all) if (d.log) this.#drains.push(d);
    this.#drainSome(Infinity);
    for (const d of all) if (!d.log) this.#drains.push(d);
  }

  /** Shutdown, step 2: waits (a few group-commit rounds at most) until fired messages are acked and read-back logs deleted. */
  async settle(): Promise<void> {
    await this.#acking?.settle();
    await this.#retiring?.settle();
  }

  /** Shutdown, step 3: writes out and closes every log. What is pending stays for the next start. */
  close(): void {
    this.stop();
    this.#closeLogs(false);
    this.#o.registry?.delete(this);
  }

  /** The exchange is deleted: its pending messages and files go. */
  destroy(): void {
    this.#destroyed = true;
    this.stop();
    this.#closeLogs(true);
    this.#heap.clear();
    this.#pending = 0;
    rmSync(this.#o.dir, { recursive: true, force: true });
    this.#o.registry?.delete(this);
  }

  #closeLogs(remove: boolean): void {
    this.#hot?.close(remove);
    this.#hot = null;
    for (const b of this.#buckets.values()) b.log?.close(remove);
    this.#buckets.clear();
    this.#opening.clear();
    for (const d of this.#drains.clear()) d.log?.close(remove);
    // Logs read back but not yet covered by a round: kept, read again at the next start.
    for (const done of this.#retiring?.drop() ?? []) done.close(remove);
    this.#acking?.drop();
  }
}

function runStore(store: DelayStore): void {
  store.run();
}
