import type { FieldTable, FieldValue } from '../../protocol/amqp/codec/field-table.js';
import { fieldString, isTypedValue } from '../../protocol/amqp/codec/field-table.js';
import type { DelayStore } from '../../store/delayed/delay-store.js';
import type { QueueEntry, QueueStore } from '../../store/queue-store.js';
import { BrokerError } from '../broker-error.js';
import { Message } from '../message.js';
import { withBccRestored } from '../sender-selected.js';
import type { QueueEvents } from '../queue/queue.js';
import { Queue } from '../queue/queue.js';
import { PRECONDITION_FAILED } from '../reply-codes.js';
import type { Binding, Destination, ExchangeOptions } from './exchange.js';
import { Exchange } from './exchange.js';
import { matchMode } from './headers.js';

export const DELAYED_TYPE = 'x-delayed-message';
/** Exchange types an x-delayed-message exchange can route by (its `x-delayed-type` argument). */
export const DELAYABLE_TYPES: readonly string[] = ['direct', 'fanout', 'topic', 'headers'];
/** The latest due time a Date can hold (ms since the epoch); longer delays are cut to it. */
const MAX_DUE = 8.64e15;

/** What a delayed exchange needs from its vhost. */
export interface DelayedExchangeHost {
  /** The store of the exchange's pending messages (a durable one recovers what it had). */
  openDelayStore(exchange: string, durable: boolean, onDue: (message: Message) => void): DelayStore;
  /** Routes a due message from `exchange` (its bindings as they are now, then on) into the queues. */
  routeDue(exchange: Exchange, message: Message): void;
}

/**
 * The x-delayed-message exchange (RabbitMQ's rabbitmq-delayed-message-exchange plugin): a message
 * with a positive `x-delay` header (ms) waits in the exchange's store (store/delayed/) and is
 * routed when due, by the bindings the exchange has then, with the rules of its `x-delayed-type`.
 * Without x-delay (or with one ≤ 0, or not a number) a message is routed at once.
 *
 * The routing rules are those of an inner exchange of the delayed type that mirrors the bindings;
 * it is not in the vhost, and the bindings' owner is this exchange.
 *
 * A delayed message is routed, at publish, to a parking queue nobody can see or consume, whose
 * store is the delay store. So the publishing channel treats it like any routed message: it is
 * written before its confirm (the channel waits for the fsync of persistent ones as for a durable
 * queue), and a `mandatory` publish is not returned (the plugin returns every delayed mandatory
 * message as unroutable, even those it delivers later). Nothing can know the routes at publish.
 */
export class DelayedExchange extends Exchange {
  readonly type = DELAYED_TYPE;
  readonly delayedType: string;
  readonly #inner: Exchange;
  readonly #host: DelayedExchangeHost;
  readonly #store: DelayStore;
  readonly #parking: Queue;
  /**
   * A due message is being routed onward (it still carries its x-delay header, and its CC keys
   * are routed as copies): while set, this exchange routes instead of parking.
   */
  #releasing = false;

