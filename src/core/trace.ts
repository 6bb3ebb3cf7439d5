/**
 * Message tracing, as RabbitMQ's firehose: while a vhost's tracing is on, every publish and every
 * delivery sends a copy of the message to the vhost's topic exchange `amq.rabbitmq.trace`, with
 * routing key `publish.<exchange>` or `deliver.<queue>`. The copy carries the original body; its
 * only property is a headers table describing the original (RabbitMQ's names and types):
 *   exchange_name (longstr), routing_keys (array: the routing key, then the CC and BCC keys),
 *   properties (table: the original properties, RabbitMQ's snake_case names), node (longstr),
 *   and for a publish: vhost, connection, channel (signedint), user, routed_queues (array);
 *   for a delivery: redelivered (signedint 0/1), vhost, connection, channel, user.
 *
 * Callers (protocol front-ends) test `vhost.tracing` before calling in: that one field test is all
 * tracing costs while it is off.
 */
import { hostname } from 'node:os';
import type { FieldTable, FieldValue } from '../protocol/amqp/codec/field-table.js';
import type { BasicProperties } from '../protocol/amqp/codec/properties.js';
import { encodeProperties } from '../protocol/amqp/codec/properties.js';
import { createLogger } from '../log.js';
import { Message } from './message.js';
import type { Exchange } from './exchange/exchange.js';
import type { Queue } from './queue/queue.js';
import type { VirtualHost } from './vhost.js';
import { ccAndBccKeys, withBccRestored } from './sender-selected.js';

export const TRACE_EXCHANGE = 'amq.rabbitmq.trace';

/** RabbitMQ-style node name (the `node` header; also what connection.start announces). */
export const NODE_NAME = `warren@${hostname()}`;

const log = createLogger('trace');

/** Who published or received the message: the trace headers name them. */
export interface TraceOrigin {
  readonly user: string;
  /** The connection's name as the management API lists it ("client:port -> server:port"). */
  readonly connection: string;
  readonly channel: number;
}

/**
 * A vhost's tracing state: the operator's switch (durable, in the definitions) and the live trace
 * streams that turned it on for themselves. `apply` receives the effective value, which the vhost
 * keeps in a plain field for the hot paths.
 */
export class TraceSwitch {
  #switch = false;
  #watchers = 0;
  readonly #apply: (on: boolean) => void;

  constructor(apply: (on: boolean) => void) {
    this.#apply = apply;
  }

  /** The operator's switch (management API `tracing`, definitions). */
  get switchedOn(): boolean {
    return this.#switch;
  }

  /** Live trace streams open on the vhost. */
  get watchers(): number {
    return this.#watchers;
  }

  set(on: boolean): void {
    this.#switch = on;
    this.#apply(this.#switch || this.#watchers > 0);
  }

  /** A live trace stream needs copies while it is open; the returned function ends that need (once). */
  watch(): () => void {
    this.#watchers++;
    this.#apply(true);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#watchers--;
      this.#apply(this.#switch || this.#watchers > 0);
    };
  }
}

/** A message was published (after routing, once per publish). `routed`: the queues it reached. */
export function tracePublish(vhost: VirtualHost, message: Message, routed: Iterable<Queue>, origin: TraceOrigin): void {
  const ex = traceExchange(vhost);
  if (!ex || message.exchange === TRACE_EXCHANGE) return;
  const queues: FieldValue[] = [];
  // A delayed message is routed at publish only to its exchange's parking queue: no queue yet, as RabbitMQ reports it.
  for (const q of routed) if (!q.internal) queues.push(q.name);
  emit(vhost, ex, 'publish.', message.exchange, message, {
    vhost: vhost.name, connection: origin.connection, channel: origin.channel, user: origin.user, routed_queues: queues,
  });
}

