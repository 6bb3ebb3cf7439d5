import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from '../../core/message.js';
import { createLogger } from '../../log.js';
import { EntryRing } from '../memory/entry-ring.js';
import type { QueueEntry, QueueStore } from '../queue-store.js';
import { RequeuedEntries } from '../requeued-entries.js';
import type { GroupCommit } from './group-commit.js';
import type { MemoryBudget } from '../memory-budget.js';
import { ENTRY_OVERHEAD_BYTES } from '../memory-budget.js';
import type { Segment } from './segment.js';
import { SegmentLog } from './segment-log.js';
import { encodeState } from './segment-format.js';

const log = createLogger('store');

/** The delivered mark is written this many positions ahead, so it costs one write per that many deliveries. */
const MARK_AHEAD = 4096;

export interface SegmentStoreOptions {
  /** The queue's directory (created when first needed). */
  dir: string;
  /** Durable: every message goes to the log, persistent ones survive restarts. Else: memory, paged out when over budget. */
  durable: boolean;
  /** "vhost/queue", for log lines. */
  label: string;
  segmentBytes: number;
  commit: GroupCommit | null;
  /** Ready messages kept in memory (the rest wait on disk): at most this many, and this many body bytes. */
  memoryMessages: number;
  memoryBytes: number;
  /** Shared by non-durable queues: past it, they page beyond their own allowance (null: always page). */
  budget?: MemoryBudget | null;
  /** Open stores: this one is in it until destroyed or closed. */
  registry?: Set<SegmentQueueStore>;
}

/** A queue entry that knows where its record is, to ack it there (segment null: in memory only). */
interface SegmentEntry extends QueueEntry {
  segment: Segment | null;
  offset: number;
}

/**
 * The broker's queue store (design.md, "The message store").
 *
 * Ready messages are, in order: the requeued entries (memory, sorted by seq), a ring of entries in
 * memory, then records only on disk from the log's reader onwards. The ring holds at most
 * `memoryMessages`/`memoryBytes` (a non-durable queue more while the shared `budget` allows);
 * past that, new messages exist only in the log and are read back in large chunks when the ring
 * runs dry. So a queue's memory is O(unacked + requeued + ring), not
 * O(backlog).
 *
 * A durable queue writes every message to its log (persistent ones are covered by the group
 * commit before they are confirmed); after a restart, persistent records not acked are ready again.
 * A non-durable queue touches the disk only to page out a backlog over budget; its log is scratch.
 */
export class SegmentQueueStore implements QueueStore {
  readonly #options: SegmentStoreOptions;
  #log: SegmentLog | null = null;
  readonly #ring = new EntryRing();
  #ringBytes = 0;
  readonly #requeued = new RequeuedEntries();
  #diskCount = 0;
  #diskBytes = 0;
  #nextSeq = 1;
  /** Records below this seq were recovered and may have been delivered before the restart. */
  #recoveredMark = 0;
  /** Persisted delivered mark (durable): every delivered seq is below it. */
  #deliveredMark = 0;
  #deliveredMax = 0;
  /** The state file's path while the store is open (durable); null once closed or destroyed. */
  #statePath: string | null = null;

  constructor(options: SegmentStoreOptions) {
    this.#options = options;
    if (options.durable) this.#recover();
    options.registry?.add(this);
  }

  get durable(): boolean {
    return this.#options.durable;
  }

  get dir(): string {
    return this.#options.dir;
  }

  get readyCount(): number {
    return this.#ring.length + this.#requeued.length + this.#diskCount;
  }

  get readyBytes(): number {
    return this.#ringBytes + this.#requeued.bytes + this.#diskBytes;
  }

