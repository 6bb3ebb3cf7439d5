import { statfsSync } from 'node:fs';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createLogger } from '../log.js';

const log = createLogger('alarms');

export interface AlarmOptions {
  /** Memory in use above which publishers are blocked, bytes. */
  memoryHighWatermark: number;
  /** Free space on the data directory's disk below which publishers are blocked, bytes. */
  diskFreeLimit: number;
  dataDir: string;
  /** How often to look, ms. */
  intervalMs?: number;
}

export type AlarmListener = (blocked: boolean, reason: string) => void;

/**
 * Memory and disk alarms (design.md, "The message store"), as RabbitMQ's: while one is set,
 * connections that publish are sent connection.blocked and no longer read, consumers keep draining;
 * connection.unblocked when every alarm has cleared.
 *
 * Memory in use is the V8 heap in use plus memory outside it (message buffers), measured after a
 * full garbage collection when it looks high: unlike RSS it falls back once consumers have drained
 * (RSS rarely shrinks), so the alarm clears when the messages are gone.
 */
export class ResourceAlarms {
  memoryAlarm = false;
  diskAlarm = false;
  memoryUsed = 0;
  diskFree = Number.POSITIVE_INFINITY;
  readonly options: Required<AlarmOptions>;
  readonly #listeners = new Set<AlarmListener>();
  #timer: NodeJS.Timeout | undefined;
  #diskCheckedAt = 0;

  constructor(options: AlarmOptions) {
    this.options = { intervalMs: 1000, ...options };
  }

  get blocked(): boolean {
    return this.memoryAlarm || this.diskAlarm;
  }

  get reason(): string {
    const reasons = [];
    if (this.memoryAlarm) reasons.push('memory');
    if (this.diskAlarm) reasons.push('disk');
    return `low on ${reasons.join(' and ')}`;
  }

  onChange(listener: AlarmListener): void {
    this.#listeners.add(listener);
  }

  start(): void {
    this.check();
    this.#timer = setInterval(() => this.check(), this.options.intervalMs).unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  check(): void {
    const wasBlocked = this.blocked;
    const limit = this.options.memoryHighWatermark;
    this.memoryUsed = memoryInUse();
    if (overLimit(this.memoryUsed, limit) && collectGarbage()) this.memoryUsed = memoryInUse();
    this.#set('memory', overLimit(this.memoryUsed, limit), { used: this.memoryUsed, watermark: limit });
    const now = Date.now();
    // The disk changes slowly and statfs costs a syscall: look at most every few seconds unless alarmed.
    if (this.diskAlarm || now - this.#diskCheckedAt >= 5 * this.options.intervalMs || this.#diskCheckedAt === 0) {
      this.#diskCheckedAt = now;
      this.diskFree = freeDiskBytes(this.options.dataDir);
      this.#set('disk', this.diskFree < this.options.diskFreeLimit, { free: this.diskFree, limit: this.options.diskFreeLimit });
    }
    if (this.blocked !== wasBlocked) for (const l of this.#listeners) l(this.blocked, this.reason);
  }

  #set(kind: 'memory' | 'disk', on: boolean, details: Record<string, number>): void {
    const key = kind === 'memory' ? 'memoryAlarm' : 'diskAlarm';
    if (this[key] === on) return;
    this[key] = on;
    if (on) log.warn(`${kind} alarm set: publishers are blocked`, details);
    else log.info(`${kind} alarm cleared`, details);
  }
}

const HEAP_LIMIT = getHeapStatistics().heap_size_limit;

/** Over the watermark, or close to V8's own heap limit (past which the process would die). */
function overLimit(used: number, watermark: number): boolean {
  return used >= watermark || process.memoryUsage().heapUsed >= 0.9 * HEAP_LIMIT;
}

function memoryInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

let gc: (() => void) | null | undefined;

/** A full collection, when this V8 lets us ask for one (the flag is set once, at first need). */
function collectGarbage(): boolean {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  if (!gc) return false;
  gc();
  return true;
}

function freeDiskBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch (err) {
    log.warn('could not read free disk space', { dir, err });
    return Number.POSITIVE_INFINITY;
  }
}

const UNITS: Record<string, number> = {
  '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
  k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4,
};

/** "512MB", "2GiB", "1048576" → bytes; NaN when it is none of those. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return Number.NaN;
  const unit = UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? Number.NaN : Math.floor(Number(m[1]) * unit);
}
