import type { FieldTable, FieldValue } from '../../protocol/amqp/codec/field-table.js';
import type { BasicProperties } from '../../protocol/amqp/codec/properties.js';
import { encodeProperties } from '../../protocol/amqp/codec/properties.js';
import { Message } from '../message.js';

/** Why a queue dead-letters a message: RabbitMQ's reason names, as they appear in `x-death`. */
export type DeathReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

/**
 * The message a queue republishes to its dead-letter exchange, built as RabbitMQ builds it:
 * - `x-death` is an array of tables, most recent first, one per (queue, reason): dying again in the
 *   same queue for the same reason increments that entry's `count` and moves it to the front; a new
 *   entry has count, reason, queue, time, exchange, routing-keys (the routing key plus any CC keys)
 *   and original-expiration when the message had a per-message TTL;
 * - `x-first-death-reason/queue/exchange` are set by the first death only, and
 *   `x-last-death-reason/queue/exchange` by every death (RabbitMQ 3.13+);
 * - the `expiration` property is removed (kept in original-expiration) so the copy does not expire
 *   again on the same TTL;
 * - it is published to the dead-letter exchange with the dead-letter routing key when the queue
 *   has one (CC then no longer applies), else with its own routing key and CC keys.
 * Nothing else changes: the body and the other properties are the publisher's.
 */
export function deadLetteredMessage(message: Message, queue: string, reason: DeathReason,
  deadLetterExchange: string, deadLetterRoutingKey: string | undefined, now: number): Message {
  const props: BasicProperties = { ...message.properties };
  const headers: FieldTable = { ...props.headers };
  const deaths = Array.isArray(headers['x-death']) ? [...headers['x-death']] : [];
  const i = deaths.findIndex((d) => isTable(d) && d['queue'] === queue && d['reason'] === reason);
  if (i >= 0) {
    const entry = { ...(deaths[i] as FieldTable) };
    entry['count'] = BigInt(countOf(entry['count'])) + 1n;
    deaths.splice(i, 1);
    deaths.unshift(entry);
  } else {
    const entry: FieldTable = {
      count: 1n, reason, queue, time: new Date(now), exchange: message.exchange,
      'routing-keys': [message.routingKey, ...stringList(headers['CC'])],
    };
    if (props.expiration !== undefined) entry['original-expiration'] = props.expiration;
    deaths.unshift(entry);
  }
  headers['x-death'] = deaths;
  if (headers['x-first-death-reason'] === undefined) {
    headers['x-first-death-reason'] = reason;
    headers['x-first-death-queue'] = queue;
    headers['x-first-death-exchange'] = message.exchange;
  }
  headers['x-last-death-reason'] = reason;
  headers['x-last-death-queue'] = queue;
  headers['x-last-death-exchange'] = message.exchange;
  if (deadLetterRoutingKey !== undefined) delete headers['CC'];
  props.headers = headers;
  delete props.expiration;
  return new Message(deadLetterExchange, deadLetterRoutingKey ?? message.routingKey, encodeProperties(props), message.body, now);
}

/**
 * RabbitMQ's cycle rule: a dead-lettered message is not delivered back to a queue it already died
 * in unless some death on its way was a rejection (a client decided; an automatic loop of TTLs or
 * length limits would spin for ever).
 */
export function isDeathCycle(message: Message, queue: string): boolean {
  const deaths = message.headers?.['x-death'];
  if (!Array.isArray(deaths)) return false;
  // From the newest death back to the newest one in `queue`: a cycle unless a rejection is on the way.
  for (const d of deaths) {
    if (!isTable(d)) continue;
    if (d['reason'] === 'rejected') return false;
    if (d['queue'] === queue) return true;
  }
  return false;
}

/** The CC (or BCC) header as routing keys: RabbitMQ takes an array of strings. */
export function stringList(v: FieldValue | undefined): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) {
    if (typeof x === 'string') out.push(x);
    else if (Buffer.isBuffer(x)) out.push(x.toString('utf8'));
  }
  return out;
}

function isTable(v: FieldValue): v is FieldTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date) && !('type' in v && 'value' in v);
}

function countOf(v: FieldValue | undefined): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'value' in v && typeof v.value !== 'object') return Number(v.value);
  return 0;
}
