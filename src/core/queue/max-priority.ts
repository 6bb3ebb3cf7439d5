import type { FieldTable } from '../../protocol/amqp/codec/field-table.js';
import { isTypedValue } from '../../protocol/amqp/codec/field-table.js';

/** RabbitMQ's limit for x-max-priority. */
export const MAX_SUPPORTED_PRIORITY = 255;

/** AMQP integer field types (RabbitMQ accepts x-max-priority as any of them, not as a float). */
const INTEGER_TAGS = new Set(['b', 'B', 's', 'u', 'i', 'I', 'l']);

/**
 * The queue's `x-max-priority`: an integer 1..255 of any AMQP integer type makes it a priority
 * queue with levels 0..n. Anything else gives 0, a plain queue: RabbitMQ refuses such values
 * with 406, which is left to the queue-argument validation (this only reads a valid value).
 */
export function maxPriorityArgument(args: FieldTable): number {
  if (!Object.hasOwn(args, 'x-max-priority')) return 0;
  const v = args['x-max-priority'];
  let n: number | bigint;
  if (typeof v === 'number' || typeof v === 'bigint') n = v; // 'I' int32 / 'l' int64
  else if (isTypedValue(v) && INTEGER_TAGS.has(v.type) && typeof v.value !== 'object') n = v.value;
  else return 0;
  if (typeof n === 'bigint') return n >= 1n && n <= BigInt(MAX_SUPPORTED_PRIORITY) ? Number(n) : 0;
  return Number.isInteger(n) && n >= 1 && n <= MAX_SUPPORTED_PRIORITY ? n : 0;
}