/** A message went out to a client (basic.deliver or basic.get-ok) from `queue`. */
export function traceDeliver(vhost: VirtualHost, queue: string, message: Message, redelivered: boolean, origin: TraceOrigin): void {
  const ex = traceExchange(vhost);
  // Copies themselves are never traced, wherever they are consumed: no loops, as in RabbitMQ.
  if (!ex || message.exchange === TRACE_EXCHANGE) return;
  emit(vhost, ex, 'deliver.', queue, message, {
    redelivered: redelivered ? 1 : 0, vhost: vhost.name, connection: origin.connection, channel: origin.channel, user: origin.user,
  });
}

/**
 * True while a copy is being routed and enqueued. Enqueueing it can deliver at once, and a
 * pathological set-up (a trace queue dead-lettering into a consumed queue) would trace that
 * delivery, and so on without end on one stack: nested events are dropped instead.
 */
let emitting = false;

/** The vhost's trace exchange when a copy made now could reach anyone. */
function traceExchange(vhost: VirtualHost): Exchange | undefined {
  const ex = vhost.exchanges.get(TRACE_EXCHANGE);
  // Nothing bound: no copy is made (tracing on, nobody listening), and none while one is in flight.
  return ex !== undefined && ex.bindingCount > 0 && !emitting ? ex : undefined;
}

function emit(vhost: VirtualHost, ex: Exchange, prefix: string, name: string, message: Message, extra: FieldTable): void {
  const routingKey = prefix + name;
  // An exchange or queue name of up to 255 bytes plus the prefix may not fit a shortstr routing key.
  if (Buffer.byteLength(routingKey) > 255) {
    log.debug('trace event dropped: routing key too long', { vhost: vhost.name, routingKey: routingKey.slice(0, 40) });
    return;
  }
  emitting = true;
  try {
    const headers: FieldTable = {
      exchange_name: message.exchange,
      routing_keys: routingKeys(message),
      properties: propertiesTable(message.properties),
      node: NODE_NAME,
      ...extra,
    };
    const copy = new Message(TRACE_EXCHANGE, routingKey, encodeProperties({ headers }), message.body);
    // A fresh set: this may run while a publish's shared scratch set is still being enqueued.
    const targets = new Set<Queue>();
    vhost.route(ex, copy, targets);
    for (const q of targets) q.enqueue(copy);
  } finally {
    emitting = false;
  }
}

/** The routing key plus the CC and BCC keys (BCC is gone from the headers by now, but not from the message's routing). */
function routingKeys(message: Message): FieldValue[] {
  const keys: FieldValue[] = [message.routingKey];
  const original = withBccRestored(message);
  if (original.mayHaveCcOrBcc) {
    try {
      for (const k of ccAndBccKeys(original).keys) keys.push(k);
    } catch {
      // Malformed CC/BCC never routes (the publish was refused); nothing to add.
    }
  }
  return keys;
}

/** The original properties as RabbitMQ's firehose tables them: present ones only, strings as longstr, numbers as signedint. */
function propertiesTable(p: BasicProperties): FieldTable {
  const t: FieldTable = {};
  if (p.contentType !== undefined) t.content_type = p.contentType;
  if (p.contentEncoding !== undefined) t.content_encoding = p.contentEncoding;
  if (p.headers !== undefined) t.headers = p.headers;
  if (p.deliveryMode !== undefined) t.delivery_mode = p.deliveryMode;
  if (p.priority !== undefined) t.priority = p.priority;
  if (p.correlationId !== undefined) t.correlation_id = p.correlationId;
  if (p.replyTo !== undefined) t.reply_to = p.replyTo;
  if (p.expiration !== undefined) t.expiration = p.expiration;
  if (p.messageId !== undefined) t.message_id = p.messageId;
  if (p.timestamp !== undefined) t.timestamp = p.timestamp;
  if (p.type !== undefined) t.type = p.type;
  if (p.userId !== undefined) t.user_id = p.userId;
  if (p.appId !== undefined) t.app_id = p.appId;
  if (p.clusterId !== undefined) t.cluster_id = p.clusterId;
  return t;
}
