import type { FieldTable } from '../../protocol/amqp/codec/field-table.js';
import type { QueueEntry, QueueStore } from '../../store/queue-store.js';
import { BrokerError } from '../broker-error.js';
import type { Binding } from '../exchange/exchange.js';
import type { Message } from '../message.js';
import { effectiveQueueArguments } from '../policy/effective-arguments.js';
import type { Policy } from '../policy/policy.js';
import { ACCESS_REFUSED } from '../reply-codes.js';
import type { Consumer } from './consumer.js';
import { ConsumerList } from './consumer-list.js';
import type { DeathReason } from './dead-letter.js';
import { withDeliveryCount } from './delivery-count.js';
import { ExpiryTimer, messageExpiresAt } from './expiry-timer.js';
import type { QueueSettings } from './queue-arguments.js';
import { queueSettings } from './queue-arguments.js';
import type { Deduplicator } from './deduplication.js';
import { QueueStats } from '../stats/counters.js';

export interface QueueOptions {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** The connection that owns an exclusive queue (null otherwise). Compared by identity. */
  owner: object | null;
  /** Not a queue of the vhost: a delayed exchange's parking queue (not traced or counted as a route). */
  internal?: boolean;
}

/** What a queue tells its vhost. */
export interface QueueEvents {
  /** It lost its last consumer (auto-delete). */
  lastConsumerGone(queue: Queue): void;
  /** It was unused for its x-expires time. */
  queueExpired(queue: Queue): void;
  /** A message leaves it for its dead-letter exchange (the queue has one). */
  deadLetter(queue: Queue, message: Message, reason: DeathReason): void;
}

/**
 * A queue: the store of ready messages plus the consumers it delivers to, as long as they can
 * accept (prefetch, socket backpressure). Entries out for delivery are counted here and tracked by
 * whoever holds them (the AMQP channel), which returns them through ack(), reject() or requeue().
 *
 * RabbitMQ's queue features live here, driven by `settings` (x-arguments merged with the policy):
 * message TTL (expired at the head, by one timer), length limits with their overflow behaviour,
 * dead-lettering, the delivery limit, queue expiry, and (in ConsumerList) consumer priorities and
 * single active consumer.
 */
export class Queue {
  readonly kind = 'queue' as const;
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
  readonly owner: object | null;
  readonly internal: boolean;
  readonly inbound = new Set<Binding>();
  readonly store: QueueStore;
  readonly consumerList = new ConsumerList();
  settings: QueueSettings;
  unackedCount = 0;
  deleted = false;
  /** The policy applying to this queue (set by its vhost). */
  policy: Policy | undefined = undefined;
  /** Set by the vhost at declare when x-message-deduplication is on. */
  deduplicator: Deduplicator | null = null;
  /** Message statistics: `publish` counted here, deliveries and acks by the front-end (core/stats/counters.ts). */
  readonly stats = new QueueStats();
  readonly #events: QueueEvents;
  #draining = false;
  #hadConsumer = false;
  /** Fires when the head may have expired (message TTLs). */
  readonly #expiry: ExpiryTimer;
  /** x-max-length or x-max-length-bytes is set (one test on the publish path). */
  #limited = false;
  /** Some ready message may carry a TTL: the head is checked after deliveries. */
  #mayExpire = false;
  /** x-expires: deletes the queue once unused for that long. */
  #unusedTimer: NodeJS.Timeout | undefined;
  #unusedSince = 0;
  /** The message being enqueued while the enqueue drains: it goes to a waiting consumer whatever its TTL. */
  #arriving: Message | null = null;

  constructor(vhost: string, name: string, options: QueueOptions, store: QueueStore, events: QueueEvents) {
    this.vhost = vhost;
    this.name = name;
    this.durable = options.durable;
    this.exclusive = options.exclusive;
    this.autoDelete = options.autoDelete;
    this.arguments = options.arguments;
    this.owner = options.owner;
    this.internal = options.internal === true;
    this.store = store;
    this.#events = events;
    this.#expiry = new ExpiryTimer(this);
    this.settings = queueSettings(options.arguments);
    this.#settingsChanged();
  }

  get messageCount(): number {
    return this.store.readyCount;
  }

  get consumers(): readonly Consumer[] {
    return this.consumerList.all;
  }

  get consumerCount(): number {
    return this.consumerList.all.length;
  }

  /**
   * The policy applying to this queue changed (or is set at declare): its effective settings are
   * recomputed and apply from now on (a lower length limit drops at once, a TTL expires the head).
   */
  applyPolicy(policy: Policy | undefined): void {
    this.policy = policy;
    this.settings = queueSettings(effectiveQueueArguments(this.arguments, policy));
    this.#settingsChanged();
  }

