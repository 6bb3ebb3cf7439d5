import { BrokerError } from '../../core/broker-error.js';
import type { Unacked } from './deliveries.js';
import { PRECONDITION_FAILED } from './reply-codes.js';

/** What the timeout watches: a channel's outstanding deliveries, oldest first. */
export interface TimedDeliveries {
  outstanding(): IterableIterator<Unacked>;
  readonly channel: { readonly id: number; closeWithError(err: BrokerError): void };
}

/** setTimeout's limit. */
const MAX_DELAY_MS = 0x7fffffff;

/**
 * RabbitMQ's consumer timeout: a delivery left unacknowledged for longer than the timeout
 * (30 minutes by default; a queue's x-consumer-timeout overrides it) closes its channel with 406
 * PRECONDITION_FAILED, which requeues everything the channel held. One timer per channel, armed
 * while it has deliveries out, for the earliest deadline among them: deliveries go out in tag
 * order, so with one timeout value the first outstanding one is the oldest.
 */
export class AckTimeout {
  readonly #deliveries: TimedDeliveries;
  readonly #defaultMs: number;
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (Infinity: not armed). */
  #deadline = Infinity;
  /** Some delivery came from a queue with its own x-consumer-timeout: checks look at every delivery. */
  #perQueue = false;

  constructor(deliveries: TimedDeliveries, defaultMs: number) {
    this.#deliveries = deliveries;
    this.#defaultMs = defaultMs;
  }

  /**
   * A delivery went out at `at` from a queue with these settings: the timer must fire by its deadline.
   * Never closes the channel itself (it runs inside a queue's drain); only the timer does.
   */
  delivered(settings: { consumerTimeout: number | undefined }, at: number): void {
    const own = settings.consumerTimeout;
    if (own !== undefined) this.#perQueue = true;
    const timeout = own ?? this.#defaultMs;
    if (timeout <= 0) return;
    const deadline = at + timeout;
    if (deadline < this.#deadline) this.#arm(deadline);
  }

  /** Closes the channel when a delivery is overdue, else arms for the next deadline (none: unarmed). */
  check(): void {
    this.#timer = undefined;
    this.#deadline = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const u of this.#deliveries.outstanding()) {
      const own = u.queue.settings.consumerTimeout;
      const timeout = own ?? this.#defaultMs;
      if (timeout > 0) {
        const deadline = u.at + timeout;
        if (deadline <= now) return this.#expired(timeout);
        if (deadline < next) next = deadline;
      }
      // One timeout value for the channel (the usual case): the first delivery decides, the rest are younger.
      if (!this.#perQueue) break;
    }
    if (next !== Infinity) this.#arm(next);
  }

  #arm(deadline: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#deadline = deadline;
    this.#timer = setTimeout(check, Math.min(MAX_DELAY_MS, deadline - Date.now() + 1), this);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deadline = Infinity;
  }

  #expired(timeout: number): void {
    const channel = this.#deliveries.channel;
    channel.closeWithError(new BrokerError(PRECONDITION_FAILED,
      `delivery acknowledgement on channel ${channel.id} timed out. Timeout value used: ${timeout} ms. ` +
      'This timeout value can be configured, see consumers doc guide to learn more'));
  }
}

function check(t: AckTimeout): void {
  t.check();
}
