import type { QueueEntry } from './queue-store.js';

/**
 * Entries handed back to a queue (nack/reject with requeue, channel closed), kept sorted by seq so
 * they go out again in their original order, ahead of everything never delivered (a requeued entry
 * always has a lower seq than those: it left the queue before them).
 */
export class RequeuedEntries {
  // Sorted by seq; entries before #head are already taken (compacted now and then).
  #list: QueueEntry[] = [];
  #head = 0;
  bytes = 0;

  get length(): number {
    return this.#list.length - this.#head;
  }

  insert(entry: QueueEntry): void {
    if (this.#head > 1024 && this.#head * 2 > this.#list.length) {
      this.#list = this.#list.slice(this.#head);
      this.#head = 0;
    }
    const list = this.#list;
    // Requeues usually arrive in ascending order (a channel returning its unacked in tag order).
    if (list.length === this.#head || list[list.length - 1]!.seq < entry.seq) list.push(entry);
    else list.splice(lowerBound(list, this.#head, entry.seq), 0, entry);
    this.bytes += entry.message.body.length;
  }

  peek(): QueueEntry | undefined {
    return this.#head === this.#list.length ? undefined : this.#list[this.#head];
  }

  shift(): QueueEntry | undefined {
    if (this.#head === this.#list.length) return undefined;
    const entry = this.#list[this.#head]!;
    this.#list[this.#head++] = undefined as unknown as QueueEntry;
    if (this.#head === this.#list.length) {
      this.#list = [];
      this.#head = 0;
    }
    this.bytes -= entry.message.body.length;
    return entry;
  }

  /** Removes and returns every entry. */
  takeAll(): QueueEntry[] {
    const all = this.#list.slice(this.#head);
    this.#list = [];
    this.#head = 0;
    this.bytes = 0;
    return all;
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
