import type { FieldTable, FieldValue } from '../../protocol/amqp/codec/field-table.js';
import { isTypedValue } from '../../protocol/amqp/codec/field-table.js';
import { BrokerError } from '../broker-error.js';
import { PRECONDITION_FAILED } from '../reply-codes.js';

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** What a queue's optional arguments (and the policy applied to it) ask of it, parsed once. */
export interface QueueSettings {
  /** x-message-ttl, ms. */
  messageTtl: number | undefined;
  /** x-expires: the queue is deleted after this many ms unused. */
  expires: number | undefined;
  maxLength: number | undefined;
  maxLengthBytes: number | undefined;
  overflow: Overflow;
  deadLetterExchange: string | undefined;
  deadLetterRoutingKey: string | undefined;
  /** x-max-priority: fixed at declare (a policy cannot set it, as in RabbitMQ). */
  maxPriority: number | undefined;
  singleActiveConsumer: boolean;
  /** x-delivery-limit: deliveries returned this many times are dead-lettered or dropped on the next return. */
  deliveryLimit: number | undefined;
  /** x-consumer-timeout, ms: overrides the broker-wide consumer timeout for this queue. */
  consumerTimeout: number | undefined;
}

/** RabbitMQ's limit for TTLs and expiries (ten years, 3.11+); larger values are refused. */
export const MAX_EXPIRY_MS = 315_360_000_000;

type Check = (v: FieldValue) => string | undefined;

/**
 * RabbitMQ checks these at queue.declare of a new queue and refuses a bad value with 406
 * PRECONDITION_FAILED "invalid arg 'x-…' for queue 'q' in vhost '/': {reason,value}"; the reason
 * terms are its own. They are checked in RabbitMQ's order (the dead-letter exchange's type first,
 * by its channel), whatever the order of the client's table, so the same argument is named.
 */
const CHECKS: Record<string, Check> = {
  'x-dead-letter-exchange': (v) => (stringArg(v) === undefined ? `invalid type '${typeName(v)}'` : undefined),
  'x-queue-type': (v) => checkOneOf(v, ['classic', 'quorum'], (s) => `"unsupported queue type '${s}'"`),
  'x-expires': (v) => checkInteger(v, 1, MAX_EXPIRY_MS),
  'x-message-ttl': (v) => checkInteger(v, 0, MAX_EXPIRY_MS),
  // Warren's own length check (RabbitMQ takes any longstr): dead-lettered messages are delivered
  // with this routing key, and a delivery's routing key is a shortstr.
  'x-dead-letter-routing-key': (v) => {
    const n = Buffer.byteLength(stringArg(v) ?? '');
    return checkString(v) ?? (n > 255 ? `"routing key of ${n} bytes, longer than 255"` : undefined);
  },
  'x-max-length': (v) => checkInteger(v, 0, Number.MAX_SAFE_INTEGER),
  'x-max-length-bytes': (v) => checkInteger(v, 0, Number.MAX_SAFE_INTEGER),
  'x-max-priority': (v) => {
    const n = integerArg(v);
    return n !== undefined && n > 255 ? `{max_value_exceeded,${n}}` : checkInteger(v, 0, 255);
  },
  'x-overflow': (v) => checkOneOf(v, ['drop-head', 'reject-publish', 'reject-publish-dlx'], () => 'invalid_overflow'),
  'x-queue-mode': (v) => checkOneOf(v, ['default', 'lazy'], (s) => `"unsupported queue mode '${s}'"`),
  'x-queue-version': (v) => {
    const n = integerArg(v);
    if (n === undefined) return `"expected integer, got ${typeName(v)}"`;
    return n === 1 || n === 2 ? undefined : `"unsupported queue version '${n}'"`;
  },
  'x-single-active-consumer': (v) => (typeof v === 'boolean' ? undefined : `{unacceptable_type,${typeName(v)}}`),
  // Warren's own (RabbitMQ: quorum queues, and 3.12+ for the per-queue consumer timeout).
  'x-delivery-limit': (v) => checkInteger(v, 0, Number.MAX_SAFE_INTEGER),
  'x-consumer-timeout': (v) => checkInteger(v, 0, MAX_EXPIRY_MS),
};

/** The queue arguments Warren acts on, for re-declare equivalence and validation. */
export const QUEUE_ARGUMENT_NAMES: readonly string[] = Object.keys(CHECKS);

