import { closeSync, fstatSync, ftruncateSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ACK_MAGIC, FILE_HEADER_BYTES, ackFileName, fileHeader, segmentFileName } from './segment-format.js';

/**
 * One segment file of a queue's log and its ack file. The log appends to its newest segment and
 * deletes a segment once every record in it is done (acked, purged, or not worth recovering).
 */
export class Segment {
  readonly id: number;
  readonly path: string;
  readonly ackPath: string;
  /** Logical end: bytes in the file plus bytes still in the log's write buffer. */
  size: number;
  /** Bytes handed to the OS. */
  flushed: number;
  /** Records in the segment, and how many of them are done. */
  count = 0;
  done = 0;
  /** Records ahead of the reader that are already done (known from recovery): skipped when read. */
  doneAhead: Set<number> | null = null;
  /** Corrupt stretches found at recovery: record offset → offset of the next good record. */
  skips: Map<number, number> | null = null;
  /** Ack offsets not yet written, and the ack file's fd (opened on first ack; -1 without). */
  pendingAcks: number[] = [];
  ackFd = -1;
  /** Open for appending while this is the log's newest segment. */
  writeFd = -1;
  deleted = false;

  constructor(dir: string, id: number, size: number) {
    this.id = id;
    this.path = join(dir, segmentFileName(id));
    this.ackPath = join(dir, ackFileName(id));
    this.size = size;
    this.flushed = size;
  }

  get live(): number {
    return this.count - this.done;
  }

  /**
   * Appends the pending ack offsets to the ack file (creating it with its header on first use).
   * When the disk refuses, the acks stay pending and the file is reopened next time, which repairs
   * a torn entry or a missing header (a repeated ack entry is harmless).
   */
  flushAcks(durable: boolean): void {
    const acks = this.pendingAcks;
    if (acks.length === 0) return;
    if (!durable) {
      acks.length = 0;
      return;
    }
    try {
      if (this.ackFd < 0) this.ackFd = openAckFile(this.ackPath, this.id);
      const buf = Buffer.allocUnsafe(acks.length * 4);
      for (let i = 0; i < acks.length; i++) buf.writeUInt32BE(acks[i]!, i * 4);
      writeAll(this.ackFd, buf);
      acks.length = 0;
    } catch (err) {
      if (this.ackFd >= 0) closeSync(this.ackFd);
      this.ackFd = -1;
      throw err;
    }
  }

  /** Closes its fds and removes its files. `closeWrite` false: the caller closes writeFd later. */
  delete(closeWrite: boolean): void {
    this.deleted = true;
    if (this.ackFd >= 0) closeSync(this.ackFd);
    this.ackFd = -1;
    if (closeWrite && this.writeFd >= 0) closeSync(this.writeFd);
    this.writeFd = -1;
    this.pendingAcks.length = 0;
    unlinkQuietly(this.path);
    unlinkQuietly(this.ackPath);
  }
}

/** Opens an ack file for appending; one from before a restart keeps its header and entries. */
function openAckFile(path: string, id: number): number {
  const fd = openSync(path, 'a');
  try {
    const size = fstatSync(fd).size;
    if (size < FILE_HEADER_BYTES) {
      if (size > 0) ftruncateSync(fd, 0);
      writeAll(fd, fileHeader(ACK_MAGIC, id));
    } else if ((size - FILE_HEADER_BYTES) % 4 !== 0) {
      // A torn entry at the end: cut it, so the entries after it stay aligned.
      ftruncateSync(fd, size - ((size - FILE_HEADER_BYTES) % 4));
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

export function writeAll(fd: number, buf: Buffer, position: number | null = null): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off, position === null ? null : position + off);
    off += n;
  }
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
