/**
 * A policy: a named, vhost-scoped rule that sets optional arguments on every queue and/or exchange
 * whose name matches a pattern (RabbitMQ's "Policies"). At most one policy applies to an object:
 * the matching one of highest priority (policy-set.ts). Its definition is merged with the object's
 * own x-arguments by the rules in policy-keys.ts.
 *
 * A Policy is immutable and validated when made, so everything holding one can trust it; changing
 * a policy means replacing it with a new object (identity tells whether an object's policy changed).
 */
import type { PolicyDefinition } from '../../store/definitions-store.js';
import { BrokerError } from '../broker-error.js';
import { checkQueueArgument } from '../queue/queue-arguments.js';
import { PRECONDITION_FAILED } from '../reply-codes.js';
import { policyKey } from './policy-keys.js';

/** RabbitMQ's apply-to values: what kind of object a policy may apply to. */
export const APPLY_TO = ['all', 'queues', 'classic_queues', 'quorum_queues', 'streams', 'exchanges'] as const;
export type PolicyApplyTo = (typeof APPLY_TO)[number];

/**
 * What a policy is matched against. Every Warren queue is a classic queue today; quorum queues and
 * streams are listed so that apply-to values naming them are accepted and simply match nothing.
 */
export type PolicyTarget = 'exchange' | 'classic_queue' | 'quorum_queue' | 'stream';

/** A JSON value, as a policy definition holds them. */
export type PolicyValue = string | number | boolean | null | PolicyValue[] | { [key: string]: PolicyValue };

/**
 * What an operator gives to set a policy (the management API's PUT body plus the name). Fields are
 * checked at run time as well, since they arrive as JSON.
 */
export interface PolicyInput {
  name: string;
  /** A JavaScript regular expression source, unanchored: `^` and `$` anchor only where written. */
  pattern: string;
  /** Default 'all'. */
  applyTo?: PolicyApplyTo | string;
  /** Default 0; higher wins. */
  priority?: number;
  definition: Record<string, unknown>;
}

/** RabbitMQ keeps policy names (like other runtime parameter names) to 255 bytes. */
const MAX_NAME_BYTES = 255;

/** Keys RabbitMQ knows that Warren refuses, with a better reason than "not recognised". */
const NOT_SETTABLE: Record<string, string> = {
  'max-priority': 'the number of priorities is fixed at declare (x-max-priority); RabbitMQ does not allow it in a policy either',
  'single-active-consumer': 'single active consumer is fixed at declare (x-single-active-consumer); RabbitMQ does not allow it in a policy either',
  'queue-type': 'the queue type is fixed at declare (x-queue-type); a policy cannot change it',
};
const RABBITMQ_ONLY = new Set([
  'ha-mode', 'ha-params', 'ha-sync-mode', 'ha-sync-batch-size', 'ha-promote-on-shutdown', 'ha-promote-on-failure',
  'queue-master-locator', 'queue-leader-locator', 'queue-version', 'dead-letter-strategy', 'max-in-memory-length',
  'max-in-memory-bytes', 'max-age', 'stream-max-segment-size-bytes', 'stream-filter-size-bytes',
  'initial-cluster-size', 'target-group-size', 'federation-upstream', 'federation-upstream-set',
  'federation-upstream-pattern', 'shards-per-node', 'routing-key', 'consumer-disconnected-timeout',
]);

export class Policy {
  readonly vhost: string;
  readonly name: string;
  readonly pattern: string;
  readonly applyTo: PolicyApplyTo;
  readonly priority: number;
  readonly definition: Readonly<Record<string, PolicyValue>>;
  readonly #regex: RegExp;

