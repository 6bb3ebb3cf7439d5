/**
 * The deduplication journal of one durable queue: `dedup.log` in the queue's message directory
 * (MessageStore.queueDir). It remembers which deduplication keys the queue has seen, so a restart
 * does not let a duplicate in (src/core/queue/deduplication.ts owns the semantics).
 *
 * Format (version 1), all integers big-endian:
 *   file header, 16 bytes: magic "WRNDEDUP" (8) | u32 version = 1 | u32 reserved = 0
 *   then records:          u32 payload length | u32 crc32c(payload) | payload
 *   payload:               u8 kind | f64 stamp | f64 expiresAt | key (UTF-8, the rest)
 *     kind 1 ADMIT    the key was admitted; `stamp` is the admitting message's arrival time (ms),
 *                     `expiresAt` when the key is forgotten (ms since the epoch; 0 = never)
 *     kind 2 RELEASE  the key's message left the queue; applies only to an admission whose stamp
 *                     is not later than `stamp` (a late ack never releases a newer copy's key)
 *     kind 3 CLEAR    every key before this record is forgotten (a purge); empty key
 *
 * Replay reads the records in order; the first record that is short or fails its crc ends the
 * file: it is a torn tail (a crash mid-write) and is truncated away and logged, never fatal.
 * When the file holds a few times more records than there are live keys, it is rewritten
 * (compacted) with one ADMIT per live key: new file, fsync, rename over, directory fsync.
 *
 * Durability: records are handed to the OS at the end of each event-loop turn. An ADMIT written
 * for a persistent message marks this journal dirty in the shared group commit, so the fsync round
 * that confirms the message also covers its key. RELEASE and CLEAR records are not fsynced on
 * their own (like ack files: losing one to a crash means a key remembered a little too long).
 */
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../log.js';
import { crc32c } from './segment/crc32c.js';
import type { GroupCommit, SyncSource } from './segment/group-commit.js';
import { unlinkQuietly, writeAll } from './segment/segment.js';

const log = createLogger('store');

