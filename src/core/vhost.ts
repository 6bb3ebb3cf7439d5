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
import type { PolicyInput } from './policy/policy.js';
import { Policy } from './policy/policy.js';
import { PolicySet } from './policy/policy-set.js';
import type { QueueEvents, QueueOptions } from './queue/queue.js';
import { Queue } from './queue/queue.js';
import type { DeathReason } from './queue/dead-letter.js';
import { deadLetteredMessage, isDeathCycle } from './queue/dead-letter.js';
import { integerArg, typeName, validateQueueArguments } from './queue/queue-arguments.js';
import { Message } from './message.js';
import { Router } from './router.js';
import { TRACE_EXCHANGE, TraceSwitch } from './trace.js';
import type { DedupJournal } from './queue/deduplication.js';
import { Deduplicator, parseDeduplicationArgs } from './queue/deduplication.js';
import { VhostStats } from './stats/counters.js';
import { ACCESS_REFUSED, COMMAND_INVALID, NOT_FOUND, PRECONDITION_FAILED, RESOURCE_LOCKED } from './reply-codes.js';

/** What a vhost needs from its broker: stores for new queues (and delayed exchanges), and a note when durable topology changed. */
export interface VhostHost {
  /** `maxPriority` 1..255: a priority queue (x-max-priority); 0 or absent: a plain one. */
  createQueueStore(vhost: string, queue: string, durable: boolean, maxPriority?: number): QueueStore;
  /** The deduplication journal of a durable queue (its keys across restarts). */
  openDedupJournal(vhost: string, queue: string): DedupJournal;
  /** The pending-message store of a delayed-message exchange. */
  openDelayStore(vhost: string, exchange: string, durable: boolean, onDue: (message: Message) => void): DelayStore;
  /** Users, vhosts, permissions, policies changed, or a durable object is deleted: saved before the call returns. */
  definitionsChanged(): void;
  /** A durable exchange, queue or binding was added, or a binding removed: saved before the next reply leaves. */
  topologyChanged(): void;
}

/** A permission check run by a declare: throws to refuse. `isNew`: the declare would create the object. */
export type DeclareGuard = (name: string, isNew: boolean) => void;

const log = createLogger('vhost');

