import { randomBytes } from 'node:crypto';
import type { FieldTable } from '../protocol/amqp/codec/field-table.js';
import type { DelayStore } from '../store/delayed/delay-store.js';
import type { QueueStore } from '../store/queue-store.js';
import { createLogger } from '../log.js';
import { BrokerError } from './broker-error.js';
import { assertArgsEquivalent, assertEquivalent, EXCHANGE_CHECKED_ARGS, QUEUE_CHECKED_ARGS } from './equivalence.js';
import { DefaultExchange } from './exchange/default.js';
import type { DelayedExchangeHost } from './exchange/delayed.js';
import type { Destination, Exchange, ExchangeOptions } from './exchange/exchange.js';
import { createExchange, isExchangeType } from './exchange/exchange-types.js';
import { matchMode } from './exchange/headers.js';
import type { Message } from './message.js';
import type { QueueEvents, QueueOptions } from './queue/queue.js';
import { Queue } from './queue/queue.js';
import { ACCESS_REFUSED, COMMAND_INVALID, NOT_FOUND, PRECONDITION_FAILED, RESOURCE_LOCKED } from './reply-codes.js';

/** What a vhost needs from its broker: stores for new queues (and delayed exchanges), and a note when durable topology changed. */
export interface VhostHost {
  createQueueStore(vhost: string, queue: string, durable: boolean): QueueStore;
  openDelayStore(vhost: string, exchange: string, durable: boolean, onDue: (message: Message) => void): DelayStore;
  definitionsChanged(): void;
}

const log = createLogger('vhost');

const PREDECLARED: [string, string][] = [
  ['amq.direct', 'direct'], ['amq.fanout', 'fanout'], ['amq.topic', 'topic'],
  ['amq.headers', 'headers'], ['amq.match', 'headers'],
];

/**
 * A virtual host: its exchanges, queues and bindings. It is the owner of all three (design.md:
 * broker → vhost → exchange/queue); connections hold references and ask the vhost for changes.
 */
export class VirtualHost implements QueueEvents, DelayedExchangeHost {
  readonly name: string;
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  readonly defaultExchange: DefaultExchange;
  readonly #host: VhostHost;
  // Scratch space reused by every route() call: no allocation per publish.
  readonly #destinations: Destination[] = [];
  readonly #visited = new Set<Exchange>();
  readonly #dueQueues = new Set<Queue>();

  constructor(name: string, host: VhostHost) {
    this.name = name;
    this.#host = host;
    this.defaultExchange = new DefaultExchange(name, this.queues);
    this.exchanges.set('', this.defaultExchange);
    for (const [exName, type] of PREDECLARED) {
      this.exchanges.set(exName, createExchange(type, name, exName, { durable: true, autoDelete: false, internal: false, arguments: {} }));
    }
  }

  // ---- exchanges ----

  getExchange(name: string): Exchange {
    const ex = this.exchanges.get(name);
    if (!ex) throw new BrokerError(NOT_FOUND, `no exchange '${name}' in vhost '${this.name}'`);
    return ex;
  }

  declareExchange(name: string, type: string, options: ExchangeOptions, passive: boolean): Exchange {
    const existing = this.exchanges.get(name);
    if (passive) {
      if (!existing) throw new BrokerError(NOT_FOUND, `no exchange '${name}' in vhost '${this.name}'`);
      return existing;
    }
    if (name === '') throw new BrokerError(ACCESS_REFUSED, 'operation not permitted on the default exchange');
    // The type is checked before equivalence, as RabbitMQ does: an unknown type is 503 either way.
    if (!isExchangeType(type)) throw new BrokerError(COMMAND_INVALID, `unknown exchange type '${type}'`);
    if (existing) {
      const what = `exchange '${name}'`;
      assertEquivalent(what, this.name, 'type', type, existing.type);
      assertEquivalent(what, this.name, 'durable', options.durable, existing.durable);
      assertEquivalent(what, this.name, 'auto_delete', options.autoDelete, existing.autoDelete);
      assertEquivalent(what, this.name, 'internal', options.internal, existing.internal);
      assertArgsEquivalent(what, this.name, EXCHANGE_CHECKED_ARGS, options.arguments, existing.arguments);
      return existing;
    }
    if (name.startsWith('amq.')) {
      throw new BrokerError(ACCESS_REFUSED, `exchange name '${name}' contains reserved prefix 'amq.*'`);
    }
    const ex = createExchange(type, this.name, name, options, this);
    this.exchanges.set(name, ex);
    if (ex.durable) this.#host.definitionsChanged();
    return ex;
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    if (name === '' || name.startsWith('amq.')) {
      throw new BrokerError(ACCESS_REFUSED, `operation not permitted on exchange '${name}' in vhost '${this.name}'`);
    }
    const ex = this.exchanges.get(name);
    if (!ex) return; // deleting a missing exchange succeeds, as in RabbitMQ 3.x
    // RabbitMQ: "in use" means having bindings as the source; being a destination does not count.
    if (ifUnused && ex.bindingCount > 0) {
      throw new BrokerError(PRECONDITION_FAILED, `exchange '${name}' in vhost '${this.name}' in use`);
    }
    this.#removeExchange(ex);
  }

