import { BrokerError } from '../../core/broker-error.js';
import type { Message } from '../../core/message.js';
import type { Consumer } from '../../core/queue/consumer.js';
import type { Queue } from '../../core/queue/queue.js';
import type { ChannelStats } from '../../core/stats/counters.js';
import { countDelivery, countGet } from '../../core/stats/counters.js';
import type { VirtualHost } from '../../core/vhost.js';
import type { QueueEntry } from '../../store/queue-store.js';
import { NOT_IMPLEMENTED, PRECONDITION_FAILED } from './reply-codes.js';
import { AckTimeout } from './ack-timeout.js';

/** What a delivery needs from its channel. */
export interface DeliveryChannel {
  readonly id: number;
  /** Open, and the socket keeps up. */
  readonly canDeliver: boolean;
  writeDeliver(consumerTag: string, deliveryTag: number, redelivered: boolean, message: Message): void;
  consumerCancelledByServer(consumer: ChannelConsumer): void;
  /** A delivery stayed unacked past the consumer timeout: the channel closes with this error. */
  closeWithError(err: BrokerError): void;
  /** The channel's counters: deliveries and acks are counted here, on it and on the queue. */
  readonly stats: ChannelStats;
  /** Its vhost: `tracing` is tested on each delivery. */
  readonly vhost: VirtualHost;
  /** A delivery went out while the vhost traces (firehose: core/trace.ts). */
  traceDelivery(queue: Queue, entry: QueueEntry): void;
}

/** A message out for delivery on this channel, awaiting ack/nack/reject (`consumer` null for basic.get). */
export interface Unacked {
  readonly tag: number;
  readonly queue: Queue;
  readonly entry: QueueEntry;
  readonly consumer: ChannelConsumer | null;
  /** When it went out (ms since the epoch): the consumer timeout counts from it. */
  readonly at: number;
}

/** A basic.consume subscription: the queue's Consumer, with its own prefetch window. */
export class ChannelConsumer implements Consumer {
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly priority: number;
  readonly queue: Queue;
  /** Per-consumer prefetch (basic.qos global=false at the time of consume); 0 = unlimited. */
  readonly prefetch: number;
  unacked = 0;
  readonly #deliveries: Deliveries;

  constructor(deliveries: Deliveries, queue: Queue, tag: string, noAck: boolean, exclusive: boolean, priority: number) {
    this.#deliveries = deliveries;
    this.queue = queue;
    this.tag = tag;
    this.noAck = noAck;
    this.exclusive = exclusive;
    this.priority = priority;
    this.prefetch = deliveries.consumerPrefetch;
  }

  canAccept(): boolean {
    return this.#deliveries.canAccept(this);
  }

  deliver(queue: Queue, entry: QueueEntry): void {
    this.#deliveries.deliver(this, queue, entry);
  }

  cancelledByServer(): void {
    this.#deliveries.channel.consumerCancelledByServer(this);
  }
}

/**
 * A channel's delivery state (§1.8.3): delivery tags, the messages out for delivery, and the
 * prefetch windows of basic.qos, interpreted as RabbitMQ does (per_consumer_qos): global=false sets
 * the limit of each consumer created afterwards, global=true a limit shared by the whole channel.
 */
export class Deliveries {
  readonly channel: DeliveryChannel;
  /** Map iteration order is insertion order, which is delivery-tag order: "multiple" walks from the front. */
  readonly #unacked = new Map<number, Unacked>();
  #lastTag = 0;
  /** Deliveries acked inside a transaction not yet committed: still count against prefetch. */
  #held = 0;
  consumerPrefetch = 0;
  channelPrefetch = 0;
  readonly #timeout: AckTimeout;
  readonly #stats: ChannelStats;
  readonly #vhost: VirtualHost;

  constructor(channel: DeliveryChannel, consumerTimeout: number) {
    this.channel = channel;
    this.#stats = channel.stats;
    this.#vhost = channel.vhost;
    this.#timeout = new AckTimeout(this, consumerTimeout);
  }

  /** The deliveries still unacked, oldest first (tag order). */
  outstanding(): IterableIterator<Unacked> {
    return this.#unacked.values();
  }

  /** The channel closes: no more timeout checks. */
  stopTimeout(): void {
    this.#timeout.stop();
  }

  get unackedCount(): number {
    return this.#unacked.size;
  }

  canAccept(c: ChannelConsumer): boolean {
    if (!this.channel.canDeliver) return false;
    if (c.noAck) return true;
    if (c.prefetch !== 0 && c.unacked >= c.prefetch) return false;
    return this.channelPrefetch === 0 || this.#unacked.size + this.#held < this.channelPrefetch;
  }