  push(message: Message): void {
    const seq = this.#nextSeq++;
    const o = this.#options;
    const inMemory = this.#diskCount === 0 &&
      ((this.#ring.length < o.memoryMessages && this.#ringBytes < o.memoryBytes) || (!o.durable && !!o.budget && !o.budget.exceeded));
    if (!o.durable && inMemory) {
      this.#ringPush(newEntry(seq, message, false, null, 0));
      return;
    }
    const segLog = (this.#log ??= this.#openLog());
    segLog.append(message, seq, message.timestamp, o.durable && message.persistent);
    if (inMemory) {
      segLog.skipLastAppended();
      this.#ringPush(newEntry(seq, message, false, segLog.last.segment, segLog.last.offset));
    } else {
      this.#diskCount++;
      this.#diskBytes += message.body.length;
    }
  }

  shift(): QueueEntry | undefined {
    let entry = this.#requeued.shift();
    if (!entry) {
      if (this.#ring.length === 0 && this.#diskCount > 0) this.#readAhead();
      entry = this.#ringShift();
      if (!entry) return undefined;
    }
    if (entry.seq >= this.#deliveredMark && this.#options.durable) this.#markDelivered(entry.seq);
    if (entry.seq > this.#deliveredMax) this.#deliveredMax = entry.seq;
    return entry;
  }

  peek(): QueueEntry | undefined {
    const requeued = this.#requeued.peek();
    if (requeued) return requeued;
    if (this.#ring.length === 0 && this.#diskCount > 0) this.#readAhead();
    return this.#ring.peek();
  }

  requeue(entry: QueueEntry): void {
    entry.redelivered = true;
    this.#requeued.insert(entry);
  }

  ack(entry: QueueEntry): void {
    const e = entry as SegmentEntry;
    // The log is gone once the queue is deleted; a late ack of its messages has nothing to record.
    if (e.segment && this.#log) this.#log.ack(e.segment, e.offset);
  }

  purge(): number {
    const n = this.readyCount;
    for (let e = this.#ringShift(); e; e = this.#ringShift()) this.ack(e);
    for (const e of this.#requeued.takeAll()) this.ack(e);
    const segLog = this.#log;
    if (segLog) {
      while (this.#diskCount > 0 && segLog.readNext()) {
        this.#diskCount--;
        segLog.ack(segLog.last.segment, segLog.last.offset);
      }
    }
    segLog?.skipToEnd();
    this.#diskCount = 0;
    this.#diskBytes = 0;
    return n;
  }

  destroy(): void {
    this.#releaseRing();
    this.#requeued.takeAll();
    this.#diskCount = this.#diskBytes = 0;
    this.#closeState();
    this.#log?.close(true);
    this.#log = null;
    this.#options.registry?.delete(this);
  }

  close(): void {
    if (this.#options.durable && this.#statePath) {
      // A clean stop knows exactly what went out: the mark drops back to it.
      this.#deliveredMark = this.#deliveredMax + 1;
      this.#writeState();
    }
    this.#releaseRing();
    this.#closeState();
    this.#log?.close(!this.#options.durable);
    this.#log = null;
    this.#options.registry?.delete(this);
  }

  #ringPush(entry: SegmentEntry): void {
    this.#ring.push(entry);
    this.#ringBytes += entry.message.body.length;
    if (!this.#options.durable && this.#options.budget) this.#options.budget.used += entryCost(entry);
  }

  #ringShift(): QueueEntry | undefined {
    const entry = this.#ring.shift();
    if (!entry) return undefined;
    this.#ringBytes -= entry.message.body.length;
    if (!this.#options.durable && this.#options.budget) this.#options.budget.used -= entryCost(entry);
    return entry;
  }

  #releaseRing(): void {
    while (this.#ringShift());
  }

  #openLog(): SegmentLog {
    const o = this.#options;
    return new SegmentLog({ dir: o.dir, durable: o.durable, segmentBytes: o.segmentBytes, commit: o.commit });
  }

  #recover(): void {
    const started = performance.now();
    const segLog = (this.#log = this.#openLog());
    const statePath = join(this.#options.dir, 'state');
    const r = segLog.recover(this.#options.label, statePath);
    this.#diskCount = r.liveRecords;
    this.#diskBytes = r.liveBytes;
    this.#nextSeq = r.nextSeq;
    this.#recoveredMark = this.#deliveredMark = r.deliveredMark;
    this.#deliveredMax = r.deliveredMark - 1;
    this.#statePath = statePath;
    this.#writeState();
    if (r.liveRecords > 0 || r.damagedRecords > 0) {
      log.info('queue recovered', {
        queue: this.#options.label, messages: r.liveRecords, bytes: r.liveBytes, segments: r.segments.length,
        damagedRecords: r.damagedRecords, truncatedBytes: r.truncatedBytes, ms: Math.round(performance.now() - started),
      });
    }
  }

  /** Refills the ring from the log: one large sequential read feeds many deliveries. */
  #readAhead(): void {
    const segLog = this.#log!;
    const o = this.#options;
    const ring = this.#ring;
    while (this.#diskCount > 0 && ring.length < o.memoryMessages && this.#ringBytes < o.memoryBytes) {
      const message = segLog.readNext();
      if (!message) {
        log.error('queue log ended before its count; count corrected', { queue: o.label, missing: this.#diskCount });
        this.#diskCount = this.#diskBytes = 0;
        break;
      }
      const seq = segLog.lastSeq;
      this.#ringPush(newEntry(seq, message, seq < this.#recoveredMark, segLog.last.segment, segLog.last.offset));
      this.#diskCount--;
      this.#diskBytes -= message.body.length;
    }
    // Records still ahead of the reader are done ones (acked before a restart): never read them.
    if (this.#diskCount === 0) segLog.skipToEnd();
  }

  /**
   * Persists "everything below seq + MARK_AHEAD may have been delivered" before this delivery can
   * reach a socket, so a crash never hides a delivery: after a restart such messages come back with
   * redelivered set. Written in place (no fsync: a crash of the process keeps it, as page cache).
   */
  #markDelivered(seq: number): void {
    this.#deliveredMark = seq + MARK_AHEAD;
    this.#writeState();
  }

  /** Rewritten in place (open, pwrite, close: no fd held per queue, and it is rare). */
  #writeState(): void {
    if (!this.#statePath) return;
    let fd = -1;
    try {
      fd = openState(this.#statePath);
      writeSync(fd, encodeState(this.#deliveredMark), 0, 12, 0);
    } catch (err) {
      log.warn('could not write queue state', { queue: this.#options.label, err });
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }

  #closeState(): void {
    this.#statePath = null;
  }
}

/** The state file, opened for in-place writes (never truncated: a crash must not leave it empty). */
function openState(path: string): number {
  try {
    return openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return openSync(path, 'w');
  }
}

function entryCost(entry: QueueEntry): number {
  return entry.message.body.length + entry.message.rawProperties.length + ENTRY_OVERHEAD_BYTES;
}

function newEntry(seq: number, message: Message, redelivered: boolean, segment: Segment | null, offset: number): SegmentEntry {
  return { seq, message, redelivered, segment, offset };
}
