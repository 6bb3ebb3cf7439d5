import type { QueueEntry } from '../queue-store.js';

/**
 * A growable ring buffer of entries: O(1) push and shift without Array#shift's O(n) copying,
 * and it shrinks back when a burst has drained so an idle queue holds little memory.
 */
export class EntryRing {
  #items: (QueueEntry | undefined)[] = new Array(16);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(entry: QueueEntry): void {
    if (this.#length === this.#items.length) this.#resize(this.#items.length * 2);
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = entry;
    this.#length++;
  }

  peek(): QueueEntry | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  shift(): QueueEntry | undefined {
    if (this.#length === 0) return undefined;
    const entry = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    if (this.#items.length > 1024 && this.#length < this.#items.length >>> 3) {
      this.#resize(this.#items.length >>> 1);
    }
    return entry;
  }

  clear(): void {
    this.#items = new Array(16);
    this.#head = 0;
    this.#length = 0;
  }

  #resize(capacity: number): void {
    const next: (QueueEntry | undefined)[] = new Array(capacity);
    for (let i = 0; i < this.#length; i++) next[i] = this.#items[(this.#head + i) & (this.#items.length - 1)];
    this.#items = next;
    this.#head = 0;
  }
}
