import type { FieldTable } from '../../protocol/amqp/codec/field-table.js';
import type { QueueEntry, QueueStore } from '../../store/queue-store.js';
import { BrokerError } from '../broker-error.js';
import type { Binding } from '../exchange/exchange.js';
import type { Message } from '../message.js';
import { ACCESS_REFUSED } from '../reply-codes.js';
import type { Consumer } from './consumer.js';
import type { Deduplicator } from './deduplication.js'; // DEDUP

export interface QueueOptions {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** The connection that owns an exclusive queue (null otherwise). Compared by identity. */
  owner: object | null;
}

/** What a queue tells its vhost: it lost its last consumer (auto-delete). */
export interface QueueEvents {
  lastConsumerGone(queue: Queue): void;
}

/**
 * A queue: the store of ready messages plus the consumers it delivers to, round-robin, as long as
 * they can accept (prefetch, socket backpressure). Entries out for delivery are counted here and
 * tracked by whoever holds them (the AMQP channel), which returns them through ack() or requeue().
 */
export class Queue {
  readonly kind = 'queue' as const;
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
  readonly owner: object | null;
  readonly inbound = new Set<Binding>();
  readonly store: QueueStore;
  readonly consumers: Consumer[] = [];
  unackedCount = 0;
  deleted = false;
  /** DEDUP: set by the vhost at declare when x-message-deduplication is on. */
  deduplicator: Deduplicator | null = null;
  readonly #events: QueueEvents;
  #next = 0;
  #draining = false;
  #hadConsumer = false;

  constructor(vhost: string, name: string, options: QueueOptions, store: QueueStore, events: QueueEvents) {
    this.vhost = vhost;
    this.name = name;
    this.durable = options.durable;
    this.exclusive = options.exclusive;
    this.autoDelete = options.autoDelete;
    this.arguments = options.arguments;
    this.owner = options.owner;
    this.store = store;
    this.#events = events;
  }

  get messageCount(): number {
    return this.store.readyCount;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  enqueue(message: Message): void {
    if (this.deduplicator !== null && !this.deduplicator.admit(message)) return; // DEDUP: a duplicate is dropped
    this.store.push(message);
    // With older messages waiting, the last drain already found no consumer able to take more;
    // capacity coming back (ack, qos, socket drain) drains again. So only a first message drains.
    if (this.consumers.length > 0 && this.store.readyCount === 1) this.drain();
  }

  /** basic.get: the next ready entry, now out for delivery (ack or requeue it). */
  get(): QueueEntry | undefined {
    const entry = this.store.shift();
    if (entry) this.unackedCount++;
    return entry;
  }

  ack(entry: QueueEntry): void {
    this.unackedCount--;
    this.store.ack(entry);
    this.deduplicator?.release(entry.message); // DEDUP: the message left for good
  }

  requeue(entry: QueueEntry): void {
    this.returnEntry(entry);
    if (this.consumers.length > 0) this.drain();
  }

  /**
   * Puts an entry back without delivering yet: callers returning a batch (nack multiple, channel
   * close) return all of it first and drain once, so the batch goes out again in its own order.
   */
  returnEntry(entry: QueueEntry): void {
    this.unackedCount--;
    if (!this.deleted) this.store.requeue(entry);
  }

  purge(): number {
    this.deduplicator?.purged(); // DEDUP
    return this.store.purge();
  }

  /** Throws 403 when the queue has an exclusive consumer, or `exclusive` is asked of a used queue. */
  assertCanConsume(exclusive: boolean): void {
    if (this.consumers.length > 0 && (exclusive || this.consumers[0]!.exclusive)) {
      throw new BrokerError(ACCESS_REFUSED, `queue '${this.name}' in vhost '${this.vhost}' in exclusive use`);
    }
  }

  /** Adds a consumer (call assertCanConsume first) and starts delivering to it. */
  addConsumer(consumer: Consumer): void {
    this.assertCanConsume(consumer.exclusive);
    this.consumers.push(consumer);
    this.#hadConsumer = true;
    this.drain();
  }

  removeConsumer(consumer: Consumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.#next > i) this.#next--;
    if (this.consumers.length === 0 && this.autoDelete && this.#hadConsumer && !this.deleted) {
      this.#events.lastConsumerGone(this);
    }
  }

  /**
   * Delivers ready entries to consumers that can accept, round-robin from where the last pass
   * stopped, until the queue is empty or no consumer can take more. Consumers call it again when
   * they regain capacity (ack, qos, socket drain).
   */
  drain(): void {
    if (this.#draining || this.deleted) return;
    this.#draining = true;
    try {
      const consumers = this.consumers;
      while (this.store.readyCount > 0 && consumers.length > 0) {
        const consumer = this.#nextAccepting();
        if (!consumer) break;
        const entry = this.store.shift();
        if (!entry) break;
        this.unackedCount++;
        consumer.deliver(this, entry);
        if (consumer.noAck) this.ack(entry);
      }
    } finally {
      this.#draining = false;
    }
  }

  #nextAccepting(): Consumer | undefined {
    const consumers = this.consumers;
    const n = consumers.length;
    for (let tried = 0; tried < n; tried++) {
      if (this.#next >= n) this.#next = 0;
      const c = consumers[this.#next++]!;
      if (c.canAccept()) return c;
    }
    return undefined;
  }

  /** The queue is being deleted: cancel consumers, drop messages. Returns the ready count. */
  destroy(): number {
    this.deleted = true;
    const count = this.store.readyCount;
    for (const c of this.consumers.splice(0)) c.cancelledByServer(this);
    this.store.destroy();
    this.deduplicator?.destroy(); // DEDUP: the keys and their journal go with the queue
    return count;
  }
}