  #settingsChanged(): void {
    this.#limited = this.settings.maxLength !== undefined || this.settings.maxLengthBytes !== undefined;
    this.consumerList.singleActive = this.settings.singleActiveConsumer;
    if (this.settings.messageTtl !== undefined) this.#mayExpire = true;
    this.#enforceLengthLimit();
    this.expireHead();
    this.touch();
  }

  /**
   * Takes a routed message. Returns false when the queue refuses it (x-overflow reject-publish or
   * reject-publish-dlx at its length limit): a confirming publisher then gets a nack.
   */
  enqueue(message: Message): boolean {
    const s = this.settings;
    if (this.#limited && s.overflow !== 'drop-head' && this.#isFullFor(message)) {
      if (s.overflow === 'reject-publish-dlx') this.#deadLetter(message, 'maxlen');
      return false;
    }
    // A duplicate is not enqueued, yet accepted (its publisher gets an ack): the queue has it already.
    if (this.deduplicator !== null && !this.deduplicator.admit(message)) return true;
    this.store.push(message);
    this.stats.publish++;
    if (s.messageTtl !== undefined || message.ttl >= 0) {
      this.#mayExpire = true;
      this.#expiry.schedule(messageExpiresAt(message, s.messageTtl));
    }
    // With older messages waiting, the last drain already found no consumer able to take more;
    // capacity coming back (ack, qos, socket drain) drains again. So only a first message drains.
    if (this.consumerList.all.length > 0 && this.store.readyCount === 1) {
      // A message that can be delivered at once is, even with TTL 0 (RabbitMQ's rule).
      this.#arriving = message;
      this.drain();
      this.#arriving = null;
    }
    if (this.#limited) this.#enforceLengthLimit();
    return true;
  }

  /** basic.get: the next ready entry, now out for delivery (ack or requeue it). */
  get(): QueueEntry | undefined {
    this.touch();
    const entry = this.#nextLive();
    if (entry) this.unackedCount++;
    if (this.#mayExpire) this.expireHead();
    return entry;
  }

  ack(entry: QueueEntry): void {
    this.unackedCount--;
    this.store.ack(entry);
    this.deduplicator?.release(entry.message); // the message left for good
  }

  /** basic.reject / nack without requeue: done with it, and dead-lettered when the queue has a DLX. */
  reject(entry: QueueEntry): void {
    this.unackedCount--;
    // A message of a deleted queue went with it (RabbitMQ): a late reject dead-letters nothing.
    if (this.deleted) return;
    this.#discard(entry, 'rejected');
  }

  requeue(entry: QueueEntry): void {
    this.returnEntry(entry);
    if (this.consumerList.all.length > 0) this.drain();
  }

  /**
   * Puts an entry back without delivering yet: callers returning a batch (nack multiple, channel
   * close) return all of it first and drain once, so the batch goes out again in its own order.
   * With a delivery limit, each return counts, and one return too many dead-letters the message.
   */
  returnEntry(entry: QueueEntry): void {
    this.unackedCount--;
    if (this.deleted) return;
    const limit = this.settings.deliveryLimit;
    if (limit !== undefined) {
      const count = (entry.deliveryCount ?? 0) + 1;
      entry.deliveryCount = count;
      if (count > limit) return this.#discard(entry, 'delivery_limit');
      entry.message = withDeliveryCount(entry.message, count);
    }
    this.store.requeue(entry);
    const expiresAt = messageExpiresAt(entry.message, this.settings.messageTtl);
    if (expiresAt !== Infinity) {
      this.#mayExpire = true;
      this.#expiry.schedule(expiresAt);
    }
    // A requeue can take the queue over its length limit: drop-head applies then too, as in RabbitMQ.
    if (this.#limited) this.#enforceLengthLimit();
  }

  purge(): number {
    this.deduplicator?.purged();
    return this.store.purge();
  }

  /** Throws 403 when the queue has an exclusive consumer, or `exclusive` is asked of a used queue. */
  assertCanConsume(exclusive: boolean): void {
    const all = this.consumerList.all;
    // A single-active-consumer queue never takes an exclusive consumer (RabbitMQ refuses it outright).
    if ((exclusive && this.settings.singleActiveConsumer) || (all.length > 0 && (exclusive || all.some((c) => c.exclusive)))) {
      throw new BrokerError(ACCESS_REFUSED, `queue '${this.name}' in vhost '${this.vhost}' in exclusive use`);
    }
  }

  /** Adds a consumer (call assertCanConsume first) and starts delivering to it. */
  addConsumer(consumer: Consumer): void {
    this.assertCanConsume(consumer.exclusive);
    this.consumerList.add(consumer);
    this.#hadConsumer = true;
    this.#stopUnusedTimer();
    this.drain();
  }

  removeConsumer(consumer: Consumer): void {
    if (!this.consumerList.remove(consumer)) return;
    if (this.consumerList.all.length > 0) {
      // Single active consumer: the next one takes over with what is ready.
      this.drain();
      return;
    }
    if (this.autoDelete && this.#hadConsumer && !this.deleted) this.#events.lastConsumerGone(this);
    else this.touch();
  }

  /**
   * Delivers ready entries to consumers that can accept (the ConsumerList decides who: priority,
   * round-robin, single active), until the queue is empty or no consumer can take more. Consumers
   * call it again when they regain capacity (ack, qos, socket drain).
   */
  drain(): void {
    if (this.#draining || this.deleted) return;
    this.#draining = true;
    try {
      const list = this.consumerList;
      while (this.store.readyCount > 0 && list.all.length > 0) {
        const consumer = list.nextAccepting();
        if (!consumer) break;
        const entry = this.#nextLive();
        if (!entry) break;
        this.unackedCount++;
        consumer.deliver(this, entry);
        if (consumer.noAck) this.ack(entry);
      }
    } finally {
      this.#draining = false;
    }
    if (this.#mayExpire) this.expireHead();
  }

  /** The next ready entry that has not expired; expired ones on the way are dropped or dead-lettered. */
  #nextLive(): QueueEntry | undefined {
    for (;;) {
      const entry = this.store.shift();
      if (!entry || !this.#mayExpire || entry.message === this.#arriving) return entry;
      if (messageExpiresAt(entry.message, this.settings.messageTtl) >= Date.now()) return entry;
      this.#discard(entry, 'expired');
    }
  }

  /**
   * Drops or dead-letters expired messages at the head, then arms the timer for the new head. As
   * in RabbitMQ's classic queues, only the head is looked at: a message with a short per-message
   * TTL behind a longer-lived one goes when it reaches the head (or is skipped at delivery).
   */
  expireHead(): void {
    if (!this.#mayExpire || this.deleted) return;
    const ttl = this.settings.messageTtl;
    const now = Date.now();
    for (let head = this.store.peek(); head; head = this.store.peek()) {
      const at = messageExpiresAt(head.message, ttl);
      if (at >= now) {
        if (at !== Infinity) this.#expiry.schedule(at);
        return;
      }
      this.#discard(this.store.shift()!, 'expired');
    }
    // Empty: nothing can expire until a message with a TTL arrives.
    this.#mayExpire = ttl !== undefined;
  }

  /** The message leaves the queue for good: dead-lettered (when the queue has a DLX) and forgotten. */
  #discard(entry: QueueEntry, reason: DeathReason): void {
    // Forgotten (its deduplication key freed) before dead-lettering: a DLX may route it back here.
    this.store.ack(entry);
    this.deduplicator?.release(entry.message);
    this.#deadLetter(entry.message, reason);
  }

  #deadLetter(message: Message, reason: DeathReason): void {
    if (this.settings.deadLetterExchange !== undefined) this.#events.deadLetter(this, message, reason);
  }

  /** RabbitMQ counts only ready messages against x-max-length(-bytes). */
  #isFullFor(message: Message): boolean {
    const s = this.settings;
    return (s.maxLength !== undefined && this.store.readyCount >= s.maxLength) ||
      (s.maxLengthBytes !== undefined && this.store.readyBytes + message.body.length > s.maxLengthBytes);
  }

  /** drop-head: the oldest ready messages make room (dead-lettered with reason maxlen). */
  #enforceLengthLimit(): void {
    const s = this.settings;
    if (s.overflow !== 'drop-head') return;
    const store = this.store;
    while (store.readyCount > 0 &&
      ((s.maxLength !== undefined && store.readyCount > s.maxLength) ||
       (s.maxLengthBytes !== undefined && store.readyBytes > s.maxLengthBytes))) {
      this.#discard(store.shift()!, 'maxlen');
    }
  }

  /**
   * x-expires: the queue was used (declared, consumed from, got from). RabbitMQ deletes a queue
   * that has had no consumers and no such use for its expiry time.
   */
  touch(): void {
    this.#stopUnusedTimer();
    const expires = this.settings.expires;
    if (expires === undefined || this.deleted || this.consumerList.all.length > 0) return;
    this.#unusedSince = Date.now();
    this.#armUnusedTimer(expires);
  }

  /** setTimeout cannot wait longer than about 24.8 days: longer expiries wait in steps. */
  #armUnusedTimer(remaining: number): void {
    this.#unusedTimer = setTimeout(checkUnused, Math.min(remaining, MAX_TIMER_MS), this);
    this.#unusedTimer.unref();
  }

  /** @internal the x-expires timer fired: expire the queue, or wait the rest of its time. */
  unusedTimerFired(): void {
    this.#unusedTimer = undefined;
    const expires = this.settings.expires;
    if (expires === undefined || this.deleted || this.consumerList.all.length > 0) return;
    const remaining = this.#unusedSince + expires - Date.now();
    if (remaining > 0) return this.#armUnusedTimer(remaining);
    this.#events.queueExpired(this);
  }

  #stopUnusedTimer(): void {
    if (this.#unusedTimer) clearTimeout(this.#unusedTimer);
    this.#unusedTimer = undefined;
  }

  /** The queue is being deleted: cancel consumers, drop messages. Returns the ready count. */
  destroy(): number {
    this.deleted = true;
    this.#expiry.stop();
    this.#stopUnusedTimer();
    const count = this.store.readyCount;
    for (const c of this.consumerList.clear()) c.cancelledByServer(this);
    this.store.destroy();
    this.deduplicator?.destroy(); // the keys and their journal go with the queue
    return count;
  }

  /** The broker stops: timers go (the messages stay in the store). */
  stopTimers(): void {
    this.#expiry.stop();
    this.#stopUnusedTimer();
  }
}

const MAX_TIMER_MS = 0x7fffffff;

function checkUnused(queue: Queue): void {
  queue.unusedTimerFired();
}