/** Every vhost's amq.* exchanges: name, type, internal (the firehose's is internal, as in RabbitMQ). */
const PREDECLARED: [string, string, boolean][] = [
  ['amq.direct', 'direct', false], ['amq.fanout', 'fanout', false], ['amq.topic', 'topic', false],
  ['amq.headers', 'headers', false], ['amq.match', 'headers', false], [TRACE_EXCHANGE, 'topic', true],
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
  /** Operator metadata, kept as RabbitMQ keeps it (management API, definitions); no effect on behaviour. */
  description = '';
  tags: string[] = [];
  defaultQueueType: string | undefined;
  /**
   * Firehose tracing is on (core/trace.ts): the publish and deliver paths test this one field.
   * Set only through `trace` (the operator's switch, or live trace streams).
   */
  tracing = false;
  readonly trace = new TraceSwitch((on) => (this.tracing = on));
  /** Publisher-side counters and deleted queues' counters (core/stats/counters.ts). */
  readonly stats = new VhostStats();
  readonly #policies = new PolicySet();
  readonly #host: VhostHost;
  #stopped = false;
  // Scratch space reused by every route() call: no allocation per publish.
  readonly #router: Router;
  readonly #dueQueues = new Set<Queue>();

  constructor(name: string, host: VhostHost) {
    this.name = name;
    this.#host = host;
    this.#router = new Router(this.exchanges);
    this.defaultExchange = new DefaultExchange(name, this.queues);
    this.exchanges.set('', this.defaultExchange);
    for (const [exName, type, internal] of PREDECLARED) {
      this.exchanges.set(exName, createExchange(type, name, exName, { durable: true, autoDelete: false, internal, arguments: {} }));
    }
  }

  // ---- exchanges ----

  getExchange(name: string): Exchange {
    const ex = this.exchanges.get(name);
    if (!ex) throw new BrokerError(NOT_FOUND, `no exchange '${name}' in vhost '${this.name}'`);
    return ex;
  }

  /**
   * exchange.declare. `authorize` (the caller's permission check) runs once the declare is known to
   * be valid, before anything changes, told whether the exchange would be new.
   */
  declareExchange(name: string, type: string, options: ExchangeOptions, passive: boolean, authorize?: DeclareGuard): Exchange {
    const existing = this.exchanges.get(name);
    if (passive) {
      if (!existing) throw new BrokerError(NOT_FOUND, `no exchange '${name}' in vhost '${this.name}'`);
      return existing;
    }
    if (name === '') throw new BrokerError(ACCESS_REFUSED, 'operation not permitted on the default exchange');
    // The type is checked before equivalence, as RabbitMQ does: an unknown type is 503 either way.
    if (!isExchangeType(type)) throw new BrokerError(COMMAND_INVALID, `unknown exchange type '${type}'`);
    const ae = options.arguments['alternate-exchange'];
    if (ae !== undefined && typeof ae !== 'string' && !Buffer.isBuffer(ae)) {
      throw new BrokerError(PRECONDITION_FAILED, `invalid type '${typeName(ae)}' for arg 'alternate-exchange' in exchange '${name}' in vhost '${this.name}'`);
    }
    authorize?.(name, existing === undefined);
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
    const policy = this.#policies.match('exchange', name);
    if (policy) ex.applyPolicy(policy);
    this.exchanges.set(name, ex);
    if (ex.durable) this.#host.topologyChanged();
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
    // Definitions first (saved now), as for queues: a crash in between leaves an orphaned directory, removed at start.
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
   * when it is exclusive, and only it may use an exclusive queue. `authorize` (the caller's
   * permission check) runs, for a non-passive declare, on the final name (server-named queues
   * included) before anything changes, told whether the queue would be new.
   */
  declareQueue(name: string, options: Omit<QueueOptions, 'owner'>, passive: boolean, requester: object | null,
    authorize?: DeclareGuard): Queue {
    const existing = this.queues.get(name);
    if (passive) {
      if (!existing) throw new BrokerError(NOT_FOUND, `no queue '${name}' in vhost '${this.name}'`);
      this.#checkOwner(existing, requester);
      existing.touch();
      return existing;
    }
    if (existing) {
      authorize?.(name, false);
      this.#checkOwner(existing, requester);
      // An exclusive-flag mismatch is a locking error (405), not an equivalence one (406), in RabbitMQ.
      if (existing.exclusive !== options.exclusive) throw this.#locked(existing);
      const what = `queue '${name}'`;
      assertEquivalent(what, this.name, 'durable', options.durable, existing.durable);
      assertEquivalent(what, this.name, 'auto_delete', options.autoDelete, existing.autoDelete);
      assertArgsEquivalent(what, this.name, QUEUE_CHECKED_ARGS, options.arguments, existing.arguments);
      existing.touch();
      return existing;
    }
    if (name === '') name = serverQueueName();
    else if (name.startsWith('amq.')) {
      throw new BrokerError(ACCESS_REFUSED, `queue name '${name}' contains reserved prefix 'amq.*'`);
    }
    authorize?.(name, true);
    // Only a new queue's arguments are validated, as in RabbitMQ: an existing one gets the equivalence check.
    validateQueueArguments(options.arguments, name, this.name);
    // 406 for bad deduplication arguments before anything is made.
    const dedup = parseDeduplicationArgs(options.arguments, name, this.name);
    const store = this.#host.createQueueStore(this.name, name, options.durable && !options.exclusive,
      integerArg(options.arguments['x-max-priority']) ?? 0);
    const q = new Queue(this.name, name, { ...options, owner: options.exclusive ? requester : null }, store, this);
    if (dedup) {
      // Durable queues keep their keys in a journal beside their messages.
      q.deduplicator = new Deduplicator(dedup, options.durable && !options.exclusive ? this.#host.openDedupJournal(this.name, name) : null);
    }
    const policy = this.#policies.match(QUEUE_TARGET, name);
    if (policy) q.applyPolicy(policy);
    this.queues.set(name, q);
    this.stats.queuesCreated++;
    if (q.durable && !q.exclusive) this.#host.topologyChanged();
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
    this.stats.queueDeleted(q.stats);
    for (const b of [...q.inbound]) {
      b.source.removeBinding(b);
      this.#maybeAutoDeleteExchange(b.source);
    }
    // Definitions first, saved now (not coalesced): a crash in between leaves an orphaned message
    // directory, which the next start removes, never a queue that comes back with part of the
    // messages of a deleted one.
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

  /** The broker stops: queue timers (TTL, x-expires) go, and nothing they would do happens later. */
  stopTimers(): void {
    this.#stopped = true;
    for (const q of this.queues.values()) q.stopTimers();
  }

  queueExpired(queue: Queue): void {
    if (this.#stopped) return;
    log.debug('queue expired (x-expires)', { vhost: this.name, queue: queue.name });
    this.removeQueue(queue);
  }

  /**
   * Republishes a message a queue let go (rejected, expired, over its length or delivery limit) to
   * the queue's dead-letter exchange, as RabbitMQ does: at most once, without confirms; dropped
   * when the exchange does not exist, and not delivered back into a queue of an automatic cycle.
   */
  deadLetter(queue: Queue, message: Message, reason: DeathReason): void {
    if (this.#stopped) return;
    const { deadLetterExchange, deadLetterRoutingKey } = queue.settings;
    const ex = this.exchanges.get(deadLetterExchange!);
    if (!ex) {
      log.debug('dead-letter exchange missing; message dropped', { vhost: this.name, queue: queue.name, exchange: deadLetterExchange });
      return;
    }
    const copy = deadLetteredMessage(message, queue.name, reason, ex.name, deadLetterRoutingKey, Date.now());
    // Not the channels' shared scratch set: dead-lettering runs while a publish's queues are enqueued.
    const targets = new Set<Queue>();
    this.route(ex, copy, targets);
    for (const q of targets) {
      if (isDeathCycle(copy, q.name)) {
        log.debug('dead-letter cycle; message dropped', { vhost: this.name, queue: q.name });
        continue;
      }
      q.enqueue(copy);
    }
  }

  /** Only the connection that declared an exclusive queue may use it (405 RESOURCE_LOCKED). */
  #checkOwner(q: Queue, owner: object | null): void {
    if (q.owner !== null && q.owner !== owner) throw this.#locked(q);
  }

  #locked(q: Queue): BrokerError {
    return new BrokerError(RESOURCE_LOCKED,
      `cannot obtain exclusive access to locked queue '${q.name}' in vhost '${this.name}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`);
  }

  /** The operator's tracing switch (management API, definitions): durable, unlike RabbitMQ's trace_on. */
  setTracing(on: boolean): void {
    if (this.trace.switchedOn === on) return;
    this.trace.set(on);
    this.#host.definitionsChanged();
  }

  // ---- policies ----

  /**
   * Creates or replaces a policy (validated first: a bad one changes nothing) and re-applies
   * policies to every queue and exchange of this vhost, as RabbitMQ does when a policy is set.
   * Policies are durable whatever the objects they match.
   */
  setPolicy(input: PolicyInput): Policy {
    const policy = new Policy(this.name, input);
    this.#policies.set(policy);
    this.#reapplyPolicies();
    this.#host.definitionsChanged();
    return policy;
  }

  /** Deletes a policy (404 NOT_FOUND when there is none) and re-applies policies. */
  deletePolicy(name: string): void {
    if (!this.#policies.delete(name)) throw new BrokerError(NOT_FOUND, `no policy '${name}' in vhost '${this.name}'`);
    this.#reapplyPolicies();
    this.#host.definitionsChanged();
  }

  getPolicy(name: string): Policy | undefined {
    return this.#policies.get(name);
  }

  /** This vhost's policies, by name. */
  listPolicies(): Policy[] {
    return this.#policies.list();
  }

  /** Gives every queue and exchange the policy that now applies to it, touching only those whose policy changed. */
  #reapplyPolicies(): void {
    for (const q of this.queues.values()) {
      const p = this.#policies.match(QUEUE_TARGET, q.name);
      if (p !== q.policy) q.applyPolicy(p);
    }
    for (const ex of this.exchanges.values()) {
      const p = this.#policies.match('exchange', ex.name);
      if (p !== ex.policy) ex.applyPolicy(p);
    }
  }

  // ---- bindings ----

  bind(source: Exchange, destination: Destination, routingKey: string, args: FieldTable): void {
    if (source === this.defaultExchange || destination === this.defaultExchange) {
      throw new BrokerError(ACCESS_REFUSED, `operation not permitted on the default exchange`);
    }
    if (source.type === 'headers') matchMode(args);
    const added = source.bind(destination, routingKey, args);
    if (added && source.durable && isDurable(destination)) this.#host.topologyChanged();
  }

  unbind(source: Exchange, destination: Destination, routingKey: string, args: FieldTable): void {
    if (source === this.defaultExchange || destination === this.defaultExchange) {
      throw new BrokerError(ACCESS_REFUSED, `operation not permitted on the default exchange`);
    }
    const removed = source.unbind(destination, routingKey, args);
    if (!removed) return; // unbinding a missing binding succeeds, as in RabbitMQ 3.x
    if (source.durable && isDurable(destination)) this.#host.topologyChanged();
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
    this.#router.route(exchange, message, out);
  }

  /**
   * The vhost is being deleted (Broker.deleteVhost): every queue goes with its messages (their
   * consumers are cancelled) and every exchange with what it holds (a delayed exchange's pending
   * messages). The broker has already dropped the vhost from the definitions.
   */
  destroy(): void {
    for (const q of [...this.queues.values()]) this.removeQueue(q);
    for (const ex of [...this.exchanges.values()]) {
      this.exchanges.delete(ex.name);
      ex.clearBindings();
      ex.destroy();
    }
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
      this.stats.routed += out.size;
      for (const q of out) q.enqueue(message);
    } finally {
      out.clear();
    }
  }
}

/** Every Warren queue is a classic queue (there are no quorum queues or streams yet). */
const QUEUE_TARGET = 'classic_queue';

function isDurable(d: Destination): boolean {
  return d.kind === 'queue' ? d.durable && !d.exclusive : d.durable;
}

/** Server-named queues: `amq.gen-` and 22 url-safe random characters, like RabbitMQ's. */
export function serverQueueName(): string {
  return `amq.gen-${randomBytes(16).toString('base64url')}`;
}
