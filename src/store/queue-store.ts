import type { Message } from '../core/message.js';

/**
 * One message in a queue: its position (`seq`, increasing in publish order) and delivery state.
 * The queue hands entries out to consumers and gets them back on ack/requeue; a store may keep
 * the message itself on disk and load it only for delivery.
 */
export interface QueueEntry {
  readonly seq: number;
  /** Replaced (never mutated) when a queue rewrites what it redelivers, e.g. x-delivery-count. */
  message: Message;
  /** Set once the message has been delivered and returned to the queue (AMQP `redelivered`). */
  redelivered: boolean;
  /** Times it came back to a queue with a delivery limit (set only by such queues). */
  deliveryCount?: number;
}

/**
 * The queue↔store interface (design.md, "The message store"). A queue is a read cursor over its
 * store plus the entries it has handed out; the store owns the ready messages.
 *
 * Contract:
 * - `push` appends at the tail; `peek` shows what `shift` would take; `shift` takes the next ready entry: requeued entries first, in
 *   their original order (a requeued message goes back to its original position, as RabbitMQ's
 *   classic queues do), then the tail of never-delivered ones.
 * - Every entry that left through `shift` comes back exactly once, through `ack` (done with it)
 *   or `requeue` (ready again, before every entry with a higher seq).
 * - `purge` drops every ready entry (not the ones out for delivery) and returns how many.
 * - `readyBytes` counts body bytes of ready entries.
 *
 * Implementations: `segment/segment-queue-store.ts` (the broker's: a durable log for durable
 * queues, or memory that pages to disk) and `memory/memory-queue-store.ts`. Both run the same
 * test suite, queue-store.contract.ts. `priority-queue-store.ts` composes one store per priority
 * level (x-max-priority) and runs it too; there, the order rules and `seq` hold within a level.
 */
export interface QueueStore {
  readonly readyCount: number;
  readonly readyBytes: number;
  push(message: Message): void;
  shift(): QueueEntry | undefined;
  /** The entry `shift` would return next, left in place (TTL checks look at the head). */
  peek(): QueueEntry | undefined;
  requeue(entry: QueueEntry): void;
  ack(entry: QueueEntry): void;
  purge(): number;
  /** The queue is deleted: release everything the store holds (files included). */
  destroy(): void;
  /** The broker stops: write out what is buffered and close files; the messages stay for the next start. */
  close(): void;
}
