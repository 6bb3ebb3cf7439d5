import type { Message } from '../message.js';
import type { Binding, Destination } from './exchange.js';
import { DestinationCounts, Exchange } from './exchange.js';

/** Fanout exchange: routes to every bound destination, ignoring the routing key (§3.1.3.2). */
export class FanoutExchange extends Exchange {
  readonly type = 'fanout';
  readonly #all = new DestinationCounts();

  route(_message: Message, out: Destination[]): void {
    this.#all.pushInto(out);
  }

  protected addIndex(binding: Binding): void {
    this.#all.add(binding.destination);
  }

  protected removeIndex(binding: Binding): void {
    this.#all.remove(binding.destination);
  }
}
