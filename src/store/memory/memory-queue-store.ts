import type { Message } from '../../core/message.js';
import type { QueueEntry, QueueStore } from '../queue-store.js';
import { RequeuedEntries } from '../requeued-entries.js';
import { EntryRing } from './entry-ring.js';

/**
 * Messages held in memory: a ring buffer of never-delivered entries (publish order) and the sorted
 * requeued ones, which always go out first. Used where nothing may touch the disk (unit tests,
 * embedding without a data directory); the broker's queues use the segment store.
 */
export class MemoryQueueStore implements QueueStore {
  readonly #ring = new EntryRing();
  readonly #requeued = new RequeuedEntries();
  #nextSeq = 1;
  #ringBytes = 0;

  get readyCount(): number {
    return this.#ring.length + this.#requeued.length;
  }

  get readyBytes(): number {
    return this.#ringBytes + this.#requeued.bytes;
  }

  push(message: Message): void {
    this.#ring.push({ seq: this.#nextSeq++, message, redelivered: false });
    this.#ringBytes += message.body.length;
  }

  shift(): QueueEntry | undefined {
    const requeued = this.#requeued.shift();
    if (requeued) return requeued;
    const entry = this.#ring.shift();
    if (entry) this.#ringBytes -= entry.message.body.length;
    return entry;
  }

  peek(): QueueEntry | undefined {
    return this.#requeued.peek() ?? this.#ring.peek();
  }

  requeue(entry: QueueEntry): void {
    entry.redelivered = true;
    this.#requeued.insert(entry);
  }

  ack(_entry: QueueEntry): void {
    // Nothing to release: the entry is garbage once the queue drops its reference.
  }

  purge(): number {
    const n = this.readyCount;
    this.#ring.clear();
    this.#requeued.takeAll();
    this.#ringBytes = 0;
    return n;
  }

  destroy(): void {
    this.purge();
  }

  close(): void {}
}
