/**
 * Publishing and getting messages over HTTP (RabbitMQ's …/publish and …/get): meant for testing
 * and operators, not throughput, so each request is handled on its own, without confirms.
 */
import type { Exchange } from '../../core/exchange/exchange.js';
import { expirationProblem, Message } from '../../core/message.js';
import type { Queue } from '../../core/queue/queue.js';
import type { VirtualHost } from '../../core/vhost.js';
import { BrokerError } from '../../core/broker-error.js';
import { ACCESS_REFUSED } from '../../core/reply-codes.js';
import type { TraceOrigin } from '../../core/trace.js';
import { traceDeliver, tracePublish } from '../../core/trace.js';
import { encodeProperties } from '../../protocol/amqp/codec/properties.js';
import type { QueueEntry } from '../../store/queue-store.js';
import type { CommitWaiter, GroupCommit } from '../../store/segment/group-commit.js';
import { stringField } from '../api-context.js';
import { badRequest } from '../errors.js';
import type { Json } from '../json-values.js';
import { jsonToProperties, propertiesToJson } from '../json-values.js';
import { countGet, QueueStats } from '../../core/stats/counters.js';

/**
 * Routes a message given as RabbitMQ's publish body; `routed` when at least one queue took it.
 * Like RabbitMQ's (which publishes with confirms), the answer waits until a persistent message in a
 * durable queue is on disk: `durable` resolves then (false when the disk refused it).
 */
export function publishFromJson(v: VirtualHost, ex: Exchange, body: Record<string, unknown>, user: string,
  commit: GroupCommit): { routed: boolean; durable: Promise<boolean> } {
  const routingKey = stringField(body, 'routing_key');
  // An AMQP routing key is a shortstr: consumers could not be sent a longer one.
  if (Buffer.byteLength(routingKey) > 255) throw badRequest(`routing_key is ${Buffer.byteLength(routingKey)} bytes long; the most is 255`);
  const payload = stringField(body, 'payload');
  const encoding = stringField(body, 'payload_encoding', 'string');
  if (encoding !== 'string' && encoding !== 'base64') throw badRequest(`payload_encoding must be "string" or "base64", got ${JSON.stringify(encoding)}`);
  const props = jsonToProperties(body.properties);
  if (ex.internal) throw new BrokerError(ACCESS_REFUSED, `cannot publish to internal exchange '${ex.name}' in vhost '${v.name}'`);
  // The same checks as an AMQP publish: a valid TTL, and no claiming to be another user.
  if (props.expiration !== undefined) {
    const problem = expirationProblem(props.expiration);
    if (problem) throw badRequest(`invalid expiration '${props.expiration}': ${problem}`);
  }
  if (props.userId !== undefined && props.userId !== user) {
    throw badRequest(`user_id property set to '${props.userId}' but authenticated user was '${user}'`);
  }
  let raw: Buffer;
  try {
    raw = encodeProperties(props);
  } catch (err) {
    throw badRequest(`properties cannot be encoded: ${(err as Error).message}`);
  }
  const message = new Message(ex.name, routingKey, raw, encoding === 'base64' ? Buffer.from(payload, 'base64') : Buffer.from(payload, 'utf8'));
  const targets = new Set<Queue>();
  const writes = commit.writes;
  v.route(ex, message, targets);
  if (v.tracing) tracePublish(v, message, targets, httpOrigin(user));
  // Counted as an AMQP publish is: received, then routed (per queue) or dropped.
  v.stats.publishIn++;
  if (targets.size === 0) v.stats.dropUnroutable++;
  for (const q of targets) {
    q.enqueue(message);
    if (!q.internal) v.stats.routed++;
  }
  const durable = commit.writes === writes ? Promise.resolve(true) : onDisk(commit, commit.epoch);
  return { routed: targets.size > 0, durable };
}

/** Publishes and gets over HTTP, as the firehose names them (RabbitMQ's come from an internal connection). */
function httpOrigin(user: string): TraceOrigin {
  return { user, connection: 'management API', channel: 0 };
}

