import { Message } from './message.js';
import type { Destination, Exchange } from './exchange/exchange.js';
import type { Queue } from './queue/queue.js';
import { ccAndBccKeys, withoutBcc } from './sender-selected.js';

/**
 * A vhost's routing: from an exchange to the set of queues a message reaches, following
 * exchange-to-exchange bindings once each, alternate exchanges, and CC/BCC keys. The scratch
 * array and set are reused by every call: no allocation per publish (route() is not re-entered:
 * exchanges only list destinations, they never enqueue).
 */
export class Router {
  readonly #exchanges: ReadonlyMap<string, Exchange>;
  readonly #destinations: Destination[] = [];
  readonly #visited = new Set<Exchange>();

  constructor(exchanges: ReadonlyMap<string, Exchange>) {
    this.#exchanges = exchanges;
  }

  /** Adds to `out` every queue the message reaches from `exchange` (`out` is the caller's scratch set). */
  route(exchange: Exchange, message: Message, out: Set<Queue>): void {
    if (!message.mayHaveCcOrBcc) return this.#routeOnce(exchange, message, out, true);
    // Sender-selected distribution: the CC and BCC header keys route like extra routing keys; the
    // alternate exchange is for a message none of them routes.
    const { keys, hasBcc } = ccAndBccKeys(message);
    this.#routeOnce(exchange, message, out, false);
    for (const key of keys) {
      this.#routeOnce(exchange, new Message(message.exchange, key, message.rawProperties, message.body, message.timestamp), out, false);
    }
    if (out.size === 0) this.#routeOnce(exchange, message, out, true);
    if (hasBcc) withoutBcc(message); // no consumer learns of the other recipients
  }

  /**
   * One routing key through `exchange` and the exchanges bound to it. An exchange whose own
   * bindings lead nowhere hands the message to its alternate exchange (when `alternates`), as
   * RabbitMQ does; an exchange already visited is skipped, so cycles end.
   */
  #routeOnce(exchange: Exchange, message: Message, out: Set<Queue>, alternates: boolean): void {
    const dests = this.#destinations;
    dests.length = 0;
    exchange.route(message, dests);
    if (dests.length === 1 && dests[0]!.kind === 'queue') {
      out.add(dests[0] as Queue);
      return;
    }
    const visited = this.#visited;
    visited.clear();
    visited.add(exchange);
    if (dests.length === 0 && alternates) this.#pushAlternate(exchange, dests);
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      if (d.kind === 'queue') out.add(d);
      else if (!visited.has(d)) {
        visited.add(d);
        const before = dests.length;
        d.route(message, dests);
        if (dests.length === before && alternates) this.#pushAlternate(d, dests);
      }
    }
    dests.length = 0;
  }

  #pushAlternate(ex: Exchange, dests: Destination[]): void {
    // The argument, or else the exchange's policy (Exchange.applyPolicy).
    const name = ex.alternateExchange;
    if (name === undefined) return;
    const ae = this.#exchanges.get(name);
    if (ae && !this.#visited.has(ae)) dests.push(ae);
  }
}
