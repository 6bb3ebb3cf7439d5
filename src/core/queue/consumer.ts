import type { QueueEntry } from '../../store/queue-store.js';
import type { Queue } from './queue.js';

/**
 * A queue's view of a consumer. Protocol front-ends implement it (the AMQP channel's consumers);
 * the queue decides who gets the next message, the consumer decides whether it can take one.
 */
export interface Consumer {
  readonly tag: string;
  /** Auto-ack: the queue forgets an entry as soon as it is delivered. */
  readonly noAck: boolean;
  readonly exclusive: boolean;
  /** x-priority: higher-priority consumers get messages first (0 by default). */
  readonly priority: number;
  /** Prefetch and socket backpressure allow one more delivery right now. */
  canAccept(): boolean;
  /** Takes an entry the queue has shifted for it. Must not call back into the queue's drain. */
  deliver(queue: Queue, entry: QueueEntry): void;
  /** The queue is going away under the consumer (deleted): tell the client if it can be told. */
  cancelledByServer(queue: Queue): void;
}
