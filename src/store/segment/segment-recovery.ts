import { closeSync, fstatSync, ftruncateSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { createLogger } from '../../log.js';
import { Segment, unlinkQuietly } from './segment.js';
import {
  ACK_MAGIC, FILE_HEADER_BYTES, PARSE_INCOMPLETE, PARSE_OK, RECORD_FIXED_BYTES, RECORD_PREFIX_BYTES,
  RecordView, SEGMENT_MAGIC, checkFileHeader, decodeState, parseRecord, parseSegmentFileName,
} from './segment-format.js';

const log = createLogger('store');

export interface RecoveredLog {
  /** Segments with at least one live record, oldest first. */
  segments: Segment[];
  liveRecords: number;
  liveBytes: number;
  /** Next seq to use: above every record and the delivered high-water mark. */
  nextSeq: number;
  /** The delivered high-water mark: records below it may have been delivered. */
  deliveredMark: number;
  damagedRecords: number;
  truncatedBytes: number;
}

let scratch = Buffer.allocUnsafe(0);
const view = new RecordView();

/**
 * Replays a queue directory after a restart: every segment is read and every record's crc checked;
 * persistent records not named in the ack file are live again. Transient records are done (they do
 * not survive a restart, as in RabbitMQ). Damage never stops the start: a torn or corrupt tail is
 * truncated, a corrupt record in the middle is skipped (the reader resynchronises on the next
 * record whose crc matches), and both are counted and logged with the queue's name.
 */
export function recoverLog(dir: string, queueLabel: string, statePath: string): RecoveredLog {
  const result: RecoveredLog = {
    segments: [], liveRecords: 0, liveBytes: 0, nextSeq: 1, deliveredMark: 0, damagedRecords: 0, truncatedBytes: 0,
  };
  const mark = readState(statePath);
  result.deliveredMark = Math.max(mark, 0);
  result.nextSeq = Math.max(result.nextSeq, result.deliveredMark);
  const ids = readdirSync(dir).map(parseSegmentFileName).filter((id) => id >= 0).sort((a, b) => a - b);
  for (const id of ids) {
    const seg = recoverSegment(dir, id, queueLabel, result);
    if (seg.live > 0) result.segments.push(seg);
    else seg.delete(true);
  }
  if (mark < 0 && result.liveRecords > 0) {
    // No readable mark: any of these may have been delivered, so all of them say so.
    if (mark === STATE_DAMAGED) log.warn('queue state file damaged; recovered messages are flagged redelivered', { queue: queueLabel });
    result.deliveredMark = result.nextSeq;
  }
  // Stale ack files whose segment is gone.
  for (const name of readdirSync(dir)) {
    const m = /^acks\.(\d{10})$/.exec(name);
    if (m && !ids.includes(Number(m[1]))) unlinkQuietly(`${dir}/${name}`);
  }
  return result;
}

const STATE_MISSING = -1;
const STATE_DAMAGED = -2;

function readState(path: string): number {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return STATE_MISSING;
  }
  const mark = decodeState(buf);
  return mark < 0 ? STATE_DAMAGED : mark;
}

function recoverSegment(dir: string, id: number, queueLabel: string, result: RecoveredLog): Segment {
  const seg = new Segment(dir, id, 0);
  const fd = openSync(seg.path, 'r+');
  try {
    const fileSize = fstatSync(fd).size;
    if (scratch.length < fileSize) scratch = Buffer.allocUnsafe(Math.max(fileSize, scratch.length * 2));
    const buf = scratch;
    let got = 0;
    while (got < fileSize) {
      const n = readSync(fd, buf, got, fileSize - got, got);
      if (n === 0) break;
      got += n;
    }
    const headerProblem = checkFileHeader(buf.subarray(0, got), SEGMENT_MAGIC, id);
    // Records carry their own crc: a damaged header costs only itself.
    if (headerProblem) log.warn('segment header damaged; reading its records anyway', { queue: queueLabel, segment: id, problem: headerProblem });
    const acked = readAcks(seg.ackPath, id, queueLabel);
    const live: number[] = [];
    const doneAhead = new Set<number>();
    let pos = FILE_HEADER_BYTES;
    while (pos < got) {
      const status = parseRecord(buf, pos, got, view, true);
      if (status === PARSE_OK) {
        seg.count++;
        if (view.seq >= result.nextSeq) result.nextSeq = view.seq + 1;
        if (view.persistent && !acked.has(pos)) {
          live.push(pos);
          result.liveBytes += view.end - view.bodyStart;
        } else {
          doneAhead.add(pos);
        }
        pos = view.end;
        continue;
      }
      // A record cut short or with a bad crc: if a good record follows, only this one is damaged
      // (a corrupt length can also make it look cut short); otherwise it is the torn tail.
      const next = resync(buf, pos + 1, got);
      if (next < 0) {
        const cut = got - pos;
        log.warn('torn or corrupt tail truncated', {
          queue: queueLabel, segment: id, offset: pos, bytes: cut, reason: status === PARSE_INCOMPLETE ? 'short record' : 'bad crc',
        });
        result.truncatedBytes += cut;
        result.damagedRecords++;
        ftruncateSync(fd, pos);
        got = pos;
        break;
      }
      log.warn('corrupt record skipped', { queue: queueLabel, segment: id, offset: pos, bytes: next - pos });
      (seg.skips ??= new Map()).set(pos, next);
      result.damagedRecords++;
      pos = next;
    }
    seg.size = seg.flushed = got;
    seg.done = seg.count - live.length;
    if (doneAhead.size > 0) seg.doneAhead = doneAhead;
    result.liveRecords += live.length;
    return seg;
  } finally {
    closeSync(fd);
  }
}

/** The next offset in [from, end) where a record with a matching crc starts, or -1. */
function resync(buf: Buffer, from: number, end: number): number {
  for (let p = from; p + RECORD_PREFIX_BYTES + RECORD_FIXED_BYTES <= end; p++) {
    const length = buf.readUInt32BE(p);
    if (length < RECORD_FIXED_BYTES || p + RECORD_PREFIX_BYTES + length > end || buf[p + RECORD_PREFIX_BYTES]! > 1) continue;
    if (parseRecord(buf, p, end, view, true) === PARSE_OK) return p;
  }
  return -1;
}

function readAcks(path: string, id: number, queueLabel: string): Set<number> {
  const acked = new Set<number>();
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return acked;
  }
  const problem = checkFileHeader(buf, ACK_MAGIC, id);
  if (problem) {
    // Unreadable: its acks are lost (those messages come back, flagged redelivered); start it afresh
    // so acks made from now on are read at the next start.
    log.warn('ack file damaged; its acks are lost', { queue: queueLabel, segment: id, problem });
    unlinkQuietly(path);
    return acked;
  }
  for (let p = FILE_HEADER_BYTES; p + 4 <= buf.length; p += 4) acked.add(buf.readUInt32BE(p));
  return acked;
}
