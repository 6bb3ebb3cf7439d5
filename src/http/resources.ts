/**
 * The JSON shape of each broker object in the management API, with RabbitMQ's field names for the
 * fields tools read. One serializer per kind, used by every endpoint that shows that kind, so a
 * field (and, later, `message_stats`) is added in one place.
 */
import { createHash } from 'node:crypto';
import type { Binding, Exchange } from '../core/exchange/exchange.js';
import type { Queue } from '../core/queue/queue.js';
import type { VirtualHost } from '../core/vhost.js';
import type { ApiContext } from './api-context.js';
import type { Json } from './json-values.js';
import { tableToJson } from './json-values.js';

type Obj = { [key: string]: Json };

/** Per-message overhead of an entry held in memory (object, position, flags): an estimate. */
const ENTRY_OVERHEAD = 160;
const QUEUE_OVERHEAD = 2048;
/** A queue keeps at most this many ready bytes in memory; the rest waits on disk (design-notes.md). */
const READY_IN_MEMORY_CAP = 16 * 1024 * 1024;
const READY_ENTRIES_IN_MEMORY_CAP = 16384;

export function queueJson(ctx: ApiContext, q: Queue): Obj {
  const ready = q.messageCount;
  const unacked = q.unackedCount;
  const list = q.consumerList;
  const exclusiveConsumer = list.all.find((c) => c.exclusive);
  const out: Obj = {
    name: q.name,
    vhost: q.vhost,
    durable: q.durable,
    auto_delete: q.autoDelete,
    exclusive: q.exclusive,
    arguments: tableToJson(q.arguments),
    node: ctx.node,
    type: 'classic',
    state: 'running',
    consumers: list.all.length,
    exclusive_consumer_tag: exclusiveConsumer ? exclusiveConsumer.tag : null,
    messages: ready + unacked,
    messages_ready: ready,
    messages_unacknowledged: unacked,
    message_bytes_ready: q.store.readyBytes,
    memory: queueMemoryEstimate(q),
    effective_policy_definition: q.policy ? (q.policy.toJSON().definition as Obj) : {},
  };
  if (list.singleActive) out.single_active_consumer_tag = list.active?.tag ?? null;
  if (q.policy) out.policy = q.policy.name;
  addStats(out, ctx.messageStats?.queue(q));
  return out;
}

/**
 * Bytes of heap the queue holds, estimated: ready messages are in memory only up to the queue's
 * in-memory window, the rest are on disk; entries out for delivery are in memory.
 */
export function queueMemoryEstimate(q: Queue): number {
  const ready = q.messageCount;
  const inMemoryEntries = Math.min(ready, READY_ENTRIES_IN_MEMORY_CAP) + q.unackedCount;
  return QUEUE_OVERHEAD + inMemoryEntries * ENTRY_OVERHEAD + Math.min(q.store.readyBytes, READY_IN_MEMORY_CAP);
}

export function exchangeJson(ex: Exchange): Obj {
  const out: Obj = {
    name: ex.name,
    vhost: ex.vhost,
    type: ex.type,
    durable: ex.durable,
    auto_delete: ex.autoDelete,
    internal: ex.internal,
    arguments: tableToJson(ex.arguments),
  };
  if (ex.policy) out.policy = ex.policy.name;
  return out;
}

export function vhostJson(ctx: ApiContext, v: VirtualHost): Obj {
  let ready = 0;
  let unacked = 0;
  for (const q of v.queues.values()) {
    ready += q.messageCount;
    unacked += q.unackedCount;
  }
  const out: Obj = {
    name: v.name,
    description: v.description,
    tags: [...v.tags],
    metadata: { description: v.description, tags: [...v.tags], ...(v.defaultQueueType ? { default_queue_type: v.defaultQueueType } : {}) },
    default_queue_type: 'classic',
    tracing: v.trace.switchedOn,
    cluster_state: { [ctx.node]: 'running' },
    messages: ready + unacked,
    messages_ready: ready,
    messages_unacknowledged: unacked,
  };
  addStats(out, ctx.messageStats?.vhost(v));
  return out;
}

/** The binding as RabbitMQ lists it; `properties_key` names it in /api/bindings/…/{props} paths. */
export function bindingJson(b: Binding): Obj {
  return bindingFields(b.source.vhost, b.source.name, b.destination.name, b.destination.kind, b.routingKey, tableToJson(b.arguments));
}

/**
 * The default exchange's implicit binding to each queue (routing key = queue name): RabbitMQ lists
 * them, and tools expect them in a queue's bindings.
 */
export function defaultBindingJson(q: Queue): Obj {
  return bindingFields(q.vhost, '', q.name, 'queue', q.name, {});
}

function bindingFields(vhost: string, source: string, destination: string, destinationType: string, routingKey: string, args: Obj): Obj {
  return {
    source, vhost, destination, destination_type: destinationType, routing_key: routingKey, arguments: args,
    properties_key: propertiesKey(routingKey, args),
  };
}

/**
 * A binding's name within its (source, destination) pair: the routing key alone when there are
 * no arguments ("~" for an empty key), else the key, "~", and a digest of the arguments. The
 * digest need not match RabbitMQ's: clients read properties_key from a listing and send it back.
 */
export function propertiesKey(routingKey: string, args: Obj): string {
  const keys = Object.keys(args);
  if (keys.length === 0) return routingKey === '' ? '~' : routingKey;
  const canonical = JSON.stringify(keys.sort().map((k) => [k, args[k]]));
  return `${routingKey}~${createHash('sha256').update(canonical).digest('base64url').slice(0, 22)}`;
}

function addStats(out: Obj, stats: Record<string, unknown> | undefined): void {
  if (stats) out.message_stats = stats as Obj;
}