/** Resolves when the group-commit round covering `epoch` has finished (as a confirm would wait). */
function onDisk(commit: GroupCommit, epoch: number): Promise<boolean> {
  return new Promise((resolve) => {
    const waiter: CommitWaiter = {
      committed(round, ok) {
        if (round < epoch) commit.wait(waiter);
        else resolve(ok);
      },
    };
    commit.wait(waiter);
  });
}

const ACK_MODES = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'] as const;
type AckMode = (typeof ACK_MODES)[number];

/**
 * Takes up to `count` messages as basic.get would, then settles them all by `ackmode`: requeued
 * ones go back together after the last get (so one request sees distinct messages, as in
 * RabbitMQ), marked redelivered; reject_requeue_false dead-letters where the queue has a DLX.
 */
export function getMessages(v: VirtualHost, q: Queue, body: Record<string, unknown>, user: string): Json[] {
  const count = body.count === undefined ? 1 : Number(body.count);
  if (!Number.isInteger(count) || count < 1) throw badRequest('count must be a positive integer');
  let mode = body.ackmode as AckMode | undefined;
  // Before 3.7, RabbitMQ took `requeue: true|false` instead of ackmode; some scripts still send it.
  if (mode === undefined && typeof body.requeue === 'boolean') mode = body.requeue ? 'ack_requeue_true' : 'ack_requeue_false';
  if (mode === undefined || !ACK_MODES.includes(mode)) throw badRequest(`ackmode must be one of ${ACK_MODES.join(', ')}`);
  const encoding = body.encoding ?? 'auto';
  if (encoding !== 'auto' && encoding !== 'base64') throw badRequest('encoding must be "auto" or "base64"');
  let truncate: number | undefined;
  if (body.truncate !== undefined && body.truncate !== null && body.truncate !== '') {
    truncate = Number(body.truncate);
    if (!Number.isInteger(truncate) || truncate < 0) throw badRequest('truncate must be a non-negative integer');
  }

  const taken: { entry: QueueEntry; remaining: number }[] = [];
  for (let i = 0; i < count; i++) {
    const entry = q.get();
    if (!entry) break;
    taken.push({ entry, remaining: q.messageCount });
    countGet(q.stats, HTTP_CHANNEL_STATS, false, entry.redelivered);
    if (v.tracing) traceDeliver(v, q.name, entry.message, entry.redelivered, httpOrigin(user));
  }
  const out = taken.map(({ entry, remaining }) => messageJson(entry, remaining, encoding, truncate));
  const requeue = mode === 'ack_requeue_true' || mode === 'reject_requeue_true';
  for (const { entry } of taken) {
    if (requeue) q.returnEntry(entry);
    else if (mode === 'ack_requeue_false') {
      q.ack(entry);
      q.stats.ack++;
    }
    else q.reject(entry);
  }
  if (requeue && taken.length > 0 && q.consumerCount > 0) q.drain();
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function messageJson(entry: QueueEntry, remaining: number, encoding: 'auto' | 'base64', truncate: number | undefined): Json {
  const m = entry.message;
  const body = truncate !== undefined && m.body.length > truncate ? m.body.subarray(0, truncate) : m.body;
  let payload: string;
  let payloadEncoding = 'string';
  let text: string | undefined;
  if (encoding === 'auto') {
    try {
      text = utf8.decode(body);
    } catch {
      text = undefined;
    }
  }
  if (text !== undefined) payload = text;
  else {
    payload = body.toString('base64');
    payloadEncoding = 'base64';
  }
  return {
    payload_bytes: m.body.length,
    redelivered: entry.redelivered,
    exchange: m.exchange,
    routing_key: m.routingKey,
    message_count: remaining,
    properties: propertiesToJson(m.properties),
    payload,
    payload_encoding: payloadEncoding,
  };
}

/** Gets over HTTP have no AMQP channel: the channel side of the counters goes here (the queue side is what is reported). */
const HTTP_CHANNEL_STATS = new QueueStats();
