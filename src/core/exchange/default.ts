import type { Message } from '../message.js';
import type { Queue } from '../queue/queue.js';
import type { Destination } from './exchange.js';
import { Exchange } from './exchange.js';

/**
 * The default exchange (""): every queue is implicitly bound to it by its own name (§3.1.3.1).
 * It cannot be bound to, unbound from, or deleted; the vhost enforces that.
 */
export class DefaultExchange extends Exchange {
  readonly type = 'direct';
  readonly #queues: ReadonlyMap<string, Queue>;

  constructor(vhost: string, queues: ReadonlyMap<string, Queue>) {
    super(vhost, '', { durable: true, autoDelete: false, internal: false, arguments: {} });
    this.#queues = queues;
  }

  route(message: Message, out: Destination[]): void {
    const q = this.#queues.get(message.routingKey);
    if (q) out.push(q);
  }

  protected addIndex(): void {
    throw new Error('the default exchange has no explicit bindings');
  }

  protected removeIndex(): void {}
}