  /** Validates `input`; throws 406 PRECONDITION_FAILED naming the bad field, key or value. */
  constructor(vhost: string, input: PolicyInput) {
    const { name } = input;
    if (typeof name !== 'string' || name === '' || Buffer.byteLength(name) > MAX_NAME_BYTES) {
      throw new BrokerError(PRECONDITION_FAILED,
        `invalid policy name ${JSON.stringify(name)} in vhost '${vhost}': it must be a non-empty string of at most ${MAX_NAME_BYTES} bytes`);
    }
    const fail = (problem: string): BrokerError =>
      new BrokerError(PRECONDITION_FAILED, `invalid policy '${name}' in vhost '${vhost}': ${problem}`);
    this.vhost = vhost;
    this.name = name;
    this.pattern = checkPattern(input.pattern, fail);
    this.#regex = new RegExp(this.pattern);
    this.applyTo = checkApplyTo(input.applyTo, fail);
    this.priority = checkPriority(input.priority, fail);
    this.definition = Object.freeze(checkDefinition(input.definition, fail));
    Object.freeze(this);
  }

  /** Whether the pattern matches `name` anywhere (RabbitMQ runs the regex unanchored, too). */
  matches(name: string): boolean {
    return this.#regex.test(name);
  }

  /** Whether apply-to admits this kind of object. */
  appliesTo(target: PolicyTarget): boolean {
    switch (this.applyTo) {
      case 'all': return true;
      case 'exchanges': return target === 'exchange';
      case 'queues': return target !== 'exchange';
      case 'classic_queues': return target === 'classic_queue';
      case 'quorum_queues': return target === 'quorum_queue';
      case 'streams': return target === 'stream';
    }
  }

  /** The policy as RabbitMQ's definitions and management API show it. */
  toJSON(): PolicyDefinition {
    return { vhost: this.vhost, name: this.name, pattern: this.pattern, 'apply-to': this.applyTo,
      priority: this.priority, definition: { ...this.definition } };
  }
}

type Fail = (problem: string) => BrokerError;

function checkPattern(pattern: unknown, fail: Fail): string {
  if (typeof pattern !== 'string') throw fail(`pattern must be a string, got ${describe(pattern)}`);
  try {
    new RegExp(pattern);
  } catch (err) {
    throw fail(`pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(err as Error).message}`);
  }
  return pattern;
}

function checkApplyTo(applyTo: unknown, fail: Fail): PolicyApplyTo {
  if (applyTo === undefined) return 'all';
  if (typeof applyTo === 'string' && (APPLY_TO as readonly string[]).includes(applyTo)) return applyTo as PolicyApplyTo;
  throw fail(`apply-to ${describe(applyTo)} unrecognised; should be one of: ${APPLY_TO.join(', ')}`);
}

function checkPriority(priority: unknown, fail: Fail): number {
  if (priority === undefined) return 0;
  if (typeof priority === 'number' && Number.isSafeInteger(priority)) return priority;
  throw fail(`priority must be an integer, got ${describe(priority)}`);
}

function checkDefinition(definition: unknown, fail: Fail): Record<string, PolicyValue> {
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
    throw fail(`definition must be a JSON object, got ${describe(definition)}`);
  }
  const keys = Object.keys(definition);
  // RabbitMQ refuses an empty definition ("no policy provided").
  if (keys.length === 0) throw fail('definition is empty');
  const out: Record<string, PolicyValue> = {};
  for (const key of keys) {
    const value = (definition as Record<string, unknown>)[key];
    const known = policyKey(key);
    if (!known) {
      if (Object.hasOwn(NOT_SETTABLE, key)) throw fail(`'${key}' cannot be set by a policy: ${NOT_SETTABLE[key]}`);
      if (RABBITMQ_ONLY.has(key)) throw fail(`'${key}' is a RabbitMQ policy setting that Warren does not support`);
      throw fail(`'${key}' is not a recognised policy setting`);
    }
    const problem = !isScalar(value)
      ? 'it must be a JSON number, string or boolean'
      : known.target === 'queue'
        // JSON scalars are what a client would send as x-argument values (integer → int, fraction
        // → double, string → longstr, boolean → bool), so the declare-time check applies unchanged.
        ? checkQueueArgument(known.argument, value)
        : (typeof value === 'string' ? undefined : 'it must be a string (an exchange name)');
    if (problem) throw fail(`definition key '${key}' has invalid value ${describe(value)}: ${problem}`);
    out[key] = value as PolicyValue;
  }
  return out;
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
