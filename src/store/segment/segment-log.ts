import { closeSync, mkdirSync, openSync, readSync, rmSync } from 'node:fs';
import { Message } from '../../core/message.js';
import { Segment, unlinkQuietly, writeAll } from './segment.js';
import type { GroupCommit, SyncSource } from './group-commit.js';
import { recoverLog } from './segment-recovery.js';
import type { RecoveredLog } from './segment-recovery.js';
import {
  FILE_HEADER_BYTES, PARSE_OK, RecordView, SEGMENT_MAGIC, encodeRecord, fileHeader, parseRecord, recordSize,
} from './segment-format.js';

const WRITE_BUFFER_BYTES = 256 * 1024;
const FLUSH_AT_BYTES = 1024 * 1024;
const READ_AHEAD_BYTES = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export interface SegmentLogOptions {
  dir: string;
  /** Durable logs survive restarts (ack files, recovery); paging logs are scratch space. */
  durable: boolean;
  segmentBytes: number;
  commit: GroupCommit | null;
}

/** Where a record sits: set by `append` and `readNext` for the caller to copy out (no allocation). */
export interface RecordPosition {
  segment: Segment;
  offset: number;
}

/**
 * A queue's append-only log of segment files (format: segment-format.ts), with one reader cursor.
 * Writes are buffered and handed to the OS at the end of the tick, when the buffer fills, when a
 * reader needs them, or when the group commit asks; only the group commit fsyncs. The reader reads
 * ahead in large sequential chunks and copies each message out into its own allocation.
 */
export class SegmentLog implements SyncSource {
  readonly dir: string;
  readonly durable: boolean;
  readonly #segmentBytes: number;
  readonly #commit: GroupCommit | null;
  readonly segments: Segment[] = [];
  #head: Segment | null = null;
  /** Allocated on the first append: an idle durable queue (or a non-durable one never paged) costs nothing here. */
  #wbuf: Buffer = EMPTY;
  #wlen = 0;
  #retiredFds: number[] = [];
  #flushQueued = false;
  #ackDirty: Segment[] = [];
  // reader
  #rseg: Segment | null = null;
  #roff = 0;
  #rfd = -1;
  #rfdSeg: Segment | null = null;
  #rbuf: Buffer | null = null;
  #rbufSeg: Segment | null = null;
  #rbufStart = 0;
  #rbufEnd = 0;
  readonly #view = new RecordView();
  /** Set by append / readNext. */
  readonly last: RecordPosition = { segment: null as unknown as Segment, offset: 0 };
  lastSeq = 0;

  constructor(options: SegmentLogOptions) {
    this.dir = options.dir;
    this.durable = options.durable;
    this.#segmentBytes = options.segmentBytes;
    this.#commit = options.commit;
    mkdirSync(this.dir, { recursive: true });
  }

  /** Replays the directory (durable logs, at start-up); the reader starts at the oldest record. */
  recover(label: string, statePath: string): RecoveredLog {
    const result = recoverLog(this.dir, label, statePath);
    this.segments.push(...result.segments);
    if (this.segments.length > 0) this.#setReader(this.segments[0]!, FILE_HEADER_BYTES);
    return result;
  }

