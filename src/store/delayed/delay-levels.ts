import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The time levels of the delay store (see delay-store.ts): each level cuts time into buckets of
 * one width, aligned to the epoch; a bucket is opened (its records moved on to finer levels, or
 * into memory at level 0) `lead` ms before it starts. Each width is a multiple of the one below,
 * and leads never shrink going up, so a coarser bucket opens no later than any finer bucket
 * holding the same due time: that is what lets `targetLevel` pick a level from the clock alone.
 */
export interface Level {
  readonly width: number;
  readonly lead: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Leads leave time for opening a bucket before its first record is due: a minute bucket is
// copied into second buckets within 10 s, an hour bucket (up to millions of records, copied in
// slices between other work) within 2 minutes. A late open costs accuracy, never a message:
// records arriving at an open bucket's time go to the finer level (see targetLevel).
export const LEVELS: readonly Level[] = [
  { width: SECOND, lead: SECOND },
  { width: MINUTE, lead: 10 * SECOND },
  { width: HOUR, lead: 2 * MINUTE },
  { width: DAY, lead: 30 * MINUTE },
  { width: 32 * DAY, lead: 6 * HOUR },
  { width: 1024 * DAY, lead: 7 * DAY },
];

/** Start of the bucket of `level` that holds `due`. */
export function bucketStart(level: number, due: number): number {
  const width = LEVELS[level]!.width;
  return Math.floor(due / width) * width;
}

/** When the bucket of `level` starting at `start` opens. */
export function openTime(level: number, start: number): number {
  return start - LEVELS[level]!.lead;
}

/**
 * Where a record due at `due` goes at time `now`: the coarsest level whose bucket for it has not
 * opened yet, or -1 when even its level-0 bucket has (it belongs in memory). Coarsest, so that far
 * delays make few buckets (a year away is one bucket of 1024 days, not 31 million of a second).
 */
export function targetLevel(due: number, now: number): number {
  for (let level = LEVELS.length - 1; level >= 0; level--) {
    if (now < openTime(level, bucketStart(level, due))) return level;
  }
  return -1;
}

/** Bucket directory names: `L<level>-<start ms>-<run>`. */
export function bucketDirName(level: number, start: number, run: number): string {
  return `L${level}-${start}-${run}`;
}

export function hotDirName(run: number): string {
  return `hot-${run}`;
}

export type ParsedDirName =
  | { kind: 'bucket'; level: number; start: number; run: number }
  | { kind: 'hot'; run: number }
  | null;

export function parseDirName(name: string): ParsedDirName {
  let m = /^L(\d+)-(\d+)-(\d+)$/.exec(name);
  if (m) return { kind: 'bucket', level: Number(m[1]), start: Number(m[2]), run: Number(m[3]) };
  m = /^hot-(\d+)$/.exec(name);
  if (m) return { kind: 'hot', run: Number(m[1]) };
  return null;
}

/** What earlier runs left in a store's directory (read by name only). */
export interface DelayDirContents {
  lastRun: number;
  /** Hot logs, and logs of levels this version does not have: read back at once. */
  hot: string[];
  buckets: { level: number; start: number; dir: string }[];
}

export function scanDelayDir(dir: string): DelayDirContents {
  const found: DelayDirContents = { lastRun: 0, hot: [], buckets: [] };
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const name of names) {
    const p = parseDirName(name);
    if (!p) continue;
    found.lastRun = Math.max(found.lastRun, p.run);
    if (p.kind === 'hot' || p.level >= LEVELS.length) found.hot.push(join(dir, name));
    else found.buckets.push({ level: p.level, start: p.start, dir: join(dir, name) });
  }
  return found;
}
