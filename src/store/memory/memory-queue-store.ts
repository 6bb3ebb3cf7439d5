import type { Message } from '../../core/message.js';
import type { QueueEntry, QueueStore } from '../queue-store.js';
import { EntryRing } from './entry-ring.js';

/**
 * Messages held in memory: a ring buffer of never-delivered entries (publish order) and a sorted
 * array of requeued ones. Every requeued entry has a lower seq than every entry still in the ring
 * (it was shifted off the head before them), so requeued entries always go out first, in seq order.
 */
export class MemoryQueueStore implements QueueStore {
  readonly #ring = new EntryRing();
  // Sorted by seq; entries before #requeuedHead are already taken (compacted now and then).
  #requeued: QueueEntry[] = [];
  #requeuedHead = 0;
  #nextSeq = 1;
  #readyBytes = 0;

  get readyCount(): number {
    return this.#ring.length + this.#requeued.length - this.#requeuedHead;
  }

  get readyBytes(): number {
    return this.#readyBytes;
  }

  push(message: Message): QueueEntry {
    const entry: QueueEntry = { seq: this.#nextSeq++, message, redelivered: false };
    this.#ring.push(entry);
    this.#readyBytes += message.body.length;
    return entry;
  }

  shift(): QueueEntry | undefined {
    let entry: QueueEntry | undefined;
    if (this.#requeuedHead < this.#requeued.length) {
      entry = this.#requeued[this.#requeuedHead]!;
      this.#requeued[this.#requeuedHead++] = undefined as unknown as QueueEntry;
      if (this.#requeuedHead === this.#requeued.length) {
        this.#requeued = [];
        this.#requeuedHead = 0;
      }
    } else {
      entry = this.#ring.shift();
    }
    if (entry) this.#readyBytes -= entry.message.body.length;
    return entry;
  }

  requeue(entry: QueueEntry): void {
    entry.redelivered = true;
    if (this.#requeuedHead > 1024 && this.#requeuedHead * 2 > this.#requeued.length) {
      this.#requeued = this.#requeued.slice(this.#requeuedHead);
      this.#requeuedHead = 0;
    }
    const list = this.#requeued;
    // Requeues usually arrive in ascending order (a channel returning its unacked in tag order).
    if (list.length === this.#requeuedHead || list[list.length - 1]!.seq < entry.seq) list.push(entry);
    else list.splice(lowerBound(list, this.#requeuedHead, entry.seq), 0, entry);
    this.#readyBytes += entry.message.body.length;
  }

  ack(_entry: QueueEntry): void {
    // Nothing to release: the entry is garbage once the queue drops its reference.
  }

  purge(): number {
    const n = this.readyCount;
    this.#ring.clear();
    this.#requeued = [];
    this.#requeuedHead = 0;
    this.#readyBytes = 0;
    return n;
  }

  destroy(): void {
    this.purge();
  }
}

function lowerBound(list: QueueEntry[], from: number, seq: number): number {
  let lo = from;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