  /** Appends a record; `last` says where it went. */
  append(message: Message, seq: number, time: number, persistent: boolean): void {
    const size = recordSize(message);
    let head = this.#head;
    if (!head || (head.size + size > this.#segmentBytes && head.count > 0)) head = this.#rotate();
    if (this.#wbuf.length === 0) this.#wbuf = Buffer.allocUnsafe(Math.max(WRITE_BUFFER_BYTES, size));
    if (this.#wlen + size > this.#wbuf.length && !this.#tryFlush()) this.#growWriteBuffer(this.#wlen + size);
    else if (size > this.#wbuf.length) this.#growWriteBuffer(size);
    const offset = head.size;
    this.#wlen = encodeRecord(this.#wbuf, this.#wlen, message, seq, time, persistent);
    head.size += size;
    head.count++;
    this.last.segment = head;
    this.last.offset = offset;
    if (this.#rseg === null) this.#setReader(head, offset);
    if (persistent && this.durable && this.#commit) this.#commit.markDirty(this);
    if (this.#wlen < FLUSH_AT_BYTES || !this.#tryFlush()) this.#queueFlush();
  }

  /** Every record left ahead of the reader is done (the store has read all live ones): skip them. */
  skipToEnd(): void {
    this.#rseg = null;
  }

  /** Moves the reader past the record just appended (its message is kept in memory instead). */
  skipLastAppended(): void {
    if (this.#rseg === this.last.segment && this.#roff === this.last.offset) {
      this.#roff = this.last.segment.size;
      this.#normaliseReader();
    }
  }

  /** flush() that reports failure instead of throwing: the data stays buffered for the next try. */
  #tryFlush(): boolean {
    try {
      this.flush();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Reads the next live record at the reader into a new Message and advances; `last` and
   * `lastSeq` describe it. Undefined at the end of the log.
   */
  readNext(): Message | undefined {
    const view = this.#view;
    for (;;) {
      const seg = this.#rseg;
      if (!seg) return undefined;
      const skipTo = seg.skips?.get(this.#roff);
      if (skipTo !== undefined) {
        this.#roff = skipTo;
        this.#normaliseReader();
        continue;
      }
      const buf = this.#bufferAt(seg, this.#roff);
      const at = this.#roff - this.#rbufStart;
      if (parseRecord(buf, at, this.#rbufEnd - this.#rbufStart, view, false) !== PARSE_OK) {
        throw new Error(`unreadable record in ${seg.path} at ${this.#roff}`);
      }
      const offset = this.#roff;
      this.#roff += view.size;
      this.#normaliseReader();
      if (seg.doneAhead?.delete(offset)) {
        if (seg.doneAhead.size === 0) seg.doneAhead = null;
        continue;
      }
      this.last.segment = seg;
      this.last.offset = offset;
      this.lastSeq = view.seq;
      const data = Buffer.allocUnsafe(view.end - view.propertiesStart);
      buf.copy(data, 0, view.propertiesStart, view.end);
      const propsLen = view.bodyStart - view.propertiesStart;
      return new Message(
        buf.toString('utf8', view.exchangeStart, view.exchangeEnd),
        buf.toString('utf8', view.routingKeyStart, view.routingKeyEnd),
        data.subarray(0, propsLen), data.subarray(propsLen), view.time);
    }
  }

  /** The record at `segment`/`offset` is done: counted, logged in the ack file, segment freed when empty. */
  ack(segment: Segment, offset: number): void {
    if (segment.deleted) return;
    segment.done++;
    if (this.durable) {
      if (segment.pendingAcks.length === 0) this.#ackDirty.push(segment);
      segment.pendingAcks.push(offset);
      this.#queueFlush();
    }
    if (segment.done === segment.count && segment !== this.#head) this.#deleteSegment(segment);
  }

  /** Hands buffered writes and acks to the OS. Keeps what the disk refused (and rethrows). */
  flush(): void {
    this.#flushQueued = false;
    let error: unknown;
    const head = this.#head;
    if (this.#wlen > 0 && head) {
      try {
        if (head.writeFd < 0) createSegmentFile(head);
        writeAll(head.writeFd, this.#wbuf.subarray(0, this.#wlen), head.flushed);
        head.flushed += this.#wlen;
        this.#wlen = 0;
      } catch (err) {
        error = err;
      }
    }
    const dirty = this.#ackDirty;
    let kept = 0;
    for (let i = 0; i < dirty.length; i++) {
      const seg = dirty[i]!;
      if (seg.deleted) continue;
      try {
        seg.flushAcks(this.durable);
      } catch (err) {
        error ??= err;
        dirty[kept++] = seg;
      }
    }
    dirty.length = kept;
    if (error !== undefined) throw error;
  }

  flushForSync(syncFds: number[], closeAfter: number[]): void {
    this.flush();
    if (this.#head && this.#head.writeFd >= 0) syncFds.push(this.#head.writeFd);
    for (const fd of this.#retiredFds) {
      syncFds.push(fd);
      closeAfter.push(fd);
    }
    this.#retiredFds = [];
  }

  /** Ends the log: flushes and closes files (durable) or deletes everything (`remove`). */
  close(remove: boolean): void {
    if (remove) {
      this.#wlen = 0;
      this.#ackDirty.length = 0;
    } else {
      try {
        this.flush();
      } catch {
        // Reported by the caller's last sync; nothing more to do at shutdown.
      }
    }
    this.#closeReader();
    for (const seg of this.segments) {
      if (seg.ackFd >= 0) closeSync(seg.ackFd);
      seg.ackFd = -1;
    }
    // A sync round may be running on these: the group commit closes them when it is done.
    const fds = this.#retiredFds;
    if (this.#head && this.#head.writeFd >= 0) fds.push(this.#head.writeFd);
    for (const fd of fds) {
      if (this.#commit) this.#commit.closeLater(fd);
      else closeSync(fd);
    }
    this.#retiredFds = [];
    this.#head = null;
    if (remove) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Flushes at the end of this event-loop turn (once, however many writes it had). */
  scheduleFlush(): void {
    this.#queueFlush();
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    pendingFlushes.push(this);
    if (pendingFlushes.length === 1) setImmediate(flushPending);
  }

  /**
   * Starts a new segment. When the disk refuses (full, failing), the current segment simply grows
   * past its size in the meantime: nothing is lost, and the group commit nacks what is not on disk.
   */
  #rotate(): Segment {
    const old = this.#head;
    if (old && !this.#tryFlush()) return old;
    const id = old ? old.id + 1 : this.segments.length > 0 ? this.segments[this.segments.length - 1]!.id + 1 : 1;
    const seg = new Segment(this.dir, id, FILE_HEADER_BYTES);
    try {
      createSegmentFile(seg);
    } catch {
      // The disk refuses: the segment's records wait in the write buffer; flush creates the file.
    }
    if (old) {
      if (this.#commit && this.durable) this.#retiredFds.push(old.writeFd);
      else closeSync(old.writeFd);
      old.writeFd = -1;
    }
    this.segments.push(seg);
    this.#head = seg;
    if (old && old.done === old.count) this.#deleteSegment(old);
    return seg;
  }

  #deleteSegment(seg: Segment): void {
    const i = this.segments.indexOf(seg);
    if (i >= 0) this.segments.splice(i, 1);
    if (this.#rseg === seg) {
      const next = this.segments[i];
      if (next) this.#setReader(next, FILE_HEADER_BYTES);
      else this.#rseg = null;
    }
    if (this.#rfdSeg === seg) this.#closeReader();
    if (this.#rbufSeg === seg) this.#rbufSeg = null;
    seg.delete(false);
  }

  #setReader(seg: Segment, offset: number): void {
    this.#rseg = seg;
    this.#roff = offset;
  }

  /** At the end of a finished segment, the reader moves to the next one, or to "at the end". */
  #normaliseReader(): void {
    while (this.#rseg && this.#roff >= this.#rseg.size) {
      if (this.#rseg === this.#head) {
        this.#rseg = null;
        return;
      }
      const next = this.segments[this.segments.indexOf(this.#rseg) + 1];
      if (!next) {
        this.#rseg = null;
        return;
      }
      this.#setReader(next, FILE_HEADER_BYTES);
    }
  }

  /** A buffer holding the whole record at seg/offset: the write buffer, or a read-ahead chunk. */
  #bufferAt(seg: Segment, offset: number): Buffer {
    if (seg === this.#head && offset >= seg.flushed) {
      this.#rbufSeg = null;
      this.#rbufStart = seg.flushed;
      this.#rbufEnd = seg.flushed + this.#wlen;
      return this.#wbuf;
    }
    if (this.#rbufSeg === seg && offset >= this.#rbufStart && offset + 8 <= this.#rbufEnd) {
      const need = this.#rbuf!.readUInt32BE(offset - this.#rbufStart) + 8;
      if (offset + need <= this.#rbufEnd) return this.#rbuf!;
    }
    // Read ahead from `offset`: at least the whole record, at most to what the OS has.
    if (this.#rfdSeg !== seg) {
      this.#closeReader();
      this.#rfd = openSync(seg.path, 'r');
      this.#rfdSeg = seg;
    }
    const head = Buffer.allocUnsafe(4);
    readFully(this.#rfd, head, 0, 4, offset);
    const need = head.readUInt32BE(0) + 8;
    const want = Math.min(Math.max(need, READ_AHEAD_BYTES), seg.flushed - offset);
    if (!this.#rbuf || this.#rbuf.length < want) this.#rbuf = Buffer.allocUnsafe(Math.max(want, READ_AHEAD_BYTES));
    const got = readFully(this.#rfd, this.#rbuf, 0, want, offset);
    this.#rbufSeg = seg;
    this.#rbufStart = offset;
    this.#rbufEnd = offset + got;
    return this.#rbuf;
  }

  #closeReader(): void {
    if (this.#rfd >= 0) closeSync(this.#rfd);
    this.#rfd = -1;
    this.#rfdSeg = null;
  }

  /** A bigger write buffer keeping the bytes not yet written (a huge record, or a refusing disk). */
  #growWriteBuffer(size: number): void {
    const next = Buffer.allocUnsafe(Math.max(size, this.#wbuf.length * 2));
    this.#wbuf.copy(next, 0, 0, this.#wlen);
    this.#wbuf = next;
  }
}

function createSegmentFile(seg: Segment): void {
  let fd = -1;
  try {
    fd = openSync(seg.path, 'w+');
    writeAll(fd, fileHeader(SEGMENT_MAGIC, seg.id), 0);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    unlinkQuietly(seg.path);
    throw err;
  }
  seg.writeFd = fd;
}

function readFully(fd: number, buf: Buffer, at: number, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, at + got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

const WRITE_RETRY_MS = 1000;

function retryFlush(log: SegmentLog): void {
  log.scheduleFlush();
}

// Logs with buffered writes, flushed together once per event-loop turn.
const pendingFlushes: SegmentLog[] = [];

function flushPending(): void {
  const logs = pendingFlushes.splice(0);
  for (const log of logs) {
    try {
      log.flush();
    } catch {
      // The disk refuses: the group commit nacks what it covered; try again in a while.
      setTimeout(retryFlush, WRITE_RETRY_MS, log).unref();
    }
  }
}
