/**
 * Per-queue message deduplication (opt-in with the queue argument `x-message-deduplication`),
 * after the arguments of the rabbitmq-message-deduplication plugin:
 *
 * - The key of a message is its `x-deduplication-header` header (a string, byte array or number,
 *   normalised to a string), or else its `message_id` property. A message with neither, or with an
 *   empty key, is never deduplicated. Keys longer than MAX_KEY_BYTES are replaced by their SHA-256.
 * - `x-cache-ttl` (ms) and/or `x-cache-size` (keys): a key is remembered for the window, and at most
 *   that many keys are remembered (the least recently inserted one is forgotten first). With only a
 *   window, DEFAULT_WINDOW_CACHE_SIZE bounds the memory. A message's own `x-cache-ttl` header
 *   replaces the window for its key.
 * - Neither: a key is remembered while its message is in the queue (the plugin's queue-level
 *   semantics), i.e. until the message is acked, rejected without requeue, or purged.
 * - A duplicate is dropped silently; a confirming publisher still gets basic.ack.
 *
 * Durable queues keep the keys in a journal (src/store/dedup-log.ts) replayed at start. Only keys
 * whose message could survive a restart need to: with "while in the queue" semantics the keys of
 * transient messages are kept in memory only.
 */
import { createHash } from 'node:crypto';
import type { FieldTable, FieldValue } from '../../protocol/amqp/codec/field-table.js';
import { fieldNumber, isTypedValue } from '../../protocol/amqp/codec/field-table.js';
import { BrokerError } from '../broker-error.js';
import type { Message } from '../message.js';
import { PRECONDITION_FAILED } from '../reply-codes.js';

export const ARG_DEDUPLICATION = 'x-message-deduplication';
export const ARG_CACHE_SIZE = 'x-cache-size';
export const ARG_CACHE_TTL = 'x-cache-ttl';
export const HEADER_KEY = 'x-deduplication-header';
/** Per-message window override: the plugin's name for it. */
export const HEADER_TTL = 'x-cache-ttl';

/** Keys remembered when only a window is given: about 15 MiB of heap for UUID-sized keys. */
export const DEFAULT_WINDOW_CACHE_SIZE = 100_000;
/** Longer keys are remembered by digest: memory and journal records stay small. */
export const MAX_KEY_BYTES = 1024;

export interface DeduplicationConfig {
  /** Most keys remembered (x-cache-size); undefined: not given. */
  cacheSize: number | undefined;
  /** Window in ms (x-cache-ttl); undefined: not given. */
  ttlMs: number | undefined;
}

/**
 * Reads the deduplication arguments of a queue.declare: null when deduplication is off. Throws 406
 * naming the argument when one is of the wrong type or not a positive integer. The size and window
 * arguments are only looked at when deduplication is on (other plugins may use the same names).
 */
export function parseDeduplicationArgs(args: FieldTable, queue: string, vhost: string): DeduplicationConfig | null {
  const on = args[ARG_DEDUPLICATION];
  if (on === undefined || on === false) return null;
  if (on !== true) throw invalidArg(ARG_DEDUPLICATION, queue, vhost, `expected a boolean but got ${show(on)}`);
  return {
    cacheSize: positiveInteger(args, ARG_CACHE_SIZE, queue, vhost),
    ttlMs: positiveInteger(args, ARG_CACHE_TTL, queue, vhost),
  };
}

function positiveInteger(args: FieldTable, name: string, queue: string, vhost: string): number | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  // Plugin users often pass numbers as strings (the management UI does): accept decimal digits.
  let n: number | undefined;
  if (typeof v === 'string') n = /^[0-9]{1,15}$/.test(v) ? Number(v) : undefined;
  else n = fieldNumber(v);
  if (n === undefined || !Number.isSafeInteger(n) || n <= 0) {
    throw invalidArg(name, queue, vhost, `expected a positive integer but got ${show(v)}`);
  }
  return n;
}

function invalidArg(name: string, queue: string, vhost: string, why: string): BrokerError {
  return new BrokerError(PRECONDITION_FAILED, `invalid arg '${name}' for queue '${queue}' in vhost '${vhost}': ${why}`);
}

