import type { Message } from '../message.js';
import type { Binding, Destination } from './exchange.js';
import { DestinationCounts, Exchange } from './exchange.js';

/** Direct exchange: routes to the bindings whose key equals the routing key (AMQP 0-9-1 §3.1.3.1). */
export class DirectExchange extends Exchange {
  readonly type = 'direct';
  readonly #byKey = new Map<string, DestinationCounts>();

  route(message: Message, out: Destination[]): void {
    this.#byKey.get(message.routingKey)?.pushInto(out);
  }

  protected addIndex(binding: Binding): void {
    let set = this.#byKey.get(binding.routingKey);
    if (!set) this.#byKey.set(binding.routingKey, (set = new DestinationCounts()));
    set.add(binding.destination);
  }

  protected removeIndex(binding: Binding): void {
    const set = this.#byKey.get(binding.routingKey);
    if (!set) return;
    set.remove(binding.destination);
    if (set.size === 0) this.#byKey.delete(binding.routingKey);
  }
}
