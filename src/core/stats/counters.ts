import type { History } from './history.js';

/*
 * Message statistics, as RabbitMQ's `message_stats`. The counters are plain integer fields that
 * the hot paths (publish, deliver, ack) increment directly: no lookups, closures or allocations per
 * message (design.md, "Hot-path discipline"). Everything else (totals, rates, history) is derived
 * at read time or by the sampler every few seconds, off the hot path.
 *
 * Who counts what:
 * - a queue counts what enters it (Queue.enqueue: `publish`, whatever brought the message: a
 *   publisher, dead-lettering, a delayed exchange);
 * - the protocol front-end counts what its clients take and settle (deliver, get, redeliver,
 *   ack), on the queue's and on its channel's counters, because only it knows the ack mode;
 * - the channel counts publisher-side events (received, routed, confirmed, returned, dropped) on
 *   its own counters and on its vhost's.
 * Per-vhost and broker-wide totals of the queue counters are sums over the queues plus the
 * counters of deleted queues (VhostStats.retired), so they never go backwards.
 */

/** One queue's counters (RabbitMQ's queue message_stats). */
export class QueueStats {
  /** Messages that entered the queue (routed into it). */
  publish = 0;
  /** Delivered to consumers in manual-ack mode. */
  deliver = 0;
  /** Delivered to consumers in auto-ack (no-ack) mode. */
  deliverNoAck = 0;
  /** Fetched with basic.get in manual-ack mode. */
  get = 0;
  /** Fetched with basic.get in no-ack mode. */
  getNoAck = 0;
  /** Deliveries and gets of messages delivered before. */
  redeliver = 0;
  /** Acknowledged by clients (no-ack deliveries are not counted). */
  ack = 0;
  /** Sampled values, for rates (set by the sampler). */
  history: History | null = null;
}

/** A delivery to a consumer, on the queue's and the channel's counters (hot path: small enough for V8 to inline). */
export function countDelivery(q: QueueStats, ch: QueueStats, noAck: boolean, redelivered: boolean): void {
  if (noAck) {
    q.deliverNoAck++;
    ch.deliverNoAck++;
  } else {
    q.deliver++;
    ch.deliver++;
  }
  if (redelivered) {
    q.redeliver++;
    ch.redeliver++;
  }
}

/** A basic.get that returned a message, on the queue's and the channel's counters. */
export function countGet(q: QueueStats, ch: QueueStats, noAck: boolean, redelivered: boolean): void {
  if (noAck) {
    q.getNoAck++;
    ch.getNoAck++;
  } else {
    q.get++;
    ch.get++;
  }
  if (redelivered) {
    q.redeliver++;
    ch.redeliver++;
  }
}

/** One channel's counters: its deliveries as a queue counts them, plus what its client published. */
export class ChannelStats extends QueueStats {
  // `publish` here is what the client published on the channel (RabbitMQ's channel message_stats).
  confirm = 0;
  returnUnroutable = 0;
  dropUnroutable = 0;
}

/** What only a vhost counts: publisher-side events (the channels add to them) and queue churn. */
export class VhostStats {
  /** Messages received from publishers, routable or not (RabbitMQ: messages_received). */
  publishIn = 0;
  /** Of those, received on channels in confirm mode. */
  publishInConfirm = 0;
  /** Queue copies routed: a message reaching three queues counts three (RabbitMQ: messages_routed). */
  routed = 0;
  confirm = 0;
  returnUnroutable = 0;
  dropUnroutable = 0;
  queuesCreated = 0;
  queuesDeleted = 0;
  /** The counters of the vhost's deleted queues, kept in its totals. */
  readonly retired = new QueueStats();
  history: History | null = null;

  /** A queue is deleted: its counters stay in the vhost's totals. */
  queueDeleted(q: QueueStats): void {
    this.queuesDeleted++;
    addQueueStats(this.retired, q);
  }
}

/** A connection's counters. Bytes are read from the socket, which counts them anyway. */
export class ConnectionStats {
  readonly channels = new Set<ChannelStats>();
  channelsOpened = 0;
  history: History | null = null;
  readonly #socket: { readonly bytesRead: number; readonly bytesWritten: number };

  constructor(socket: { readonly bytesRead: number; readonly bytesWritten: number }) {
    this.#socket = socket;
  }

  get recvOct(): number {
    return this.#socket.bytesRead;
  }

  get sendOct(): number {
    return this.#socket.bytesWritten;
  }
}

/** Totals over a vhost or the whole broker: the queue counters summed, plus the vhost counters. */
export interface MessageTotals {
  publish: number;
  deliver: number;
  deliverNoAck: number;
  get: number;
  getNoAck: number;
  redeliver: number;
  ack: number;
  publishIn: number;
  publishInConfirm: number;
  routed: number;
  confirm: number;
  returnUnroutable: number;
  dropUnroutable: number;
}

export function emptyTotals(): MessageTotals {
  return { publish: 0, deliver: 0, deliverNoAck: 0, get: 0, getNoAck: 0, redeliver: 0, ack: 0,
    publishIn: 0, publishInConfirm: 0, routed: 0, confirm: 0, returnUnroutable: 0, dropUnroutable: 0 };
}

export function addQueueStats(into: QueueStats | MessageTotals, q: QueueStats): void {
  into.publish += q.publish;
  into.deliver += q.deliver;
  into.deliverNoAck += q.deliverNoAck;
  into.get += q.get;
  into.getNoAck += q.getNoAck;
  into.redeliver += q.redeliver;
  into.ack += q.ack;
}

export function addVhostStats(into: MessageTotals, v: VhostStats): void {
  addQueueStats(into, v.retired);
  into.publishIn += v.publishIn;
  into.publishInConfirm += v.publishInConfirm;
  into.routed += v.routed;
  into.confirm += v.confirm;
  into.returnUnroutable += v.returnUnroutable;
  into.dropUnroutable += v.dropUnroutable;
}

/** A counter's property and its RabbitMQ message_stats name. */
export interface Field<T> {
  readonly key: keyof T & string;
  readonly name: string;
}

function fields<T>(pairs: [keyof T & string, string][]): readonly Field<T>[] {
  return pairs.map(([key, name]) => ({ key, name }));
}

export const QUEUE_FIELDS = fields<QueueStats>([
  ['publish', 'publish'], ['deliver', 'deliver'], ['deliverNoAck', 'deliver_no_ack'], ['get', 'get'],
  ['getNoAck', 'get_no_ack'], ['redeliver', 'redeliver'], ['ack', 'ack'],
]);

export const CHANNEL_FIELDS = fields<ChannelStats>([
  ...QUEUE_FIELDS.map((f): [keyof ChannelStats & string, string] => [f.key, f.name]),
  ['confirm', 'confirm'], ['returnUnroutable', 'return_unroutable'], ['dropUnroutable', 'drop_unroutable'],
]);

/** Vhost and broker totals. `publish` is the queue copies (as the queues count them); `publish_in` is what publishers sent. */
export const TOTAL_FIELDS = fields<MessageTotals>([
  ...QUEUE_FIELDS.map((f): [keyof MessageTotals & string, string] => [f.key as keyof MessageTotals & string, f.name]),
  ['publishIn', 'publish_in'], ['publishInConfirm', 'publish_in_confirm'], ['routed', 'routed'], ['confirm', 'confirm'],
  ['returnUnroutable', 'return_unroutable'], ['dropUnroutable', 'drop_unroutable'],
]);

export const CONNECTION_FIELDS = fields<ConnectionStats>([['recvOct', 'recv_oct'], ['sendOct', 'send_oct']]);
