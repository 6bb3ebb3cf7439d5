/**
 * The policy definition keys Warren understands, what each one sets, and which value wins when a
 * queue (exchange) has the same setting as an x-argument. One table, read by validation
 * (policy.ts) and by the merge (effective-arguments.ts), so the two cannot drift apart.
 *
 * Precedence, per key (RabbitMQ's classic queue rules; Warren's queues are all classic):
 *
 *   policy key               x-argument                  when both are set
 *   ───────────────────────  ──────────────────────────  ─────────────────────────────────────
 *   message-ttl              x-message-ttl               the smaller value
 *   expires                  x-expires                   the smaller value
 *   max-length               x-max-length                the smaller value
 *   max-length-bytes         x-max-length-bytes          the smaller value
 *   delivery-limit           x-delivery-limit            the smaller value
 *   consumer-timeout         x-consumer-timeout          the smaller value
 *   overflow                 x-overflow                  the x-argument
 *   dead-letter-exchange     x-dead-letter-exchange      the x-argument
 *   dead-letter-routing-key  x-dead-letter-routing-key   the x-argument
 *   queue-mode               x-queue-mode                the x-argument (stored only)
 *   alternate-exchange       alternate-exchange (exch.)  the x-argument
 *
 * Where it comes from: RabbitMQ's classic queue process resolves expires, message-ttl, max-length
 * and max-length-bytes with the minimum of policy and argument, and dead-letter-exchange,
 * dead-letter-routing-key, overflow (and, in 3.x, queue-mode) with the argument. Quorum queues use
 * the minimum for delivery-limit (classic queues have no delivery limit in RabbitMQ; Warren's do,
 * so it takes the quorum rule), and the queue-type layer takes the minimum for consumer-timeout.
 * The exchange looks up alternate-exchange in its own arguments first and falls back to the policy.
 * Quorum queues differ on one key: there the *policy's* overflow wins. Warren follows the classic
 * rule because it has no quorum queues.
 *
 * Each key is resolved on its own: a queue with x-dead-letter-exchange and a policy with only
 * dead-letter-routing-key ends up with both.
 *
 * Not settable by policy (RabbitMQ refuses them as unrecognised too): x-max-priority and
 * x-single-active-consumer, fixed at declare; x-queue-type, which a policy can never change.
 */

/** How a policy value and an x-argument for the same setting are combined. */
export type Precedence = 'min' | 'argument';

export interface PolicyKey {
  /** The key in a policy definition, e.g. `message-ttl`. */
  readonly key: string;
  /** The argument it corresponds to, e.g. `x-message-ttl` (exchanges use `alternate-exchange`). */
  readonly argument: string;
  readonly target: 'queue' | 'exchange';
  readonly precedence: Precedence;
}

const q = (key: string, precedence: Precedence): PolicyKey => ({ key, argument: `x-${key}`, target: 'queue', precedence });

export const POLICY_KEYS: readonly PolicyKey[] = [
  q('message-ttl', 'min'),
  q('expires', 'min'),
  q('max-length', 'min'),
  q('max-length-bytes', 'min'),
  q('delivery-limit', 'min'),
  q('consumer-timeout', 'min'),
  q('overflow', 'argument'),
  q('dead-letter-exchange', 'argument'),
  q('dead-letter-routing-key', 'argument'),
  q('queue-mode', 'argument'),
  { key: 'alternate-exchange', argument: 'alternate-exchange', target: 'exchange', precedence: 'argument' },
];

export const QUEUE_POLICY_KEYS: readonly PolicyKey[] = POLICY_KEYS.filter((k) => k.target === 'queue');
export const EXCHANGE_POLICY_KEYS: readonly PolicyKey[] = POLICY_KEYS.filter((k) => k.target === 'exchange');

const BY_KEY = new Map(POLICY_KEYS.map((k) => [k.key, k]));

export function policyKey(key: string): PolicyKey | undefined {
  return BY_KEY.get(key);
}
