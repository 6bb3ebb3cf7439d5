/**
 * AMQP values ↔ the JSON the management API speaks: arguments and headers (field tables) and
 * message properties, with RabbitMQ's field names.
 */
import type { FieldTable, FieldValue } from '../protocol/amqp/codec/field-table.js';
import { isTypedValue } from '../protocol/amqp/codec/field-table.js';
import type { BasicProperties } from '../protocol/amqp/codec/properties.js';
import { badRequest } from './errors.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A field value as JSON: numbers of every width as numbers, byte strings as text, timestamps in seconds. */
export function fieldToJson(v: FieldValue): Json {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (Array.isArray(v)) return v.map(fieldToJson);
  if (isTypedValue(v)) {
    const x = v.value;
    if (typeof x === 'number') return x;
    if (typeof x === 'bigint') return Number(x);
    return x.value / 10 ** x.scale;
  }
  return tableToJson(v as FieldTable);
}

export function tableToJson(t: FieldTable | undefined): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (t) for (const [k, v] of Object.entries(t)) out[k] = fieldToJson(v);
  return out;
}

/**
 * A JSON value as a field value. Integers become AMQP integers (the encoder picks 32 or 64 bits),
 * as RabbitMQ turns JSON integers into longs; other numbers become doubles.
 */
export function jsonToField(v: unknown, where: string): FieldValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw badRequest(`${where}: ${v} is not a number AMQP can carry`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => jsonToField(x, `${where}[${i}]`));
  if (typeof v === 'object') return jsonToTable(v, where);
  throw badRequest(`${where}: unsupported value ${JSON.stringify(v)}`);
}

/** An `arguments` (or `headers`) object; absent means empty. */
export function jsonToTable(v: unknown, where: string): FieldTable {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`${where} must be a JSON object`);
  const out: FieldTable = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = jsonToField(x, `${where}.${k}`);
  return out;
}

/** Properties as the management API shows them: only those present, snake_case as RabbitMQ names them. */
export function propertiesToJson(p: BasicProperties): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (p.contentType !== undefined) out.content_type = p.contentType;
  if (p.contentEncoding !== undefined) out.content_encoding = p.contentEncoding;
  if (p.headers !== undefined) out.headers = tableToJson(p.headers);
  if (p.deliveryMode !== undefined) out.delivery_mode = p.deliveryMode;
  if (p.priority !== undefined) out.priority = p.priority;
  if (p.correlationId !== undefined) out.correlation_id = p.correlationId;
  if (p.replyTo !== undefined) out.reply_to = p.replyTo;
  if (p.expiration !== undefined) out.expiration = p.expiration;
  if (p.messageId !== undefined) out.message_id = p.messageId;
  if (p.timestamp !== undefined) out.timestamp = p.timestamp;
  if (p.type !== undefined) out.type = p.type;
  if (p.userId !== undefined) out.user_id = p.userId;
  if (p.appId !== undefined) out.app_id = p.appId;
  if (p.clusterId !== undefined) out.cluster_id = p.clusterId;
  return out;
}

const STRING_PROPS: [string, keyof BasicProperties][] = [
  ['content_type', 'contentType'], ['content_encoding', 'contentEncoding'], ['correlation_id', 'correlationId'],
  ['reply_to', 'replyTo'], ['expiration', 'expiration'], ['message_id', 'messageId'], ['type', 'type'],
  ['user_id', 'userId'], ['app_id', 'appId'], ['cluster_id', 'clusterId'],
];
const OCTET_PROPS: [string, 'deliveryMode' | 'priority'][] = [['delivery_mode', 'deliveryMode'], ['priority', 'priority']];

/** A publish request's `properties`; 400 for unknown names or wrong types. */
export function jsonToProperties(v: unknown): BasicProperties {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest('properties must be a JSON object');
  const src = v as Record<string, unknown>;
  const out: BasicProperties = {};
  const known = new Set(['headers', 'timestamp', ...STRING_PROPS.map((s) => s[0]), ...OCTET_PROPS.map((s) => s[0])]);
  for (const key of Object.keys(src)) if (!known.has(key)) throw badRequest(`properties: unknown property '${key}'`);
  for (const [json, prop] of STRING_PROPS) {
    const x = src[json];
    if (x === undefined) continue;
    if (typeof x !== 'string') throw badRequest(`properties.${json} must be a string`);
    (out as Record<string, unknown>)[prop] = x;
  }
  for (const [json, prop] of OCTET_PROPS) {
    let x = src[json];
    if (x === undefined) continue;
    if (typeof x === 'string' && /^\d+$/.test(x)) x = Number(x); // the web UI sends "2"
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255) throw badRequest(`properties.${json} must be an integer 0..255`);
    out[prop] = x;
  }
  if (src.timestamp !== undefined) {
    if (typeof src.timestamp !== 'number' || !Number.isInteger(src.timestamp) || src.timestamp < 0) {
      throw badRequest('properties.timestamp must be seconds since the epoch');
    }
    out.timestamp = src.timestamp;
  }
  if (src.headers !== undefined) out.headers = jsonToTable(src.headers, 'properties.headers');
  return out;
}