function show(v: FieldValue): string {
  if (isTypedValue(v)) return `'${String(typeof v.value === 'object' ? fieldNumber(v) : v.value)}'`;
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'void';
  if (typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Date)) return Array.isArray(v) ? 'an array' : 'a table';
  return `'${String(v)}'`;
}

/** The deduplication key of a message, or undefined when it has none. */
export function deduplicationKey(message: Message): string | undefined {
  let key = keyOf(message.headers?.[HEADER_KEY]) ?? message.properties.messageId;
  if (key === undefined || key === '') return undefined;
  if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    // NUL cannot start a shortstr message_id in practice, so digests do not meet real keys.
    key = `\0sha256:${createHash('sha256').update(key).digest('hex')}`;
  }
  return key;
}

function keyOf(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (isTypedValue(v)) {
    if (typeof v.value === 'bigint') return v.value.toString();
    const n = fieldNumber(v);
    return n !== undefined && Number.isFinite(n) ? String(n) : undefined;
  }
  return undefined;
}

/** A message's own window (its `x-cache-ttl` header, positive ms), or undefined. */
export function messageTtl(message: Message): number | undefined {
  const v = message.headers?.[HEADER_TTL];
  if (v === undefined) return undefined;
  const n = typeof v === 'string' ? Number(v) : fieldNumber(v);
  return n !== undefined && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Where a durable queue's keys are kept across restarts (src/store/dedup-log.ts). Record kinds
 * match that file: 1 admit, 2 release, 3 clear. `expiresAt` 0 means never.
 */
export interface DedupJournal {
  load(apply: (kind: 1 | 2 | 3, key: string, stamp: number, expiresAt: number) => void): void;
  admitted(key: string, stamp: number, expiresAt: number, sync: boolean): void;
  released(key: string, stamp: number): void;
  cleared(): void;
  duplicateSeen(): void;
  shouldCompact(live: number): boolean;
  compact(live: Iterable<readonly [string, number, number]>): void;
  close(): void;
  destroy(): void;
}

/** What is remembered of one key: the admitting message's arrival time and when the key expires. */
class KeyEntry {
  constructor(readonly stamp: number, readonly expiresAt: number, readonly journaled: boolean) {}
}

/**
 * The keys one queue remembers. A Map in insertion order gives every operation in O(1): lookup,
 * admit at the tail, release anywhere, eviction at the head (least recently inserted). With one
 * window for every key, insertion order is also expiry order, so expired keys are swept from the
 * head and the sweep stops at the first live one; a key behind a longer-lived one (per-message
 * windows) is checked when it is looked up and goes by eviction or its turn at the head.
 */
export class Deduplicator {
  /** Most keys remembered (Infinity with "while in the queue" semantics). */
  readonly cacheSize: number;
  readonly ttlMs: number | undefined;
  /** Neither window nor size: a key is released when its message leaves the queue. */
  readonly releaseOnExit: boolean;
  readonly #keys = new Map<string, KeyEntry>();
  readonly #journal: DedupJournal | null;
  readonly #now: () => number;
  /** Some key may expire: the head needs sweeping. */
  #expiring: boolean;

  constructor(config: DeduplicationConfig, journal: DedupJournal | null = null, now: () => number = Date.now) {
    this.ttlMs = config.ttlMs;
    this.releaseOnExit = config.ttlMs === undefined && config.cacheSize === undefined;
    this.cacheSize = config.cacheSize ?? (this.releaseOnExit ? Infinity : DEFAULT_WINDOW_CACHE_SIZE);
    this.#expiring = config.ttlMs !== undefined;
    this.#journal = journal;
    this.#now = now;
    if (journal) this.#replay(journal);
  }

  /** Keys remembered now (expired ones not swept yet included). */
  get size(): number {
    return this.#keys.size;
  }

  /** Whether `key` would stop a message now. */
  has(key: string): boolean {
    const e = this.#keys.get(key);
    return e !== undefined && e.expiresAt > this.#now();
  }

  /** Enqueue check: false for a duplicate (drop it); true otherwise, and the key is now remembered. */
  admit(message: Message): boolean {
    const key = deduplicationKey(message);
    if (key === undefined) return true;
    return this.admitKey(key, message.timestamp, messageTtl(message), message.persistent);
  }

  /**
   * admit() by key. `stamp` is the message's arrival time (it tells a late release of an older copy
   * from the current one); `persistent`: the key must be on disk before the message is confirmed.
   */
  admitKey(key: string, stamp: number, ttlMs?: number, persistent = false): boolean {
    const keys = this.#keys;
    const now = this.#now();
    if (this.#expiring) this.#sweep(now);
    const seen = keys.get(key);
    if (seen !== undefined) {
      if (seen.expiresAt > now) {
        this.#journal?.duplicateSeen();
        return false;
      }
      keys.delete(key); // expired but not swept yet: admitted again, at the tail
    }
    const ttl = ttlMs ?? this.ttlMs;
    if (ttl !== undefined) this.#expiring = true;
    const expiresAt = ttl === undefined ? Infinity : now + ttl;
    // A transient message does not survive a restart; with "while in the queue" neither may its key.
    const journal = this.#journal !== null && (persistent || !this.releaseOnExit);
    keys.set(key, new KeyEntry(stamp, expiresAt, journal));
    if (keys.size > this.cacheSize) keys.delete(keys.keys().next().value!);
    if (journal) {
      this.#journal!.admitted(key, stamp, expiresAt === Infinity ? 0 : expiresAt, persistent);
      this.#maybeCompact();
    }
    return true;
  }

  /** A message left the queue for good: with "while in the queue" semantics its key is free again. */
  release(message: Message): void {
    if (!this.releaseOnExit || this.#keys.size === 0) return;
    const key = deduplicationKey(message);
    if (key !== undefined) this.releaseKey(key, message.timestamp);
  }

  /** Forgets `key` unless it was admitted by a message newer than `stamp`. */
  releaseKey(key: string, stamp: number): void {
    const e = this.#keys.get(key);
    if (e === undefined || e.stamp > stamp) return;
    this.#keys.delete(key);
    if (e.journaled) {
      this.#journal!.released(key, stamp);
      this.#maybeCompact();
    }
  }

  /**
   * The queue was purged. With "while in the queue" semantics every key goes: the store drops the
   * ready messages without showing them, and keys of messages out for delivery go too (a duplicate
   * of one is accepted until it is acked; its late ack does not release a newer copy's key).
   */
  purged(): void {
    if (!this.releaseOnExit || this.#keys.size === 0) return;
    this.#keys.clear();
    this.#journal?.cleared();
  }

  /** Broker stop: the journal is written out and closed. */
  close(): void {
    this.#journal?.close();
  }

  /** Queue deleted: keys and journal go. */
  destroy(): void {
    this.#keys.clear();
    this.#journal?.destroy();
  }

  #sweep(now: number): void {
    for (const [key, e] of this.#keys) {
      if (e.expiresAt > now) return;
      this.#keys.delete(key);
    }
  }

  #maybeCompact(): void {
    const journal = this.#journal!;
    if (journal.shouldCompact(this.#keys.size)) journal.compact(this.#liveRecords(this.#now()));
  }

  *#liveRecords(now: number): Generator<readonly [string, number, number]> {
    for (const [key, e] of this.#keys) {
      if (e.journaled && e.expiresAt > now) yield [key, e.stamp, e.expiresAt === Infinity ? 0 : e.expiresAt];
    }
  }

  /** Start: the journal's records in order; expired keys are dropped, the size cap applies. */
  #replay(journal: DedupJournal): void {
    const keys = this.#keys;
    const now = this.#now();
    journal.load((kind, key, stamp, expiresAt) => {
      if (kind === 1) {
        keys.delete(key);
        const at = expiresAt === 0 ? Infinity : expiresAt;
        if (at <= now) return;
        if (at !== Infinity) this.#expiring = true;
        keys.set(key, new KeyEntry(stamp, at, true));
        if (keys.size > this.cacheSize) keys.delete(keys.keys().next().value!);
      } else if (kind === 2) {
        const e = keys.get(key);
        if (e !== undefined && e.stamp <= stamp) keys.delete(key);
      } else {
        keys.clear();
      }
    });
    if (journal.shouldCompact(keys.size)) journal.compact(this.#liveRecords(now));
  }
}
