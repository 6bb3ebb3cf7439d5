/**
 * Time series kept in the page between polls. The API gives rates with a short window of counter
 * samples (a minute for the overview, 30 s per queue); merging every poll's samples here gives
 * charts a longer span. Queue lengths have no samples in the API: they are recorded at each poll,
 * so their charts start when the page was opened.
 */

export interface Point {
  /** ms since the epoch */
  t: number;
  v: number;
}

/** How much history a chart shows. */
export const WINDOW_MS = 10 * 60 * 1000;

export class SeriesStore {
  readonly #series = new Map<string, Point[]>();

  /** Appends a value (a point at the same time replaces the last one); drops points past the window. */
  add(key: string, t: number, v: number): void {
    const s = this.#series.get(key) ?? [];
    const last = s[s.length - 1];
    if (last && last.t === t) last.v = v;
    else if (!last || t > last.t) s.push({ t, v });
    else return; // older than what we have: a stale answer
    prune(s, t);
    this.#series.set(key, s);
  }

  /** Merges the API's samples (newest first) into the series, keeping time order. */
  merge(key: string, samples: readonly { timestamp: number; sample: number }[]): void {
    for (let i = samples.length - 1; i >= 0; i--) this.add(key, samples[i]!.timestamp, samples[i]!.sample);
  }

  get(key: string): Point[] {
    return this.#series.get(key) ?? [];
  }

  /** Forgets series whose keys start with `prefix` (a deleted queue). */
  forget(prefix: string): void {
    for (const k of [...this.#series.keys()]) if (k.startsWith(prefix)) this.#series.delete(k);
  }
}

function prune(s: Point[], now: number): void {
  let drop = 0;
  while (drop < s.length && s[drop]!.t < now - WINDOW_MS) drop++;
  if (drop > 0) s.splice(0, drop);
}

/**
 * Per-second rates between consecutive counter points, at the later point's time. A counter that
 * went down (a restart) gives no point rather than a negative rate.
 */
export function ratesOf(points: readonly Point[]): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0 || b.v < a.v) continue;
    out.push({ t: b.t, v: (b.v - a.v) / dt });
  }
  return out;
}

/** Several counters summed point by point (they share timestamps: one sampler tick fills all). */
export function sumSamples(lists: readonly (readonly { timestamp: number; sample: number }[])[]): { timestamp: number; sample: number }[] {
  const byTime = new Map<number, number>();
  const counted = new Map<number, number>();
  for (const list of lists) {
    for (const s of list) {
      byTime.set(s.timestamp, (byTime.get(s.timestamp) ?? 0) + s.sample);
      counted.set(s.timestamp, (counted.get(s.timestamp) ?? 0) + 1);
    }
  }
  // Only times every counter has: a partial sum would look like a drop.
  return [...byTime].filter(([t]) => counted.get(t) === lists.length)
    .sort((a, b) => b[0] - a[0]).map(([timestamp, sample]) => ({ timestamp, sample }));
}

/** The page's one store: series survive moving between pages. */
export const store = new SeriesStore();
