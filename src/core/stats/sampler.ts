import type { VirtualHost } from '../vhost.js';
import type { BrokerStats } from './broker-stats.js';
import type { Field } from './counters.js';
import { CHANNEL_FIELDS, CONNECTION_FIELDS, emptyTotals, QUEUE_FIELDS, TOTAL_FIELDS } from './counters.js';
import { History } from './history.js';

export interface SamplerOptions {
  /** How often to sample, ms (RabbitMQ's collect_statistics_interval). Default 5000; 0: only when sample() is called. */
  intervalMs?: number;
  /** Samples kept for the broker and each vhost (the overview charts). Default 12: a minute at 5 s. */
  historyLength?: number;
  /** Samples kept for each queue, connection and channel (10k queues × this × 7 counters × 8 bytes). Default 6. */
  objectHistoryLength?: number;
  /** The clock, ms since the epoch (tests inject one). */
  now?: () => number;
}

export const SAMPLER_DEFAULTS = { intervalMs: 5000, historyLength: 12, objectHistoryLength: 6 } as const;

/**
 * Every interval, records every counter of the broker, each vhost, queue, connection and channel
 * into its History, from which rates (`*_details.rate`) and chart samples are read. One unref'd
 * timer for the whole broker; a tick is O(objects), never per message. An object's history starts
 * at its first tick (its rate is 0 until its second) and goes with the object.
 */
export class StatsSampler {
  readonly #stats: BrokerStats;
  readonly #vhosts: ReadonlyMap<string, VirtualHost>;
  readonly #options: Required<SamplerOptions>;
  #timer: NodeJS.Timeout | undefined;

  constructor(stats: BrokerStats, vhosts: ReadonlyMap<string, VirtualHost>, options: SamplerOptions = {}) {
    this.#stats = stats;
    this.#vhosts = vhosts;
    this.#options = { ...SAMPLER_DEFAULTS, now: Date.now, ...options };
  }

  start(): void {
    this.sample();
    if (this.#options.intervalMs > 0 && !this.#timer) {
      this.#timer = setInterval(tick, this.#options.intervalMs, this).unref();
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One tick: records every object's counters now. */
  sample(): void {
    const now = this.#options.now();
    const { historyLength, objectHistoryLength } = this.#options;
    const broker = emptyTotals();
    for (const v of this.#vhosts.values()) {
      const totals = this.#stats.vhostTotals(v);
      for (const f of TOTAL_FIELDS) broker[f.key] += totals[f.key];
      v.stats.history = record(v.stats.history, TOTAL_FIELDS, totals, now, historyLength);
      for (const q of v.queues.values()) q.stats.history = record(q.stats.history, QUEUE_FIELDS, q.stats, now, objectHistoryLength);
    }
    this.#stats.history = record(this.#stats.history, TOTAL_FIELDS, broker, now, historyLength);
    for (const c of this.#stats.connections) {
      c.history = record(c.history, CONNECTION_FIELDS, c, now, objectHistoryLength);
      for (const ch of c.channels) ch.history = record(ch.history, CHANNEL_FIELDS, ch, now, objectHistoryLength);
    }
  }
}

function record<T>(history: History | null, fields: readonly Field<T>[], source: T, now: number, length: number): History {
  const h = history ?? new History(fields.length, length);
  h.next(now);
  for (let i = 0; i < fields.length; i++) h.set(i, source[fields[i]!.key] as number);
  return h;
}

function tick(sampler: StatsSampler): void {
  sampler.sample();
}
