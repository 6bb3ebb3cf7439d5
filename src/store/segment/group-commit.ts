import { close, fdatasync } from 'node:fs';
import { createLogger } from '../../log.js';

const log = createLogger('store');
const RETRY_MS = 1000;

/** Something holding unsynced writes: a durable queue's log. */
export interface SyncSource {
  /**
   * Hands every buffered write to the OS (throws when the disk refuses, e.g. ENOSPC; the source
   * keeps what it could not write and is asked again), then lists the fds to fdatasync and the fds
   * to close once that is done (segments retired since the last round).
   */
  flushForSync(syncFds: number[], closeAfter: number[]): void;
}

/** Someone waiting for a round to finish: a channel with publisher confirms or a tx.commit pending. */
export interface CommitWaiter {
  committed(round: number, ok: boolean): void;
}

/**
 * Group commit (design.md, "The message store"): one fsync round covers every persistent write made
 * while the previous round ran. Writers call `markDirty`; a publisher remembers `epoch` (the round
 * that will cover its write) and is confirmed once `synced` reaches it.
 *
 * Rounds finish in order. A round that could not write or sync reports ok=false, so the publishers
 * it covered get a nack instead of a confirm; the data stays queued for the next round, retried
 * until the disk takes it.
 *
 * With `fsync` off (unsafe: a power cut can lose confirmed messages; a crash of Warren alone
 * cannot) rounds still hand the data to the OS before confirming, but skip fdatasync.
 */
export class GroupCommit {
  /** The round that will cover writes made now. */
  epoch = 1;
  /** The last round that finished. */
  synced = 0;
  /** Count of persistent writes: a publisher compares it before and after routing. */
  writes = 0;
  readonly fsync: boolean;
  #dirty = new Set<SyncSource>();
  #waiters = new Set<CommitWaiter>();
  #running = false;
  #scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  #failing = false;
  #closeAfterRound: number[] = [];

  constructor(fsync: boolean) {
    this.fsync = fsync;
  }

  markDirty(source: SyncSource): void {
    this.writes++;
    this.#dirty.add(source);
    if (!this.#running && !this.#scheduled) this.#scheduled = setImmediate(runRound, this);
  }

  /** Calls waiter.committed(...) when the running or next round finishes. */
  wait(waiter: CommitWaiter): void {
    this.#waiters.add(waiter);
    if (!this.#running && !this.#scheduled) this.#scheduled = setImmediate(runRound, this);
  }

  /** Closes an fd now, or after the running round when that round may be syncing it. */
  closeLater(fd: number): void {
    if (this.#running) this.#closeAfterRound.push(fd);
    else close(fd, ignoreError);
  }

  /** Shutdown: runs rounds until nothing is dirty (at most a few tries when the disk refuses). */
  async drain(): Promise<void> {
    for (let tries = 0; (this.#running || this.#dirty.size > 0) && tries < 3; tries++) {
      await new Promise<void>((resolve) => this.wait({ committed: () => resolve() }));
    }
  }

  /** @internal */
  run(): void {
    this.#scheduled = undefined;
    if (this.#running) return;
    this.#running = true;
    const round = this.epoch++;
    const sources = [...this.#dirty];
    this.#dirty.clear();
    const syncFds: number[] = [];
    const closeAfter: number[] = [];
    let error: unknown;
    for (const source of sources) {
      try {
        source.flushForSync(syncFds, closeAfter);
      } catch (err) {
        error ??= err;
        this.#dirty.add(source);
      }
    }
    if (!this.fsync || syncFds.length === 0) return this.#finish(round, error, closeAfter);
    let pending = syncFds.length;
    let syncFailed = false;
    const done = (err: unknown): void => {
      if (err) {
        error ??= err;
        syncFailed = true;
      }
      if (--pending > 0) return;
      // A failed fdatasync proves nothing about what is on disk: sync every source again next round.
      if (syncFailed) for (const source of sources) this.#dirty.add(source);
      this.#finish(round, error, closeAfter);
    };
    for (const fd of syncFds) fdatasync(fd, done);
  }

  #finish(round: number, error: unknown, closeAfter: number[]): void {
    for (const fd of closeAfter) close(fd, ignoreError);
    for (const fd of this.#closeAfterRound.splice(0)) close(fd, ignoreError);
    this.synced = round;
    this.#running = false;
    const ok = error === undefined;
    if (!ok && !this.#failing) log.error('could not write messages to disk; publishers get nacks until it works again', { err: error });
    if (ok && this.#failing) log.warn('writing messages to disk works again');
    this.#failing = !ok;
    const waiters = this.#waiters;
    this.#waiters = new Set();
    for (const w of waiters) w.committed(round, ok);
    if (this.#dirty.size > 0 || this.#waiters.size > 0) {
      this.#scheduled = ok ? setImmediate(runRound, this) : setTimeout(runRound, RETRY_MS, this).unref();
    }
  }
}

function runRound(commit: GroupCommit): void {
  commit.run();
}

function ignoreError(): void {}
