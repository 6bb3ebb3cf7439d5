/** One sampled value of a counter (RabbitMQ's `*_details.samples` entries). */
export interface Sample {
  /** ms since the epoch */
  timestamp: number;
  sample: number;
}

/** RabbitMQ's `<counter>_details`: the rate per second, and (when asked for) the samples, newest first. */
export interface RateDetails {
  rate: number;
  samples?: Sample[];
}

/**
 * The last `length` samples of an object's counters: a ring of rows, one row per sampler tick,
 * one column per counter. Kept in typed arrays so 10k queues cost no per-sample objects.
 */
export class History {
  readonly length: number;
  readonly width: number;
  readonly #times: Float64Array;
  readonly #values: Float64Array;
  /** Rows recorded so far (capped at length). */
  #count = 0;
  /** Index of the newest row. */
  #head = -1;

  constructor(width: number, length: number) {
    this.width = width;
    this.length = Math.max(2, length);
    this.#times = new Float64Array(this.length);
    this.#values = new Float64Array(this.length * width);
  }

  get count(): number {
    return this.#count;
  }

  /** Starts a new row at `timestamp`; fill it with set(). */
  next(timestamp: number): void {
    this.#head = (this.#head + 1) % this.length;
    this.#times[this.#head] = timestamp;
    if (this.#count < this.length) this.#count++;
  }

  /** Sets a column of the newest row. */
  set(column: number, value: number): void {
    this.#values[this.#head * this.width + column] = value;
  }

  /** Per second, between the two newest rows; 0 with fewer than two. A counter that went down (reset) gives 0. */
  rate(column: number): number {
    if (this.#count < 2) return 0;
    const prev = (this.#head - 1 + this.length) % this.length;
    const dt = this.#times[this.#head]! - this.#times[prev]!;
    const dv = this.#values[this.#head * this.width + column]! - this.#values[prev * this.width + column]!;
    if (dt <= 0 || dv <= 0) return 0;
    return dv / (dt / 1000);
  }

  /** The recorded values of one column, newest first. */
  samples(column: number): Sample[] {
    const out: Sample[] = [];
    for (let i = 0; i < this.#count; i++) {
      const row = (this.#head - i + this.length) % this.length;
      out.push({ timestamp: this.#times[row]!, sample: this.#values[row * this.width + column]! });
    }
    return out;
  }

  details(column: number, withSamples: boolean): RateDetails {
    const rate = Math.round(this.rate(column) * 10) / 10; // RabbitMQ reports one decimal
    return withSamples ? { rate, samples: this.samples(column) } : { rate };
  }
}
