/**
 * Shared by the segment store's recovery and corruption tests: stores in a temporary directory,
 * messages, draining, a reader for segment files (to find where records sit) and a log capture.
 * Test support only; nothing in the broker imports it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Message } from '../../core/message.js';
import { isLogLevelName, setLogLevel, setLogSink } from '../../log.js';
import type { LogLevel, LogSink } from '../../log.js';
import type { QueueEntry } from '../queue-store.js';
import { GroupCommit } from './group-commit.js';
import { FILE_HEADER_BYTES, PARSE_OK, RecordView, parseRecord } from './segment-format.js';
import { SegmentQueueStore } from './segment-queue-store.js';
import type { SegmentStoreOptions } from './segment-queue-store.js';

// Every recovery logs an info line; keep test output to warnings unless asked otherwise.
if (!process.env.WARREN_LOG_LEVEL) setLogLevel('warn');

/** delivery_mode 2: property flags 0x1000, then the one-byte delivery mode. */
export const PERSISTENT_PROPS = Buffer.from([0x10, 0x00, 0x02]);
export const TRANSIENT_PROPS = Buffer.from([0x00, 0x00]);

export const persistent = (body: string | Buffer, routingKey = 'q'): Message =>
  new Message('', routingKey, PERSISTENT_PROPS, typeof body === 'string' ? Buffer.from(body) : body);
export const transient = (body: string | Buffer, routingKey = 'q'): Message =>
  new Message('', routingKey, TRANSIENT_PROPS, typeof body === 'string' ? Buffer.from(body) : body);

/** A body of `n` bytes that starts with `label` (so records are big enough to fill segments). */
export const padded = (label: string, n: number): string => label.padEnd(n, '.');

/** One temporary root per test file, removed when the process ends. */
export function tmpRoot(prefix: string): () => string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return () => join(root, String(++n));
}

export type StoreOptions = Partial<Omit<SegmentStoreOptions, 'dir'>>;

/** A durable store on `dir` with small segments and its own (non-fsyncing) group commit. */
export function openStore(dir: string, options: StoreOptions = {}): SegmentQueueStore {
  return new SegmentQueueStore({
    dir, durable: true, label: "queue 'q' in vhost '/'", segmentBytes: 4096, commit: new GroupCommit(false),
    memoryMessages: 1000, memoryBytes: 1 << 20, ...options,
  });
}

/** Lets the end-of-tick flush (and a group-commit round) run. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Every ready entry, in delivery order (left unacked unless `ack`). */
export function shiftAll(store: SegmentQueueStore, ack = false): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (let e = store.shift(); e; e = store.shift()) {
    out.push(e);
    if (ack) store.ack(e);
  }
  return out;
}

export const bodiesOf = (entries: QueueEntry[]): string[] => entries.map((e) => e.message.body.toString());
/** Bodies of padded messages, without their padding. */
export const labelsOf = (entries: QueueEntry[]): string[] => entries.map((e) => e.message.body.toString().replace(/\.+$/, ''));

export function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('msgs.')).sort();
}

export function ackFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('acks.')).sort();
}

export interface RecordInfo {
  offset: number;
  size: number;
  seq: number;
  /** Offset of the body in the file. */
  bodyStart: number;
  body: string;
}

/** The records of a segment file, read with the format's own parser (crc checked). */
export function recordsIn(path: string): RecordInfo[] {
  const buf = readFileSync(path);
  const view = new RecordView();
  const out: RecordInfo[] = [];
  for (let pos = FILE_HEADER_BYTES; pos < buf.length; pos = view.end) {
    if (parseRecord(buf, pos, buf.length, view, true) !== PARSE_OK) throw new Error(`bad record in ${path} at ${pos}`);
    out.push({
      offset: pos, size: view.size, seq: view.seq, bodyStart: view.bodyStart,
      body: buf.toString('utf8', view.bodyStart, view.end),
    });
  }
  return out;
}

export type LogLine = Parameters<LogSink>[0];

/** Collects log lines (info and above) in-process and keeps them off stderr; `stop` sets `restore` (default: warn). */
export function captureLogs(restore: LogLevel = 'warn'): { lines: LogLine[]; stop(): void } {
  const lines: LogLine[] = [];
  setLogLevel('silent');
  setLogSink((line) => lines.push(line));
  return {
    lines,
    stop() {
      setLogSink(null);
      const env = process.env.WARREN_LOG_LEVEL;
      setLogLevel(env && isLogLevelName(env) ? env : restore);
    },
  };
}
