import type { Message } from '../core/message.js';
import { readPriority } from '../protocol/amqp/codec/properties.js';
import type { QueueEntry, QueueStore } from './queue-store.js';

export interface PriorityStoreOptions {
  /** The queue's x-max-priority, 1..255: levels are 0..maxPriority. */
  maxPriority: number;
  /**
   * Makes the store of one level: when the level first gets a message, and at construction for
   * each level in `existing`. May throw (a disk that cannot take a new level): the push fails.
   */
  createLevel: (level: number) => QueueStore;
  /** Levels that already have data (a durable queue's level logs, found at start). */
  existing?: Iterable<number>;
  /** Called once every level is destroyed (the owner removes what it made for the queue). */
  onDestroy?: () => void;
}

/**
 * A priority queue (RabbitMQ classic-queue `x-max-priority` semantics) as one child store per
 * priority level: a message goes to the level of its `priority` property (absent: 0, above the
 * maximum: the maximum), `shift`/`peek` take from the highest level that has a ready message, so
 * delivery is highest priority first and FIFO within a level. Requeue and the other contract
 * rules hold per level: a requeued entry returns to its own level at its original position, hence
 * ahead of everything of a lower priority.
 *
 * Levels are made lazily, so an x-max-priority of 255 costs nothing until the levels are used, and
 * each child keeps its own persistence (a durable queue has one segment log per level).
 *
 * An entry's level is not stored anywhere: it is recomputed from the message's priority property,
 * which the broker never rewrites while a message is queued. So entries are the children's own
 * objects, with no wrapper allocated per message. Their `seq` is per level: it increases in
 * publish order within a level only (nothing outside the stores compares seqs).
 */
export class PriorityQueueStore implements QueueStore {
  readonly maxPriority: number;
  readonly #createLevel: (level: number) => QueueStore;
  readonly #onDestroy: (() => void) | undefined;
  /** Indexed by level; undefined until the level is first used. */
  #levels: (QueueStore | undefined)[];
  /** No level above this one has ready messages (-1: none has). */
  #top = -1;
  // Running totals of the children's counts: push and requeue add one message; shift and peek
  // apply the child's own change (a child reading its log may find fewer records than counted).
  #count = 0;
  #bytes = 0;

  constructor(options: PriorityStoreOptions) {
    const max = options.maxPriority;
    if (!Number.isInteger(max) || max < 1 || max > 255) throw new RangeError(`max priority ${max} is not in 1..255`);
    this.maxPriority = max;
    this.#createLevel = options.createLevel;
    this.#onDestroy = options.onDestroy;
    this.#levels = new Array<QueueStore | undefined>(max + 1).fill(undefined);
    try {
      for (const level of options.existing ?? []) this.#openExisting(level);
    } catch (err) {
      this.close(); // the levels opened so far keep their data for the next try
      throw err;
    }
  }

  get readyCount(): number {
    return this.#count;
  }

  get readyBytes(): number {
    return this.#bytes;
  }

  /** Levels that have a store (for tests and diagnostics). */
  get openLevels(): number[] {
    const out: number[] = [];
    this.#levels.forEach((s, level) => { if (s) out.push(level); });
    return out;
  }

  push(message: Message): void {
    const level = this.levelOf(message);
    const store = (this.#levels[level] ??= this.#createLevel(level));
    store.push(message);
    // A push adds exactly this message to its level (shift is where a child may correct its count).
    this.#count++;
    this.#bytes += message.body.length;
    if (level > this.#top) this.#top = level;
  }

  shift(): QueueEntry | undefined {
    for (let store = this.#head(); store; store = this.#head()) {
      const c0 = store.readyCount;
      const b0 = store.readyBytes;
      const entry = store.shift();
      this.#count += store.readyCount - c0;
      this.#bytes += store.readyBytes - b0;
      if (entry) return entry;
      // A child that found nothing corrected its count (a log shorter than counted); a child that
      // still claims messages it cannot give is not retried forever.
      if (store.readyCount > 0) return undefined;
    }
    return undefined;
  }

  peek(): QueueEntry | undefined {
    for (let store = this.#head(); store; store = this.#head()) {
      // Peeking may read ahead from disk, which can also correct a child's count.
      const c0 = store.readyCount;
      const b0 = store.readyBytes;
      const entry = store.peek();
      this.#count += store.readyCount - c0;
      this.#bytes += store.readyBytes - b0;
      if (entry) return entry;
      if (store.readyCount > 0) return undefined;
    }
    return undefined;
  }

  requeue(entry: QueueEntry): void {
    const level = this.levelOf(entry.message);
    const store = this.#levels[level];
    if (!store) return; // destroyed meanwhile: nothing to return it to
    store.requeue(entry);
    this.#count++;
    this.#bytes += entry.message.body.length;
    if (level > this.#top) this.#top = level;
  }

  ack(entry: QueueEntry): void {
    this.#levels[this.levelOf(entry.message)]?.ack(entry);
  }

  purge(): number {
    let n = 0;
    for (const store of this.#levels) if (store) n += store.purge();
    this.#resync();
    return n;
  }

  destroy(): void {
    const levels = this.#levels;
    // Late acks of entries still out for delivery find no level and are dropped.
    this.#levels = new Array<QueueStore | undefined>(levels.length).fill(undefined);
    this.#count = this.#bytes = 0;
    this.#top = -1;
    for (const store of levels) store?.destroy();
    this.#onDestroy?.();
  }

  close(): void {
    for (const store of this.#levels) store?.close();
  }

  /** The level a message belongs to: its priority property, capped at the maximum (absent: 0). */
  levelOf(message: Message): number {
    const p = priorityOf(message);
    return p > this.maxPriority ? this.maxPriority : p;
  }

  /** The highest level with ready messages, moving the top mark down past empty ones. */
  #head(): QueueStore | undefined {
    const levels = this.#levels;
    for (let level = this.#top; level >= 0; level--) {
      const store = levels[level];
      if (store !== undefined && store.readyCount > 0) {
        this.#top = level;
        return store;
      }
    }
    this.#top = -1;
    return undefined;
  }

  /**
   * A level recovered from disk. One with nothing ready (everything acked, or only transient
   * messages, which do not survive a restart) is dropped again, so unused levels cost nothing.
   */
  #openExisting(level: number): void {
    if (!Number.isInteger(level) || level < 0 || level > this.maxPriority || this.#levels[level]) return;
    const store = this.#createLevel(level);
    if (store.readyCount === 0) {
      store.destroy();
      return;
    }
    this.#levels[level] = store;
    this.#resync();
  }

  /** Totals and top mark from the children (after operations that touch every level). */
  #resync(): void {
    this.#count = this.#bytes = 0;
    this.#top = -1;
    this.#levels.forEach((store, level) => {
      if (!store) return;
      this.#count += store.readyCount;
      this.#bytes += store.readyBytes;
      if (store.readyCount > 0) this.#top = level;
    });
  }
}

/** The priority flag in the first property-flags word. */
const F_PRIORITY = 0x0800;

/** The priority property, 0 when absent. Malformed properties never get this far (publish checks them); 0 then too. */
function priorityOf(message: Message): number {
  const raw = message.rawProperties;
  // Most messages have no priority: one byte tells, without walking the properties before it.
  if (raw.length < 2 || (raw[0]! & (F_PRIORITY >> 8)) === 0) return 0;
  try {
    return readPriority(message.rawProperties);
  } catch {
    return 0;
  }
}
