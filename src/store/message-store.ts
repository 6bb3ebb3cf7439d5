import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerError } from '../core/broker-error.js';
import { RESOURCE_ERROR } from '../core/reply-codes.js';
import { createLogger } from '../log.js';
import type { QueueStore } from './queue-store.js';
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
  #pagingSeq = 0;

  constructor(options: MessageStoreOptions) {
    this.commit = new GroupCommit(options.fsync ?? true);
    this.budget = new MemoryBudget(options.pagingThreshold ?? STORE_DEFAULTS.pagingThreshold);
    this.#queuesDir = join(options.dataDir, 'queues');
    this.#pagingDir = join(options.dataDir, 'paging');
    this.#options = {
      segmentBytes: options.segmentBytes ?? STORE_DEFAULTS.segmentBytes,
      queueMemoryMessages: options.queueMemoryMessages ?? STORE_DEFAULTS.queueMemoryMessages,
      queueMemoryBytes: options.queueMemoryBytes ?? STORE_DEFAULTS.queueMemoryBytes,
    };
    rmSync(this.#pagingDir, { recursive: true, force: true });
    mkdirSync(this.#queuesDir, { recursive: true });
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
    return join(this.#queuesDir, createHash('sha256').update(`${vhost}\0${queue}`).digest('hex').slice(0, 32));
  }

  /** After the definitions are restored: message directories of queues that no longer exist go. */
  removeOrphans(): void {
    const live = new Set<string>();
    for (const s of this.#open) if (s.durable) live.add(s.dir);
    // A priority queue's directory holds its level logs (possibly none yet): live as a whole.
    for (const dir of this.#priorityDirs) live.add(dir);
    for (const name of readdirSync(this.#queuesDir)) {
      const dir = join(this.#queuesDir, name);
      if (live.has(dir)) continue;
      let owner = 'unknown queue';
      try {
        const o = JSON.parse(readFileSync(join(dir, 'queue.json'), 'utf8')) as { vhost: string; name: string };
        owner = `${o.vhost}/${o.name}`;
      } catch {
        // No owner file: still not a live queue's directory.
      }
      log.info('removing the messages of a queue that no longer exists', { queue: owner, dir });
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Shutdown: every buffered write out and synced, files closed. Messages stay for the next start. */
  async close(): Promise<void> {
    await this.commit.drain();
    for (const s of [...this.#open]) s.close();
    for (const d of [...this.#dedupLogs]) d.close();
  }
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
