import type { FieldTable } from '../../protocol/amqp/codec/field-table.js';
import { tablesEqual } from '../../protocol/amqp/codec/field-table.js';
import type { Message } from '../message.js';
import { effectiveExchangeArguments } from '../policy/effective-arguments.js';
import type { Policy } from '../policy/policy.js';
import type { Queue } from '../queue/queue.js';

/** Where a binding leads: a queue, or another exchange (exchange-to-exchange bindings). */
export type Destination = Queue | Exchange;

export interface Binding {
  readonly source: Exchange;
  readonly destination: Destination;
  readonly routingKey: string;
  readonly arguments: FieldTable;
}

export interface ExchangeOptions {
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}

/**
 * The interface every exchange type implements (one type per file: direct, fanout, topic, headers).
 *
 * Ownership: an exchange owns the bindings whose source it is. Each destination keeps the set of
 * bindings that lead to it (`inbound`), so deleting a queue or exchange can unbind it everywhere.
 * Subclasses keep a routing index beside the binding list and must update it in addIndex/removeIndex.
 */
export abstract class Exchange {
  readonly kind = 'exchange' as const;
  readonly name: string;
  readonly vhost: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
  /** Bindings that have this exchange as destination (exchange-to-exchange). */
  readonly inbound = new Set<Binding>();
  /** The policy applying to this exchange (set by its vhost at declare and when policies change). */
  policy: Policy | undefined = undefined;
  /** The effective alternate exchange: the argument, else the policy's (RabbitMQ's order). */
  alternateExchange: string | undefined;
  abstract readonly type: string;
  // key: destination kind + name + routing key; several bindings differ only in their arguments.
  readonly #bindings = new Map<string, Binding[]>();
  #bindingCount = 0;

  constructor(vhost: string, name: string, options: ExchangeOptions) {
    this.vhost = vhost;
    this.name = name;
    this.durable = options.durable;
    this.autoDelete = options.autoDelete;
    this.internal = options.internal;
    this.arguments = options.arguments;
    this.alternateExchange = alternateExchangeOf(options.arguments);
  }

  /** The policy applying to this exchange changed (or is set at declare). */
  applyPolicy(policy: Policy | undefined): void {
    this.policy = policy;
    this.alternateExchange = alternateExchangeOf(effectiveExchangeArguments(this.arguments, policy));
  }

  /** Adds every destination this message routes to onto `out` (duplicates allowed; callers dedupe). */
  abstract route(message: Message, out: Destination[]): void;
  protected abstract addIndex(binding: Binding): void;
  protected abstract removeIndex(binding: Binding): void;

  get bindingCount(): number {
    return this.#bindingCount;
  }

  *bindings(): IterableIterator<Binding> {
    for (const list of this.#bindings.values()) yield* list;
  }

  /** Adds a binding; returns it, or undefined when an identical binding already existed. */
  bind(destination: Destination, routingKey: string, args: FieldTable): Binding | undefined {
    const key = bindingKey(destination, routingKey);
    let list = this.#bindings.get(key);
    if (list?.some((b) => tablesEqual(b.arguments, args))) return undefined;
    const binding: Binding = { source: this, destination, routingKey, arguments: args };
    if (!list) this.#bindings.set(key, (list = []));
    list.push(binding);
    this.#bindingCount++;
    destination.inbound.add(binding);
    this.addIndex(binding);
    return binding;
  }

  /** Removes a binding; returns it, or undefined when there was none. */
  unbind(destination: Destination, routingKey: string, args: FieldTable): Binding | undefined {
    const key = bindingKey(destination, routingKey);
    const list = this.#bindings.get(key);
    const index = list ? list.findIndex((b) => tablesEqual(b.arguments, args)) : -1;
    if (!list || index < 0) return undefined;
    const [binding] = list.splice(index, 1) as [Binding];
    if (list.length === 0) this.#bindings.delete(key);
    this.#bindingCount--;
    destination.inbound.delete(binding);
    this.removeIndex(binding);
    return binding;
  }

  /** Removes a binding object this exchange owns (used when its destination goes away). */
  removeBinding(binding: Binding): void {
    this.unbind(binding.destination, binding.routingKey, binding.arguments);
  }

  /**
   * The exchange is deleted (its bindings are gone already): release what else it holds. Only
   * the delayed-message exchange holds anything (its pending messages).
   */
  destroy(): void {}

  /** Removes all bindings that have this exchange as source; returns them. */
  clearBindings(): Binding[] {
    const all = [...this.bindings()];
    for (const b of all) this.removeBinding(b);
    return all;
  }
}

function alternateExchangeOf(args: FieldTable): string | undefined {
  const v = args['alternate-exchange'];
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

function bindingKey(destination: Destination, routingKey: string): string {
  return `${destination.kind === 'queue' ? 'q' : 'e'}\u0000${destination.name}\u0000${routingKey}`;
}

/**
 * A reference-counted destination set: two bindings from one exchange to one queue with different
 * arguments (or, for fanout, different keys) must still deliver one copy, and unbinding one of them
 * must keep the other.
 */
export class DestinationCounts {
  readonly #counts = new Map<Destination, number>();

  add(d: Destination): void {
    this.#counts.set(d, (this.#counts.get(d) ?? 0) + 1);
  }

  remove(d: Destination): void {
    const n = (this.#counts.get(d) ?? 0) - 1;
    if (n <= 0) this.#counts.delete(d);
    else this.#counts.set(d, n);
  }

  get size(): number {
    return this.#counts.size;
  }

  pushInto(out: Destination[]): void {
    for (const d of this.#counts.keys()) out.push(d);
  }
}