export const DEDUP_LOG_FILE = 'dedup.log';
const MAGIC = Buffer.from('WRNDEDUP', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 16;
const RECORD_HEAD = 8;
const PAYLOAD_FIXED = 17;
/** Keys are capped far below this by the core; a larger length can only be garbage. */
const MAX_PAYLOAD = 64 * 1024;

export const DEDUP_ADMIT = 1;
export const DEDUP_RELEASE = 2;
export const DEDUP_CLEAR = 3;
export type DedupRecordKind = typeof DEDUP_ADMIT | typeof DEDUP_RELEASE | typeof DEDUP_CLEAR;

/** Compact when the file has more than COMPACT_FACTOR × live + COMPACT_MIN records. */
const COMPACT_FACTOR = 4;
const COMPACT_MIN = 1024;
/** Buffered bytes that are written at once rather than at the end of the turn. */
const FLUSH_AT_BYTES = 256 * 1024;

export interface DedupLogOptions {
  dir: string;
  /** For log lines: `queue 'q' in vhost '/'`. */
  label: string;
  commit: GroupCommit;
  /** Open journals (closed at shutdown); this one is in it until closed or destroyed. */
  registry?: Set<DedupLog>;
}

export class DedupLog implements SyncSource {
  readonly path: string;
  readonly #dir: string;
  readonly #label: string;
  readonly #commit: GroupCommit;
  readonly #registry: Set<DedupLog> | undefined;
  #fd = -1;
  /** File size: bytes handed to the OS. */
  #size = 0;
  #buf = Buffer.allocUnsafe(4096);
  #len = 0;
  /** Records in the file plus the buffer (compaction compares it with the live keys). */
  #records = 0;
  /** The round that covers the last ADMIT needing a sync (compared with commit.synced). */
  #syncEpoch = 0;
  #flushQueued = false;
  #closed = false;
  /** Do not try compacting again before this many records (after a failed compaction). */
  #compactFloor = 0;

  constructor(options: DedupLogOptions) {
    this.#dir = options.dir;
    this.path = join(options.dir, DEDUP_LOG_FILE);
    this.#label = options.label;
    this.#commit = options.commit;
    this.#registry = options.registry;
    this.#registry?.add(this);
  }

  get records(): number {
    return this.#records;
  }

  /**
   * Replays the file, calling `apply` for every intact record in order. A torn or corrupt tail is
   * cut off (and logged). A file that cannot be read at all is logged and treated as empty: the
   * queue starts, forgetting its keys, rather than not starting.
   */
  load(apply: (kind: DedupRecordKind, key: string, stamp: number, expiresAt: number) => void): void {
    let data: Buffer;
    try {
      data = readFileSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.error('cannot read the deduplication journal; starting without its keys', { queue: this.#label, path: this.path, err });
      }
      return;
    }
    if (data.length < HEADER_BYTES || !data.subarray(0, 8).equals(MAGIC) || data.readUInt32BE(8) !== VERSION) {
      log.warn('deduplication journal has no valid header; starting without its keys', { queue: this.#label, path: this.path, bytes: data.length });
      unlinkQuietly(this.path);
      return;
    }
    let at = HEADER_BYTES;
    let records = 0;
    while (at + RECORD_HEAD <= data.length) {
      const len = data.readUInt32BE(at);
      const end = at + RECORD_HEAD + len;
      if (len < PAYLOAD_FIXED || len > MAX_PAYLOAD || end > data.length) break;
      if (crc32c(data, at + RECORD_HEAD, end) !== data.readUInt32BE(at + 4)) break;
      const p = at + RECORD_HEAD;
      const kind = data[p]!;
      if (kind === DEDUP_ADMIT || kind === DEDUP_RELEASE || kind === DEDUP_CLEAR) {
        apply(kind, data.toString('utf8', p + PAYLOAD_FIXED, end), data.readDoubleBE(p + 1), data.readDoubleBE(p + 9));
      }
      records++;
      at = end;
    }
    if (at < data.length) {
      log.warn('deduplication journal has a torn or corrupt tail; truncating it', {
        queue: this.#label, path: this.path, offset: at, truncatedBytes: data.length - at,
      });
      try {
        const fd = openSync(this.path, 'r+');
        try {
          ftruncateSync(fd, at);
        } finally {
          closeSync(fd);
        }
      } catch (err) {
        log.error('cannot truncate the deduplication journal', { queue: this.#label, path: this.path, err });
      }
    }
    this.#size = at;
    this.#records = records;
  }

  /** Appends an ADMIT; `sync`: the round that confirms the admitting message must cover it. */
  admitted(key: string, stamp: number, expiresAt: number, sync: boolean): void {
    this.#append(DEDUP_ADMIT, key, stamp, expiresAt);
    if (sync) this.#markDirty();
  }

  released(key: string, stamp: number): void {
    this.#append(DEDUP_RELEASE, key, stamp, 0);
  }

  cleared(): void {
    this.#append(DEDUP_CLEAR, '', 0, 0);
  }

  /**
   * A duplicate was dropped. If the key that stopped it may not be on disk yet, the dropping
   * publish must not be confirmed before it is: joining the group commit makes it wait.
   */
  duplicateSeen(): void {
    if (this.#commit.synced < this.#syncEpoch) this.#markDirty();
  }

  shouldCompact(live: number): boolean {
    return this.#records > COMPACT_FACTOR * live + COMPACT_MIN && this.#records > this.#compactFloor;
  }

  /**
   * Rewrites the file with one ADMIT per live key (in their order), atomically. What is buffered
   * is dropped: the live set already reflects it. On failure the old file stays in use.
   */
  compact(live: Iterable<readonly [key: string, stamp: number, expiresAt: number]>): void {
    if (this.#closed) return;
    const tmp = `${this.path}.tmp`;
    const old = { buf: this.#buf, len: this.#len, records: this.#records };
    this.#buf = Buffer.allocUnsafe(4096);
    this.#len = 0;
    this.#records = 0;
    let fd = -1;
    try {
      mkdirSync(this.#dir, { recursive: true });
      fd = openSync(tmp, 'w');
      this.#putHeader();
      for (const [key, stamp, expiresAt] of live) this.#encode(DEDUP_ADMIT, key, stamp, expiresAt);
      writeAll(fd, this.#buf.subarray(0, this.#len), 0);
      if (this.#commit.fsync) fsyncSync(fd);
      renameSync(tmp, this.path);
      syncDir(this.#dir, this.#commit.fsync);
    } catch (err) {
      if (fd >= 0) closeSync(fd);
      unlinkQuietly(tmp);
      this.#buf = old.buf;
      this.#len = old.len;
      this.#records = old.records;
      this.#compactFloor = this.#records * 2;
      log.error('cannot compact the deduplication journal; keeping the old one', { queue: this.#label, path: this.path, err });
      return;
    }
    // A sync round may be running on the old fd: the group commit closes it afterwards.
    if (this.#fd >= 0) this.#commit.closeLater(this.#fd);
    this.#fd = fd;
    this.#size = this.#len;
    this.#len = 0;
    this.#compactFloor = 0;
  }

  /** Hands buffered records to the OS (opening the file on first use). Keeps them when the disk refuses. */
  flush(): void {
    this.#flushQueued = false;
    if (this.#len === 0 || this.#closed) return;
    if (this.#fd < 0) this.#open();
    writeAll(this.#fd, this.#buf.subarray(0, this.#len), this.#size);
    this.#size += this.#len;
    this.#len = 0;
  }

  flushForSync(syncFds: number[]): void {
    if (this.#closed) return;
    this.flush();
    if (this.#fd >= 0) syncFds.push(this.#fd);
  }

  /** Shutdown: what is buffered goes to the OS; the file stays for the next start. */
  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
    } catch (err) {
      log.error('cannot write the deduplication journal at shutdown', { queue: this.#label, path: this.path, err });
    }
    this.#end();
  }

  /** The queue is deleted: the journal goes with it. */
  destroy(): void {
    if (this.#closed) return;
    this.#len = 0;
    this.#end();
    unlinkQuietly(this.path);
  }

  #end(): void {
    this.#closed = true;
    if (this.#fd >= 0) this.#commit.closeLater(this.#fd);
    this.#fd = -1;
    this.#registry?.delete(this);
  }

  #markDirty(): void {
    this.#syncEpoch = this.#commit.epoch;
    this.#commit.markDirty(this);
  }

  /**
   * Opens (or creates, with its header) the file; records are written at #size with positioned
   * writes (not O_APPEND, which Linux would let override the position), so #size is the truth.
   */
  #open(): void {
    mkdirSync(this.#dir, { recursive: true });
    let fd: number;
    try {
      fd = openSync(this.path, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fd = openSync(this.path, 'w+');
      this.#size = 0;
    }
    try {
      if (this.#size === 0) {
        // A new file, or one whose header was unusable: start it over.
        ftruncateSync(fd, 0);
        writeAll(fd, header(), 0);
        this.#size = HEADER_BYTES;
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.#fd = fd;
  }

  #append(kind: DedupRecordKind, key: string, stamp: number, expiresAt: number): void {
    if (this.#closed) return;
    this.#encode(kind, key, stamp, expiresAt);
    if (this.#len >= FLUSH_AT_BYTES) {
      try {
        this.flush();
        return;
      } catch {
        // Kept buffered; the group commit or the end-of-turn flush reports and retries.
      }
    }
    this.#queueFlush();
  }

  #encode(kind: DedupRecordKind, key: string, stamp: number, expiresAt: number): void {
    const keyBytes = Buffer.byteLength(key, 'utf8');
    const size = RECORD_HEAD + PAYLOAD_FIXED + keyBytes;
    this.#reserve(size);
    const b = this.#buf;
    const at = this.#len;
    const p = at + RECORD_HEAD;
    b.writeUInt32BE(PAYLOAD_FIXED + keyBytes, at);
    b[p] = kind;
    b.writeDoubleBE(stamp, p + 1);
    b.writeDoubleBE(expiresAt, p + 9);
    b.write(key, p + PAYLOAD_FIXED, keyBytes, 'utf8');
    b.writeUInt32BE(crc32c(b, p, at + size), at + 4);
    this.#len = at + size;
    this.#records++;
  }

  #putHeader(): void {
    this.#reserve(HEADER_BYTES);
    header().copy(this.#buf, this.#len);
    this.#len += HEADER_BYTES;
  }

  #reserve(size: number): void {
    if (this.#len + size <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#len + size, this.#buf.length * 2));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(flushLater, this);
  }
}

function flushLater(journal: DedupLog): void {
  try {
    journal.flush();
  } catch {
    // The disk refuses: the records stay buffered; the next append, round or shutdown retries,
    // and a round that cannot write them nacks the publishes it covers.
  }
}

function header(): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32BE(VERSION, 8);
  return h;
}

function syncDir(dir: string, fsync: boolean): void {
  if (!fsync) return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

