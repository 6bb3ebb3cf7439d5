import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerError } from '../core/broker-error.js';
import type { Message } from '../core/message.js';
import { RESOURCE_ERROR } from '../core/reply-codes.js';
import { createLogger } from '../log.js';
import type { QueueStore } from './queue-store.js';
import { DelayStore } from './delayed/delay-store.js';
import { MemoryBudget } from './memory-budget.js';
import { DedupLog } from './dedup-log.js';
import { GroupCommit } from './segment/group-commit.js';
import { PriorityQueueStore } from './priority-queue-store.js';
import { SegmentQueueStore } from './segment/segment-queue-store.js';

const log = createLogger('store');

export interface MessageStoreOptions {
  dataDir: string;
  /** fsync before confirming persistent messages (default true; false is unsafe on power loss). */
  fsync?: boolean;
  /** Segment file size, bytes. */
  segmentBytes?: number;
  /** Ready messages each queue keeps in memory before the rest waits on disk. */
  queueMemoryMessages?: number;
  queueMemoryBytes?: number;
  /** Non-durable queues together keep this many bytes of ready messages in memory before paging. */
  pagingThreshold?: number;
}

export const STORE_DEFAULTS = {
  segmentBytes: 8 * 1024 * 1024,
  queueMemoryMessages: 16384,
  queueMemoryBytes: 16 * 1024 * 1024,
  pagingThreshold: 1024 * 1024 * 1024,
};

/**
 * Where queues keep their messages (see segment/segment-queue-store.ts): `<dataDir>/queues/<hash>/` for durable queues (a segment log
 * that survives restarts; a priority queue has one per level, in `p<level>/` below it) and `<dataDir>/paging/<n>/` for the pages of non-durable queues (wiped at
 * every start). Owns the group commit that all durable queues share.
 *
 * Delayed-message exchanges keep their pending messages in `<dataDir>/delayed/<hash>/` (see
 * delayed/delay-store.ts), with an `exchange.json` naming the owner; same clean-up rules.
 */
export class MessageStore {
  readonly commit: GroupCommit;
  readonly budget: MemoryBudget;
  readonly #queuesDir: string;
  readonly #pagingDir: string;
  readonly #options: Required<Omit<MessageStoreOptions, 'dataDir' | 'fsync' | 'pagingThreshold'>>;
  readonly #open = new Set<SegmentQueueStore>();
  readonly #dedupLogs = new Set<DedupLog>();
  /** Directories of the open durable priority queues (their logs are in subdirectories). */
  readonly #priorityDirs = new Set<string>();
  readonly #delayedDir: string;
  readonly #delays = new Set<DelayStore>();
  #pagingSeq = 0;

