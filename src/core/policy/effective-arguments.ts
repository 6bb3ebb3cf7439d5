/**
 * What a queue or exchange actually runs with: its own x-arguments merged with the definition of
 * the policy applying to it, key by key, with the precedence table in policy-keys.ts (the smaller
 * value for limits and timeouts, the x-argument for everything else). The result uses x-argument
 * names, so queueSettings() reads it exactly as it reads declare arguments.
 */
import type { FieldTable, FieldValue } from '../../protocol/amqp/codec/field-table.js';
import { integerArg } from '../queue/queue-arguments.js';
import type { Policy } from './policy.js';
import type { PolicyKey } from './policy-keys.js';
import { EXCHANGE_POLICY_KEYS, QUEUE_POLICY_KEYS } from './policy-keys.js';

/** A queue's x-arguments with its policy merged in. Without a policy, `args` itself. */
export function effectiveQueueArguments(args: FieldTable, policy: Policy | undefined): FieldTable {
  return merge(args, policy, QUEUE_POLICY_KEYS);
}

/** An exchange's arguments with its policy merged in (alternate-exchange). */
export function effectiveExchangeArguments(args: FieldTable, policy: Policy | undefined): FieldTable {
  return merge(args, policy, EXCHANGE_POLICY_KEYS);
}

function merge(args: FieldTable, policy: Policy | undefined, keys: readonly PolicyKey[]): FieldTable {
  if (!policy) return args;
  let out: FieldTable | undefined;
  for (const k of keys) {
    if (!Object.hasOwn(policy.definition, k.key)) continue;
    // A validated policy holds only JSON scalars for these keys, which are field values as they are.
    const fromPolicy = policy.definition[k.key] as FieldValue;
    const fromArgs = Object.hasOwn(args, k.argument) ? args[k.argument] : undefined;
    const value = fromArgs === undefined ? fromPolicy : resolve(k, fromPolicy, fromArgs);
    if (value === fromArgs) continue;
    out ??= { ...args };
    out[k.argument] = value;
  }
  return out ?? args;
}

function resolve(k: PolicyKey, fromPolicy: FieldValue, fromArgs: FieldValue): FieldValue {
  if (k.precedence === 'argument') return fromArgs;
  const p = integerArg(fromPolicy);
  const a = integerArg(fromArgs);
  // An argument that is not an integer would have been refused at declare; should one get here
  // anyway (a definitions file from before validation), the policy's valid value is used.
  if (a === undefined) return fromPolicy;
  if (p === undefined) return fromArgs;
  return p < a ? fromPolicy : fromArgs;
}