/** Why `value` is not acceptable for queue argument `name` (RabbitMQ's term), or undefined when it is. */
export function checkQueueArgument(name: string, value: FieldValue): string | undefined {
  const check = Object.hasOwn(CHECKS, name) ? CHECKS[name] : undefined;
  return check ? check(value) : undefined;
}

/** Throws 406 naming the first invalid argument, as RabbitMQ does at queue.declare. */
export function validateQueueArguments(args: FieldTable, queue: string, vhost: string): void {
  for (const name of QUEUE_ARGUMENT_NAMES) {
    const value = args[name];
    if (value === undefined) continue;
    const problem = CHECKS[name]!(value);
    if (!problem) continue;
    // RabbitMQ's channel checks the DLX's type itself, with its own wording.
    if (name === 'x-dead-letter-exchange') {
      throw new BrokerError(PRECONDITION_FAILED, `${problem} for arg '${name}' in queue '${queue}' in vhost '${vhost}'`);
    }
    throw invalidArg(name, queue, vhost, problem);
  }
  if (args['x-dead-letter-routing-key'] !== undefined && args['x-dead-letter-exchange'] === undefined) {
    throw invalidArg('x-dead-letter-routing-key', queue, vhost, 'routing_key_but_no_dlx_defined');
  }
}

export function invalidArg(name: string, queue: string, vhost: string, problem: string): BrokerError {
  return new BrokerError(PRECONDITION_FAILED, `invalid arg '${name}' for queue '${queue}' in vhost '${vhost}': ${problem}`);
}

/** The settings of already validated (effective) arguments. */
export function queueSettings(args: FieldTable): QueueSettings {
  return {
    messageTtl: integerArg(args['x-message-ttl']),
    expires: integerArg(args['x-expires']),
    maxLength: integerArg(args['x-max-length']),
    maxLengthBytes: integerArg(args['x-max-length-bytes']),
    overflow: (stringArg(args['x-overflow']) as Overflow | undefined) ?? 'drop-head',
    deadLetterExchange: stringArg(args['x-dead-letter-exchange']),
    deadLetterRoutingKey: stringArg(args['x-dead-letter-routing-key']),
    maxPriority: integerArg(args['x-max-priority']) || undefined,
    singleActiveConsumer: args['x-single-active-consumer'] === true,
    deliveryLimit: integerArg(args['x-delivery-limit']),
    consumerTimeout: integerArg(args['x-consumer-timeout']),
  };
}

/** An AMQP integer field of any width as a number; undefined for anything else (floats included). */
export function integerArg(v: FieldValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  if (isTypedValue(v) && 'bBsuil'.includes(v.type)) return Number(v.value);
  return undefined;
}

/** A longstr (or byte array, which some clients send for strings) as a string. */
export function stringArg(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return undefined;
}

function checkInteger(v: FieldValue, min: number, max: number): string | undefined {
  const n = integerArg(v);
  if (n === undefined) return `"expected integer, got ${typeName(v)}"`;
  if (n < 0) return `{value_negative,${n}}`;
  if (n < min) return `{value_zero,${n}}`;
  if (n > max) return `{value_too_large,${n}}`;
  return undefined;
}

function checkString(v: FieldValue): string | undefined {
  return stringArg(v) === undefined ? `{unacceptable_type,${typeName(v)}}` : undefined;
}

function checkOneOf(v: FieldValue, allowed: string[], unknown: (s: string) => string): string | undefined {
  const s = stringArg(v);
  if (s === undefined) return `{unacceptable_type,${typeName(v)}}`;
  return allowed.includes(s) ? undefined : unknown(s);
}

/** RabbitMQ's names for AMQP field types, used in its error terms. */
export function typeName(v: FieldValue): string {
  if (typeof v === 'string' || Buffer.isBuffer(v)) return 'longstr';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'signedint' : 'double';
  if (typeof v === 'bigint') return 'long';
  if (v === null) return 'void';
  if (v instanceof Date) return 'timestamp';
  if (Array.isArray(v)) return 'array';
  if (isTypedValue(v)) return TYPED_NAMES[v.type];
  return 'table';
}

const TYPED_NAMES: Record<string, string> = {
  b: 'byte', B: 'unsignedbyte', s: 'short', u: 'unsignedshort', I: 'signedint', i: 'unsignedint',
  l: 'long', f: 'float', d: 'double', D: 'decimal',
};
