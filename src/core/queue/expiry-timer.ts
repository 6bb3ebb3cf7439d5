import type { Message } from '../message.js';

/** setTimeout's limit: longer waits are done in steps (the queue re-arms at each firing). */
const MAX_DELAY_MS = 0x7fffffff;

/**
 * When a message expires in a queue: its arrival time plus the smaller of the queue's
 * x-message-ttl and its own `expiration` (RabbitMQ applies whichever is lower); Infinity when
 * neither is set.
 */
export function messageExpiresAt(message: Message, queueTtl: number | undefined): number {
  const own = message.ttl;
  let ttl = queueTtl ?? -1;
  if (own >= 0 && (ttl < 0 || own < ttl)) ttl = own;
  return ttl < 0 ? Infinity : message.timestamp + ttl;
}

/** What the timer wakes: the queue, which drops what expired at its head and re-arms. */
export interface ExpiringQueue {
  expireHead(): void;
}

/**
 * One timer per queue for message TTLs, armed for the earliest time the head can expire. It only
 * ever moves earlier between firings, so a steady stream of messages with the same TTL arms it
 * once per head rather than once per message, and nothing scans the backlog.
 */
export class ExpiryTimer {
  readonly #queue: ExpiringQueue;
  #at = Infinity;
  #timer: NodeJS.Timeout | undefined;

  constructor(queue: ExpiringQueue) {
    this.#queue = queue;
  }

  /** Makes sure the queue is woken no later than `at` (ms since the epoch). */
  schedule(at: number): void {
    if (at >= this.#at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#at = at;
    // +1: a message is expired once the clock is past its expiry time.
    this.#timer = setTimeout(fire, Math.min(MAX_DELAY_MS, Math.max(0, at - Date.now() + 1)), this);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Infinity;
  }

  /** @internal the timer fired. */
  fired(): void {
    this.#timer = undefined;
    this.#at = Infinity;
    this.#queue.expireHead();
  }
}

function fire(timer: ExpiryTimer): void {
  timer.fired();
}