  #removeExchange(ex: Exchange): void {
    this.exchanges.delete(ex.name);
    // Only a source exchange auto-deletes (when it loses its last binding); destinations do not.
    ex.clearBindings();
    for (const b of [...ex.inbound]) {
      b.source.removeBinding(b);
      this.#maybeAutoDeleteExchange(b.source);
    }
    // Definitions first, as for queues: a crash in between leaves an orphaned directory, removed at start.
    if (ex.durable) this.#host.definitionsChanged();
    ex.destroy();
  }

  // ---- queues ----

  getQueue(name: string, owner: object | null): Queue {
    const q = this.queues.get(name);
    if (!q) throw new BrokerError(NOT_FOUND, `no queue '${name}' in vhost '${this.name}'`);
    this.#checkOwner(q, owner);
    return q;
  }

  /**
   * queue.declare. `requester` is the connection asking (compared by identity): it owns the queue
   * when it is exclusive, and only it may use an exclusive queue.
   */
  declareQueue(name: string, options: Omit<QueueOptions, 'owner'>, passive: boolean, requester: object | null): Queue {
    const existing = this.queues.get(name);
    if (passive) {
      if (!existing) throw new BrokerError(NOT_FOUND, `no queue '${name}' in vhost '${this.name}'`);
      this.#checkOwner(existing, requester);
      return existing;
    }
    if (existing) {
      this.#checkOwner(existing, requester);
      // An exclusive-flag mismatch is a locking error (405), not an equivalence one (406), in RabbitMQ.
      if (existing.exclusive !== options.exclusive) throw this.#locked(existing);
      const what = `queue '${name}'`;
      assertEquivalent(what, this.name, 'durable', options.durable, existing.durable);
      assertEquivalent(what, this.name, 'auto_delete', options.autoDelete, existing.autoDelete);
      assertArgsEquivalent(what, this.name, QUEUE_CHECKED_ARGS, options.arguments, existing.arguments);
      return existing;
    }
    if (name === '') name = serverQueueName();
    else if (name.startsWith('amq.')) {
      throw new BrokerError(ACCESS_REFUSED, `queue name '${name}' contains reserved prefix 'amq.*'`);
    }
    warnUnenforced(this.name, name, options.arguments);
    const store = this.#host.createQueueStore(this.name, name, options.durable && !options.exclusive);
    const q = new Queue(this.name, name, { ...options, owner: options.exclusive ? requester : null }, store, this);
    this.queues.set(name, q);
    if (q.durable && !q.exclusive) this.#host.definitionsChanged();
    return q;
  }

  /** Deletes a queue; returns the number of ready messages it dropped. */
  deleteQueue(name: string, ifUnused: boolean, ifEmpty: boolean, owner: object | null): number {
    const q = this.queues.get(name);
    if (!q) return 0; // idempotent, as in RabbitMQ 3.x
    this.#checkOwner(q, owner);
    if (ifUnused && q.consumerCount > 0) {
      throw new BrokerError(PRECONDITION_FAILED, `queue '${name}' in vhost '${this.name}' in use`);
    }
    if (ifEmpty && q.messageCount > 0) {
      throw new BrokerError(PRECONDITION_FAILED, `queue '${name}' in vhost '${this.name}' is not empty`);
    }
    return this.removeQueue(q);
  }

  removeQueue(q: Queue): number {
    if (this.queues.get(q.name) !== q) return 0;
    this.queues.delete(q.name);
    for (const b of [...q.inbound]) {
      b.source.removeBinding(b);
      this.#maybeAutoDeleteExchange(b.source);
    }
    // Definitions first: a crash in between leaves an orphaned message directory, which the next
    // start removes, never a queue that comes back with the messages of a deleted one.
    if (q.durable && !q.exclusive) this.#host.definitionsChanged();
    return q.destroy();
  }

  /** Exclusive queues die with the connection that declared them. */
  removeQueuesOwnedBy(owner: object): void {
    for (const q of [...this.queues.values()]) if (q.owner === owner) this.removeQueue(q);
  }

  lastConsumerGone(queue: Queue): void {
    this.removeQueue(queue);
  }

  /** Only the connection that declared an exclusive queue may use it (405 RESOURCE_LOCKED). */
  #checkOwner(q: Queue, owner: object | null): void {
    if (q.owner !== null && q.owner !== owner) throw this.#locked(q);
  }

  #locked(q: Queue): BrokerError {
    return new BrokerError(RESOURCE_LOCKED,
      `cannot obtain exclusive access to locked queue '${q.name}' in vhost '${this.name}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`);
  }

  // ---- bindings ----

  bind(source: Exchange, destination: Destination, routingKey: string, args: FieldTable): void {
    if (source === this.defaultExchange || destination === this.defaultExchange) {
      throw new BrokerError(ACCESS_REFUSED, `operation not permitted on the default exchange`);
    }
    if (source.type === 'headers') matchMode(args);
    const added = source.bind(destination, routingKey, args);
    if (added && source.durable && isDurable(destination)) this.#host.definitionsChanged();
  }

  unbind(source: Exchange, destination: Destination, routingKey: string, args: FieldTable): void {
    if (source === this.defaultExchange || destination === this.defaultExchange) {
      throw new BrokerError(ACCESS_REFUSED, `operation not permitted on the default exchange`);
    }
    const removed = source.unbind(destination, routingKey, args);
    if (!removed) return; // unbinding a missing binding succeeds, as in RabbitMQ 3.x
    if (source.durable && isDurable(destination)) this.#host.definitionsChanged();
    this.#maybeAutoDeleteExchange(source);
  }

  #maybeAutoDeleteExchange(ex: Exchange): void {
    if (ex.autoDelete && ex.bindingCount === 0 && this.exchanges.get(ex.name) === ex) this.#removeExchange(ex);
  }

  // ---- routing ----

  /**
   * Adds to `out` every queue the message reaches from `exchange`, following exchange-to-exchange
   * bindings once each (a cycle of exchanges cannot loop). `out` is a caller-owned scratch set.
   */
  route(exchange: Exchange, message: Message, out: Set<Queue>): void {
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
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      if (d.kind === 'queue') out.add(d);
      else if (!visited.has(d)) {
        visited.add(d);
        d.route(message, dests);
      }
    }
    dests.length = 0;
  }

  // ---- delayed-message exchanges (exchange/delayed.ts) ----

  openDelayStore(exchange: string, durable: boolean, onDue: (message: Message) => void): DelayStore {
    return this.#host.openDelayStore(this.name, exchange, durable, onDue);
  }

  /** A delayed message is due: routed from its exchange as route() does, into the queues it reaches now. */
  routeDue(exchange: Exchange, message: Message): void {
    const out = this.#dueQueues;
    try {
      this.route(exchange, message, out);
      for (const q of out) q.enqueue(message);
    } finally {
      out.clear();
    }
  }
}

/**
 * Queue arguments Warren accepts and stores (and checks on re-declare) but does not act on yet;
 * they arrive with the queue-features work. Saying so beats silently behaving differently.
 */
const UNENFORCED_QUEUE_ARGS = [
  'x-message-ttl', 'x-expires', 'x-max-length', 'x-max-length-bytes', 'x-overflow',
  'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-priority',
  'x-single-active-consumer', 'x-delivery-limit',
];

function warnUnenforced(vhost: string, queue: string, args: FieldTable): void {
  const ignored = UNENFORCED_QUEUE_ARGS.filter((k) => Object.hasOwn(args, k));
  if (ignored.length > 0) log.warn('queue arguments not enforced yet', { vhost, queue, arguments: ignored });
}

function isDurable(d: Destination): boolean {
  return d.kind === 'queue' ? d.durable && !d.exclusive : d.durable;
}

/** Server-named queues: `amq.gen-` and 22 url-safe random characters, like RabbitMQ's. */
export function serverQueueName(): string {
  return `amq.gen-${randomBytes(16).toString('base64url')}`;
}