  constructor(options: MessageStoreOptions) {
    this.commit = new GroupCommit(options.fsync ?? true);
    this.budget = new MemoryBudget(options.pagingThreshold ?? STORE_DEFAULTS.pagingThreshold);
    this.#queuesDir = join(options.dataDir, 'queues');
    this.#pagingDir = join(options.dataDir, 'paging');
    this.#delayedDir = join(options.dataDir, 'delayed');
    this.#options = {
      segmentBytes: options.segmentBytes ?? STORE_DEFAULTS.segmentBytes,
      queueMemoryMessages: options.queueMemoryMessages ?? STORE_DEFAULTS.queueMemoryMessages,
      queueMemoryBytes: options.queueMemoryBytes ?? STORE_DEFAULTS.queueMemoryBytes,
    };
    rmSync(this.#pagingDir, { recursive: true, force: true });
    mkdirSync(this.#queuesDir, { recursive: true });
    mkdirSync(this.#delayedDir, { recursive: true });
  }

  /** A store for a new or restored queue: durable ones recover what their directory holds. */
  open(vhost: string, queue: string, durable: boolean): QueueStore {
    const dir = durable ? this.queueDir(vhost, queue) : this.#nextPagingDir();
    const label = `queue '${queue}' in vhost '${vhost}'`;
    const o = this.#options;
    return this.#withQueueDir(durable ? dir : null, { vhost, name: queue }, label,
      () => this.#segmentStore(dir, durable, label, o.queueMemoryMessages, o.queueMemoryBytes));
  }

  /**
   * A store for a priority queue (x-max-priority 1..255): one segment store per level, made when
   * the level is first used (priority-queue-store.ts). A durable one keeps level n's log in
   * `<queueDir>/p<n>/` and reopens the level directories it finds there. The queue's memory
   * allowance is shared out between its possible levels, so many levels do not multiply it.
   */
  openPriority(vhost: string, queue: string, durable: boolean, maxPriority: number): QueueStore {
    const dir = this.queueDir(vhost, queue);
    const label = `queue '${queue}' in vhost '${vhost}'`;
    const levels = maxPriority + 1;
    const memoryMessages = Math.ceil(this.#options.queueMemoryMessages / levels);
    const memoryBytes = Math.ceil(this.#options.queueMemoryBytes / levels);
    const createLevel = (level: number): QueueStore => {
      const levelLabel = `${label} (priority ${level})`;
      const levelDir = durable ? join(dir, `p${level}`) : this.#nextPagingDir();
      try {
        return this.#segmentStore(levelDir, durable, levelLabel, memoryMessages, memoryBytes);
      } catch (err) {
        throw new BrokerError(RESOURCE_ERROR, `cannot create the message store of ${levelLabel}: ${(err as Error).message}`);
      }
    };
    if (!durable) return new PriorityQueueStore({ maxPriority, createLevel });
    return this.#withQueueDir(dir, { vhost, name: queue, maxPriority }, label, () => {
      adoptFlatLog(dir, label);
      this.#priorityDirs.add(dir);
      try {
        return new PriorityQueueStore({
          maxPriority, createLevel, existing: levelDirs(dir),
          onDestroy: () => {
            this.#priorityDirs.delete(dir);
            rmSync(dir, { recursive: true, force: true });
          },
        });
      } catch (err) {
        this.#priorityDirs.delete(dir);
        throw err;
      }
    });
  }

  /**
   * Runs `make` for a queue whose directory is `dir` (null: not durable, nothing to prepare): a new
   * durable queue's directory gets its owner file first. On a full or failing disk the declare fails
   * and nothing is half-made (the next try starts over).
   */
  #withQueueDir(dir: string | null, owner: object, label: string, make: () => QueueStore): QueueStore {
    const created = dir !== null && !existsSync(join(dir, 'queue.json'));
    try {
      if (created) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'queue.json'), `${JSON.stringify(owner)}\n`);
      }
      return make();
    } catch (err) {
      if (created) rmSync(dir, { recursive: true, force: true });
      if (err instanceof BrokerError) throw err;
      throw new BrokerError(RESOURCE_ERROR, `cannot create the message store of ${label}: ${(err as Error).message}`);
    }
  }

  /** A durable queue's deduplication journal (dedup-log.ts), in its message directory. */
  openDedupLog(vhost: string, queue: string): DedupLog {
    return new DedupLog({ dir: this.queueDir(vhost, queue), label: `queue '${queue}' in vhost '${vhost}'`,
      commit: this.commit, registry: this.#dedupLogs });
  }

  #segmentStore(dir: string, durable: boolean, label: string, memoryMessages: number, memoryBytes: number): SegmentQueueStore {
    return new SegmentQueueStore({
      dir, durable, label, segmentBytes: this.#options.segmentBytes, commit: this.commit,
      memoryMessages, memoryBytes, registry: this.#open, budget: this.budget,
    });
  }

  #nextPagingDir(): string {
    return join(this.#pagingDir, String(++this.#pagingSeq));
  }

  queueDir(vhost: string, queue: string): string {
    return join(this.#queuesDir, dirHash(vhost, queue));
  }

  /** The store of a delayed-message exchange's pending messages: durable ones recover what their directory holds. */
  openDelayStore(vhost: string, exchange: string, durable: boolean, onDue: (message: Message) => void): DelayStore {
    const dir = this.delayedDir(vhost, exchange);
    const label = `exchange '${exchange}' in vhost '${vhost}'`;
    const created = durable && !existsSync(join(dir, 'exchange.json'));
    try {
      if (created) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'exchange.json'), `${JSON.stringify({ vhost, name: exchange })}\n`);
      }
      return new DelayStore({
        dir, durable, label, segmentBytes: this.#options.segmentBytes, commit: this.commit, onDue, registry: this.#delays,
      });
    } catch (err) {
      if (created) rmSync(dir, { recursive: true, force: true });
      throw new BrokerError(RESOURCE_ERROR, `cannot create the message store of ${label}: ${(err as Error).message}`);
    }
  }

  delayedDir(vhost: string, exchange: string): string {
    return join(this.#delayedDir, dirHash(vhost, exchange));
  }

  /** After the definitions are restored: message directories of queues (and delayed exchanges) that no longer exist go. */
  removeOrphans(): void {
    const live = new Set<string>();
    for (const s of this.#open) if (s.durable) live.add(s.dir);
    for (const s of this.#delays) live.add(s.dir);
    // A priority queue's directory holds its level logs (possibly none yet): live as a whole.
    for (const dir of this.#priorityDirs) live.add(dir);
    removeUnowned(this.#queuesDir, live, 'queue.json', 'queue');
    removeUnowned(this.#delayedDir, live, 'exchange.json', 'delayed exchange');
  }

  /**
   * Shutdown: every buffered write out and synced, files closed. Messages stay for the next start.
   * Delayed-message stores stop first, and get the rounds that let them finish what they moved.
   */
  async close(): Promise<void> {
    for (const d of this.#delays) d.stop();
    for (const d of this.#delays) await d.settle();
    await this.commit.drain();
    for (const s of [...this.#open]) s.close();
    for (const d of [...this.#dedupLogs]) d.close();
    for (const d of [...this.#delays]) d.close();
  }
}

function dirHash(vhost: string, name: string): string {
  return createHash('sha256').update(`${vhost}\0${name}`).digest('hex').slice(0, 32);
}

/** Removes the directories under `parent` that are not in `live`, naming their owner (from `ownerFile`) in the log. */
function removeUnowned(parent: string, live: Set<string>, ownerFile: string, what: string): void {
  for (const name of readdirSync(parent)) {
    const dir = join(parent, name);
    if (live.has(dir)) continue;
    let owner = `unknown ${what}`;
    try {
      const o = JSON.parse(readFileSync(join(dir, ownerFile), 'utf8')) as { vhost: string; name: string };
      owner = `${o.vhost}/${o.name}`;
    } catch {
      // No owner file: still not a live directory.
    }
    log.info(`removing the messages of a ${what} that no longer exists`, { [what === 'queue' ? 'queue' : 'exchange']: owner, dir });
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Warren versions before priority queues kept an `x-max-priority` queue's messages in one log in
 * the queue's directory: that log becomes level 0 (the messages were never sorted by priority),
 * so an upgrade keeps them. Renames only; done once, before the levels are opened.
 */
function adoptFlatLog(dir: string, label: string): void {
  if (!existsSync(dir)) return;
  const flat = readdirSync(dir).filter((n) => /^(msgs|acks)\.\d+$/.test(n) || n === 'state');
  if (flat.length === 0 || existsSync(join(dir, 'p0'))) return;
  mkdirSync(join(dir, 'p0'));
  for (const name of flat) renameSync(join(dir, name), join(dir, 'p0', name));
  log.info('priority queue: messages stored before priorities were supported kept as priority 0', { queue: label, files: flat.length });
}

/** The priority levels a durable priority queue's directory has logs for (`p<level>`). */
function levelDirs(dir: string): number[] {
  const levels: number[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^p(\d{1,3})$/.exec(name);
    if (m) levels.push(Number(m[1]));
  }
  return levels;
}