  constructor(vhost: string, name: string, options: ExchangeOptions, inner: Exchange, host: DelayedExchangeHost) {
    super(vhost, name, options);
    this.delayedType = inner.type;
    this.#inner = inner;
    this.#host = host;
    this.#store = host.openDelayStore(name, options.durable, (m) => this.#release(m));
    this.#parking = new Queue(vhost, `${name} (delayed messages)`,
      { durable: options.durable, exclusive: false, autoDelete: false, arguments: {}, owner: null, internal: true },
      new ParkingStore(this), NO_EVENTS);
  }

  /** Pending delayed messages (see DelayStore.pending). */
  get pending(): number {
    return this.#store.pending;
  }

  get store(): DelayStore {
    return this.#store;
  }

  route(message: Message, out: Destination[]): void {
    if (!this.#releasing && delayOf(message) > 0) out.push(this.#parking);
    else this.#inner.route(message, out);
  }

  override bind(destination: Destination, routingKey: string, args: FieldTable): Binding | undefined {
    // Checked before the binding exists, as the vhost does for a headers exchange.
    if (this.delayedType === 'headers') matchMode(args);
    return super.bind(destination, routingKey, args);
  }

  protected addIndex(binding: Binding): void {
    const mirror = this.#inner.bind(binding.destination, binding.routingKey, binding.arguments);
    // The destination knows the real binding (this exchange's), not its mirror.
    if (mirror) binding.destination.inbound.delete(mirror);
  }

  protected removeIndex(binding: Binding): void {
    this.#inner.unbind(binding.destination, binding.routingKey, binding.arguments);
  }

  override destroy(): void {
    this.#store.destroy();
  }

  /** Called by the parking queue: the message was routed here at publish. */
  park(message: Message): void {
    const now = this.#store.now();
    // Parked as published: its BCC keys (removed by routing at publish) must route when it is due.
    this.#store.add(withBccRestored(message), Math.min(now + delayOf(message), MAX_DUE));
  }

  #release(message: Message): void {
    // It enters its queues now: queue TTLs count from here, as when the plugin publishes it. A
    // new Message: the parked one may be the object another queue got at publish.
    const due = new Message(message.exchange, message.routingKey, message.rawProperties, message.body, this.#store.now());
    this.#releasing = true;
    try {
      this.#host.routeDue(this, due);
    } finally {
      this.#releasing = false;
    }
  }
}

/** The x-delayed-type argument, checked (406 when missing or not a type that can be delayed). */
export function delayedTypeOf(args: FieldTable): string {
  const raw = args['x-delayed-type'];
  if (raw === undefined) throw new BrokerError(PRECONDITION_FAILED, "Invalid argument, 'x-delayed-type' must be specified");
  const type = fieldString(raw);
  if (type === undefined || !DELAYABLE_TYPES.includes(type)) {
    throw new BrokerError(PRECONDITION_FAILED,
      `Invalid argument, 'x-delayed-type' must be an existing exchange type (direct, fanout, topic or headers), not ${JSON.stringify(type ?? String(raw))}`);
  }
  return type;
}

/** The message's x-delay in ms; 0 (route now) when absent, not positive or not a number. */
export function delayOf(message: Message): number {
  const headers = message.headers;
  return headers ? parseDelay(headers['x-delay']) : 0;
}

/**
 * An x-delay value in ms. Integers of any AMQP width (clients pick int, long or short as they
 * please), floats (rounded down) and strings of digits (what the management UI and many HTTP
 * tools send) are accepted; anything else, or a value ≤ 0, means no delay.
 */
export function parseDelay(v: FieldValue | undefined): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const s = fieldString(v)!.trim();
    if (!/^[+-]?\d+$/.test(s)) return 0;
    n = Number(s);
  } else if (isTypedValue(v) && (typeof v.value === 'number' || typeof v.value === 'bigint')) n = Number(v.value);
  else return 0;
  return Number.isFinite(n) && n >= 1 ? Math.min(Math.floor(n), MAX_DUE) : 0;
}

/** The parking queue has no consumers, no expiry and no dead-letter exchange: none of these happen. */
const NO_EVENTS: QueueEvents = { lastConsumerGone(): void {}, queueExpired(): void {}, deadLetter(): void {} };

/** The parking queue's store: pushing a message hands it to the delay store. It never has ready messages. */
class ParkingStore implements QueueStore {
  readonly #exchange: DelayedExchange;

  constructor(exchange: DelayedExchange) {
    this.#exchange = exchange;
  }

  get readyCount(): number {
    return 0;
  }

  get readyBytes(): number {
    return 0;
  }

  push(message: Message): void {
    this.#exchange.park(message);
  }

  shift(): QueueEntry | undefined {
    return undefined;
  }

  peek(): QueueEntry | undefined {
    return undefined;
  }

  requeue(): void {}
  ack(): void {}
  purge(): number {
    return 0;
  }

  destroy(): void {}
  close(): void {}
}