  deliver(c: ChannelConsumer, queue: Queue, entry: QueueEntry): void {
    const tag = ++this.#lastTag;
    countDelivery(queue.stats, this.#stats, c.noAck, entry.redelivered);
    if (!c.noAck) {
      const at = Date.now();
      this.#unacked.set(tag, { tag, queue, entry, consumer: c, at });
      this.#timeout.delivered(queue.settings, at);
      c.unacked++;
    }
    this.channel.writeDeliver(c.tag, tag, entry.redelivered, entry.message);
    if (this.#vhost.tracing) this.channel.traceDelivery(queue, entry);
  }

  /** basic.get: returns the delivery tag; tracks the entry unless no-ack. */
  trackGet(queue: Queue, entry: QueueEntry, noAck: boolean): number {
    const tag = ++this.#lastTag;
    countGet(queue.stats, this.#stats, noAck, entry.redelivered);
    if (noAck) queue.ack(entry);
    else {
      const at = Date.now();
      this.#unacked.set(tag, { tag, queue, entry, consumer: null, at });
      this.#timeout.delivered(queue.settings, at);
    }
    return tag;
  }

  /** A delivery that bypassed any queue (direct reply-to): just a tag. */
  nextTag(): number {
    return ++this.#lastTag;
  }

  /** basic.ack (§1.8.3.13): multiple with tag 0 means every outstanding delivery. */
  ack(tag: number, multiple: boolean): void {
    // The single-tag case is the per-message hot path: settle it without building a list.
    if (multiple) {
      const taken = this.take(tag, true);
      this.#stats.ack += taken.length;
      settleAll(taken, false, false);
    } else {
      settleOne(this.#takeOne(tag), false, false);
      this.#stats.ack++;
    }
  }

  /** basic.nack / basic.reject: requeue puts messages back at their position, redelivered. */
  reject(tag: number, multiple: boolean, requeue: boolean): void {
    if (multiple) settleAll(this.take(tag, true), true, requeue);
    else settleOne(this.#takeOne(tag), true, requeue);
  }

  #takeOne(tag: number): Unacked {
    const u = this.#unacked.get(tag);
    if (!u) throw unknownTag(tag);
    this.#unacked.delete(tag);
    return u;
  }

  /**
   * Removes and returns the deliveries an ack/nack/reject names, throwing 406 for a tag that is
   * not outstanding (never issued, or already settled), as RabbitMQ does at the method itself.
   */
  take(tag: number, multiple: boolean): Unacked[] {
    if (!multiple) return [this.#takeOne(tag)];
    // As RabbitMQ: the named tag itself must be outstanding (0 = all).
    if (tag !== 0 && !this.#unacked.has(tag)) throw unknownTag(tag);
    // Collect first: a requeued message may be redelivered (with a new tag) while we settle.
    const taken: Unacked[] = [];
    for (const [t, u] of this.#unacked) {
      if (tag !== 0 && t > tag) break;
      this.#unacked.delete(t);
      taken.push(u);
    }
    return taken;
  }

  /** A transaction holds taken deliveries until commit (settle) or rollback (restore). */
  hold(taken: Unacked[]): void {
    this.#held += taken.length;
  }

  settleHeld(taken: Unacked[], rejected: boolean, requeue: boolean): void {
    this.#held -= taken.length;
    if (!rejected) this.#stats.ack += taken.length;
    settleAll(taken, rejected, requeue);
  }

  /** tx.rollback: deliveries acked in the transaction are outstanding again, in tag order. */
  restoreHeld(taken: Unacked[]): void {
    this.#held -= taken.length;
    const all = [...this.#unacked.values(), ...taken].sort((a, b) => a.tag - b.tag);
    this.#unacked.clear();
    for (const u of all) this.#unacked.set(u.tag, u);
  }

  /** basic.recover: RabbitMQ only supports requeue=true (redelivery to any consumer). */
  recover(requeue: boolean): void {
    if (!requeue) throw new BrokerError(NOT_IMPLEMENTED, 'requeue=false');
    this.requeueAll();
  }

  /** Returns every outstanding delivery to its queue (channel closed, or recover). */
  requeueAll(): void {
    const all = [...this.#unacked.values()];
    this.#unacked.clear();
    settleAll(all, true, true);
  }
}

function settleOne(u: Unacked, rejected: boolean, requeue: boolean): void {
  if (u.consumer) u.consumer.unacked--;
  if (!rejected) {
    u.queue.stats.ack++;
    u.queue.ack(u.entry);
  } else if (requeue) u.queue.requeue(u.entry);
  else u.queue.reject(u.entry);
}

function settleAll(list: Unacked[], rejected: boolean, requeue: boolean): void {
  if (!(rejected && requeue) || list.length === 1) {
    for (const u of list) settleOne(u, rejected, requeue);
    return;
  }
  // Return the whole batch before any queue delivers again, so it keeps its order.
  const queues = new Set<Queue>();
  for (const u of list) {
    if (u.consumer) u.consumer.unacked--;
    u.queue.returnEntry(u.entry);
    queues.add(u.queue);
  }
  for (const q of queues) q.drain();
}

function unknownTag(tag: number): BrokerError {
  return new BrokerError(PRECONDITION_FAILED, `unknown delivery tag ${tag}`);
}
