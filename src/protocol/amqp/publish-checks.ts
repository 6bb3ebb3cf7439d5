import { BrokerError } from '../../core/broker-error.js';
import type { Message } from '../../core/message.js';
import { expirationProblem } from '../../core/message.js';
import { integerArg, typeName } from '../../core/queue/queue-arguments.js';
import type { FieldTable } from './codec/field-table.js';
import { readExpiration } from './codec/properties.js';
import { PRECONDITION_FAILED } from './reply-codes.js';

/**
 * RabbitMQ refuses a publish whose `expiration` is not a per-message TTL (a whole-string decimal
 * integer of ms, 0 to ten years): the channel closes with 406 PRECONDITION_FAILED.
 */
export function checkExpiration(message: Message): void {
  const expiration = readExpiration(message.rawProperties);
  const problem = expiration === undefined ? undefined : expirationProblem(expiration);
  if (problem) throw new BrokerError(PRECONDITION_FAILED, `invalid expiration '${expiration}': ${problem}`);
}

/** basic.consume's x-priority (consumer priorities): an integer, 0 when absent. */
export function consumerPriority(args: FieldTable, queue: string): number {
  const v = args['x-priority'];
  if (v === undefined) return 0;
  const n = integerArg(v);
  if (n === undefined) throw new BrokerError(PRECONDITION_FAILED, `invalid arg 'x-priority' for ${queue}: "expected integer, got ${typeName(v)}"`);
  return n;
}
