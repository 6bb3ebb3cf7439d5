import type { FieldTable, FieldValue } from '../protocol/amqp/codec/field-table.js';
import { tablesEqual } from '../protocol/amqp/codec/field-table.js';
import { BrokerError } from './broker-error.js';
import { PRECONDITION_FAILED } from './reply-codes.js';

/**
 * Re-declaring an existing queue or exchange must use equivalent settings, or the declare fails
 * with 406 PRECONDITION_FAILED naming the first setting that differs (RabbitMQ's wording).
 */
export function assertEquivalent(what: string, vhost: string, arg: string, received: unknown, current: unknown): void {
  if (received === current) return;
  throw new BrokerError(PRECONDITION_FAILED,
    `inequivalent arg '${arg}' for ${what} in vhost '${vhost}': received '${received}' but current is '${current}'`);
}

/**
 * Only the arguments that change behaviour take part in the check, as in RabbitMQ; unknown
 * x-arguments are stored but never make a re-declare fail.
 */
export const QUEUE_CHECKED_ARGS = [
  'x-expires', 'x-message-ttl', 'x-dead-letter-exchange', 'x-dead-letter-routing-key',
  'x-max-length', 'x-max-length-bytes', 'x-max-priority', 'x-overflow', 'x-queue-mode',
  'x-queue-type', 'x-single-active-consumer', 'x-delivery-limit', 'x-queue-master-locator',
];
export const EXCHANGE_CHECKED_ARGS = ['alternate-exchange'];

export function assertArgsEquivalent(what: string, vhost: string, keys: readonly string[],
  received: FieldTable, current: FieldTable): void {
  for (const key of keys) {
    const r = received[key];
    const c = current[key];
    if (r === undefined && c === undefined) continue;
    if (r !== undefined && c !== undefined && valuesEquivalent(r, c)) continue;
    throw new BrokerError(PRECONDITION_FAILED,
      `inequivalent arg '${key}' for ${what} in vhost '${vhost}': received ${describe(r)} but current is ${describe(c)}`);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'none';
  if (typeof v === 'object' && v !== null && 'value' in v) return `the value '${String((v as { value: unknown }).value)}'`;
  return `the value '${String(v)}'`;
}

/**
 * Two field values mean the same thing: equal with their types, or the same number / string
 * under different field types (clients encode 1000 as int, long or short as they please, and
 * strings as longstr or byte array).
 */
export function valuesEquivalent(a: FieldValue, b: FieldValue): boolean {
  if (a === b) return true; // the common case on the headers-exchange path: no allocation
  if (tablesEqual({ v: a }, { v: b })) return true;
  const sa = scalarKey(a);
  return sa !== undefined && sa === scalarKey(b);
}

function scalarKey(v: FieldValue): string | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return `n${v}`;
  if (typeof v === 'string') return `s${v}`;
  if (Buffer.isBuffer(v)) return `s${v.toString('utf8')}`;
  if (typeof v === 'boolean') return `b${v}`;
  if (v && typeof v === 'object' && 'type' in v && 'value' in v && typeof v.value !== 'object') return `n${v.value}`;
  return undefined;
}
