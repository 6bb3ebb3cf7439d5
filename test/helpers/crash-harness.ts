/**
 * Crash-safety harness for the durable message store, shared by test/store-crash.test.ts and
 * bench/crash-soak.mjs (which imports the compiled dist/test/helpers/crash-harness.js).
 *
 * Each run starts the broker as a child process on one data directory, publishes persistent
 * messages with publisher confirms into a durable queue while a manual-ack consumer takes them,
 * and SIGKILLs the broker at a random moment. A `Ledger` keeps, per message id, what the clients
 * saw: published, confirmed, delivered (how often, with which redelivered flag, in which run), ack
 * sent. After the last crash, `drainAndVerify` restarts the broker, drains the queue, stops it
 * cleanly and checks that it comes back empty. `Ledger.check` then lists every broken promise:
 *
 *   lost               a confirmed id was never delivered
 *   never-acked        a confirmed id was delivered but disappeared before the consumer could ack
 *                      it (the broker only drops a message on an ack, so it must come back)
 *   not-redelivered    a delivery of an id delivered before did not have redelivered=true
 *   same-run-duplicate an id delivered twice by one broker process (nothing requeues within a run)
 *   phantom            a delivery whose id was never published, or whose body is not ours
 *   recovery-count     after a restart the queue held fewer messages than there are confirmed ids
 *                      the consumer never acked (pinpoints the run that lost them)
 *   drain              the final drain / clean restart did not leave an empty queue
 *
 * An ack sent just before a kill may be lost; that only shows up as a redelivery, which is allowed.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';

export const BROKER_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Broker child process

export interface BrokerProcess {
  child: ChildProcess;
  port: number;
  /** Everything the broker wrote to stderr (JSON log lines at warn and above). */
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** How long from spawn to the ready line, ms. */
  startupMs: number;
}

const liveChildren = new Set<ChildProcess>();

/** SIGKILLs every broker this module started that is still running (after hooks, exit). */
export function killAllBrokers(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAllBrokers);

/** Starts `warren start` on `dataDir` and resolves once it printed its ready line. */
export async function startBroker(dataDir: string, timeoutMs = 20_000): Promise<BrokerProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, [
    BROKER_MAIN, 'start', '--amqp-port', '0', '--management-port', '0', '--metrics-port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WARREN_LOG_LEVEL: 'warn' } });
  liveChildren.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve({ code, signal });
    });
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /AMQP on [^:\s]+:(\d+)/.exec(stdout);
    if (m) {
      return { child, port: Number(m[1]), stderr: () => stderr, exited, startupMs: Math.round(performance.now() - started) };
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`broker exited before it was ready (code ${child.exitCode}, signal ${child.signalCode}): ${stderr.trim()}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`broker not ready within ${timeoutMs} ms; stdout=${stdout} stderr=${stderr}`);
    }
    await sleep(10);
  }
}

/** SIGKILL, and wait until the process is gone. */
export async function killBroker(b: BrokerProcess): Promise<void> {
  b.child.kill('SIGKILL');
  await b.exited;
}

/** SIGTERM (clean shutdown); resolves with the exit code. */
export async function stopBroker(b: BrokerProcess, timeoutMs = 15_000): Promise<number | null> {
  b.child.kill('SIGTERM');
  const timer = setTimeout(() => b.child.kill('SIGKILL'), timeoutMs);
  const { code } = await b.exited;
  clearTimeout(timer);
  return code;
}

// ---------------------------------------------------------------------------------------------
// Messages

/**
 * Every record in the queue's segment log is RECORD_BYTES long: 8 (length, crc) + 23 (flags, seq,
 * time, two name lengths, properties length) + queue name + 7 (amqplib's properties for a
 * persistent message: flags, empty headers table, delivery mode) + body. 90 divides 65520, so in
 * every segment a record starts at 65536 (16 + 728 * 90): on-disk offsets that look like other
 * 32-bit values of the store's files (0x00010000 is the ack-file header's version word) are real
 * record offsets here, so mix-ups between them show up as lost messages.
 */
export const RECORD_BYTES = 90;
const PREFIX = 'crash:';
const ID_DIGITS = 12;

export function bodyBytesFor(queue: string): number {
  return Math.max(PREFIX.length + ID_DIGITS, RECORD_BYTES - 38 - Buffer.byteLength(queue));
}

export function encodeBody(id: number, bodyBytes: number): Buffer {
  const b = Buffer.alloc(bodyBytes, 0x2e); // '.'
  b.write(PREFIX, 0, 'latin1');
  b.write(String(id).padStart(ID_DIGITS, '0'), PREFIX.length, 'latin1');
  return b;
}

/** The id in a body, or -1 when the body is not one of ours. */
export function decodeBody(b: Buffer): number {
  if (b.length < PREFIX.length + ID_DIGITS || b.toString('latin1', 0, PREFIX.length) !== PREFIX) return -1;
  const digits = b.toString('latin1', PREFIX.length, PREFIX.length + ID_DIGITS);
  return /^\d+$/.test(digits) ? Number(digits) : -1;
}

// ---------------------------------------------------------------------------------------------
// Ledger: what the clients saw, per id (ids are 1, 2, 3, ... across all runs)

const PUBLISHED = 1;
const CONFIRMED = 2;
const NACKED = 4;
const ACK_SENT = 8;

export type ViolationKind = 'lost' | 'never-acked' | 'not-redelivered' | 'same-run-duplicate' | 'phantom' | 'recovery-count' | 'drain';

export interface Violation {
  kind: ViolationKind;
  id: number;
  detail: string;
}

const MAX_EXAMPLES = 40;

export class Ledger {
  #flags = new Uint8Array(1 << 16);
  #deliveries = new Uint16Array(1 << 16);
  /** Run of the first and of the last delivery of each id (-1: none). */
  #firstRun = new Int32Array(1 << 16).fill(-1);
  #lastRun = new Int32Array(1 << 16).fill(-1);
  #lastId = 0;
  #ackSentCount = 0;
  #confirmedNotAcked = 0;
  #shortReported = 0;
  readonly violations: Violation[] = [];
  readonly violationCounts = new Map<ViolationKind, number>();

  /** The highest id handed out so far. */
  get lastId(): number {
    return this.#lastId;
  }

  newId(): number {
    const id = ++this.#lastId;
    if (id >= this.#flags.length) this.#grow(id);
    this.#flags[id]! |= PUBLISHED;
    return id;
  }

  /** Confirmed ids the consumer has not acked: the broker must hold at least this many. */
  get confirmedNotAcked(): number {
    return this.#confirmedNotAcked;
  }

  confirmed(id: number): void {
    const f = this.#flags[id]!;
    if ((f & (CONFIRMED | ACK_SENT)) === 0) this.#confirmedNotAcked++;
    this.#flags[id] = f | CONFIRMED;
  }

  nacked(id: number): void {
    this.#flags[id]! |= NACKED;
  }

  ackSent(id: number): void {
    if (id <= 0 || id > this.#lastId) return;
    const f = this.#flags[id]!;
    if ((f & ACK_SENT) !== 0) return;
    this.#ackSentCount++;
    if ((f & CONFIRMED) !== 0) this.#confirmedNotAcked--;
    this.#flags[id] = f | ACK_SENT;
  }

  isConfirmed(id: number): boolean {
    return (this.#flags[id]! & CONFIRMED) !== 0;
  }

  /**
   * After a restart, before anything is consumed: the queue must hold every confirmed id the
   * consumer never acked. Reported when the shortfall grows (once lost, always short).
   */
  checkRecovered(ready: number, where: string): void {
    const short = this.#confirmedNotAcked - ready;
    if (short <= this.#shortReported) return;
    this.violation('recovery-count', -1, `${where}: the restarted broker holds ${ready} messages, but ${this.#confirmedNotAcked} confirmed messages were never acked (${short - this.#shortReported} more missing)`);
    this.#shortReported = short;
  }

  /** Records a delivery; returns true when the id had been delivered before. */
  delivered(id: number, redelivered: boolean, run: number): boolean {
    if (id <= 0 || id > this.#lastId || (this.#flags[id]! & PUBLISHED) === 0) {
      this.violation('phantom', id, `run ${run}: delivery of an id that was never published (redelivered=${redelivered})`);
      return false;
    }
    const before = this.#deliveries[id]!;
    if (before > 0) {
      if (!redelivered) {
        this.violation('not-redelivered', id, `run ${run}: delivery #${before + 1} has redelivered=false (first delivered in run ${this.#firstRun[id]}, last in run ${this.#lastRun[id]}, confirmed=${this.isConfirmed(id)})`);
      }
      if (this.#lastRun[id] === run) {
        this.violation('same-run-duplicate', id, `run ${run}: delivered again by the same broker process (redelivered=${redelivered})`);
      }
    } else {
      this.#firstRun[id] = run;
    }
    if (before < 0xffff) this.#deliveries[id] = before + 1;
    this.#lastRun[id] = run;
    return before > 0;
  }

  violation(kind: ViolationKind, id: number, detail: string): void {
    this.violationCounts.set(kind, (this.violationCounts.get(kind) ?? 0) + 1);
    if (this.violations.length < MAX_EXAMPLES) this.violations.push({ kind, id, detail });
  }

  get violationTotal(): number {
    let n = 0;
    for (const c of this.violationCounts.values()) n += c;
    return n;
  }

  /** After the final drain: every confirmed id was delivered, and acked by the consumer at some point. */
  finalCheck(): void {
    for (let id = 1; id <= this.#lastId; id++) {
      const f = this.#flags[id]!;
      if ((f & CONFIRMED) === 0) continue;
      if (this.#deliveries[id] === 0) this.violation('lost', id, 'confirmed but never delivered');
      else if ((f & ACK_SENT) === 0) {
        this.violation('never-acked', id, `confirmed, delivered ${this.#deliveries[id]}x (last in run ${this.#lastRun[id]}), never acked by the consumer, yet gone after the final drain`);
      }
    }
  }

  /** Totals over all ids. */
  totals(): { published: number; confirmed: number; nacked: number; delivered: number; deliveries: number; duplicated: number; ackSent: number } {
    const t = { published: this.#lastId, confirmed: 0, nacked: 0, delivered: 0, deliveries: 0, duplicated: 0, ackSent: this.#ackSentCount };
    for (let id = 1; id <= this.#lastId; id++) {
      const f = this.#flags[id]!;
      if (f & CONFIRMED) t.confirmed++;
      if (f & NACKED) t.nacked++;
      const d = this.#deliveries[id]!;
      if (d > 0) t.delivered++;
      if (d > 1) t.duplicated++;
      t.deliveries += d;
    }
    return t;
  }

  #grow(id: number): void {
    let n = this.#flags.length;
    while (n <= id) n *= 2;
    const flags = new Uint8Array(n);
    flags.set(this.#flags);
    this.#flags = flags;
    const deliveries = new Uint16Array(n);
    deliveries.set(this.#deliveries);
    this.#deliveries = deliveries;
    const first = new Int32Array(n).fill(-1);
    first.set(this.#firstRun);
    this.#firstRun = first;
    const last = new Int32Array(n).fill(-1);
    last.set(this.#lastRun);
    this.#lastRun = last;
  }
}

// ---------------------------------------------------------------------------------------------
// One crash cycle

export interface CycleOptions {
  dataDir: string;
  queue: string;
  ledger: Ledger;
  /** Run number (1, 2, ...): deliveries are attributed to it. */
  run: number;
  /** SIGKILL this long after the publisher and consumer started. */
  killAfterMs: number;
  /** Run a publisher / a consumer in this cycle. */
  publish: boolean;
  consume: boolean;
  /** Consumer acks each delivery after a delay drawn from [0, ackDelayMaxMs] (0: at once). */
  ackDelayMaxMs: number;
  prefetch?: number;
  /** Most unconfirmed publishes in flight. */
  confirmWindow?: number;
  /** Publisher pauses while the queue holds about this many messages (keeps it bounded). */
  maxBacklog?: number;
  random?: () => number;
}

export interface CycleStats {
  run: number;
  killAfterMs: number;
  startupMs: number;
  /** Ready messages the broker reported right after the restart (what recovery found). */
  recovered: number;
  published: number;
  confirmed: number;
  notConfirmed: number;
  delivered: number;
  redeliveredFlag: number;
  duplicates: number;
  acksSent: number;
  /** About how many messages the queue holds: recovered + published - acked. */
  backlog: number;
  /** Broker log lines at warn or above (recovery found damage, and so on). */
  brokerWarnings: string[];
}

/** Starts the broker, publishes and consumes for `killAfterMs`, SIGKILLs it. */
export async function runCrashCycle(o: CycleOptions): Promise<CycleStats> {
  const random = o.random ?? Math.random;
  const ledger = o.ledger;
  const bodyBytes = bodyBytesFor(o.queue);
  const stats: CycleStats = {
    run: o.run, killAfterMs: o.killAfterMs, startupMs: 0, recovered: 0, published: 0, confirmed: 0, notConfirmed: 0,
    delivered: 0, redeliveredFlag: 0, duplicates: 0, acksSent: 0, backlog: 0, brokerWarnings: [],
  };
  const broker = await startBroker(o.dataDir);
  stats.startupMs = broker.startupMs;
  const conns: ChannelModel[] = [];
  let stopped = false;
  let publisherDone: Promise<void> = Promise.resolve();
  let failure: unknown;
  try {
    const url = `amqp://guest:guest@127.0.0.1:${broker.port}`;
    const subConn = await connectQuietly(url, conns);
    const sub = await subConn.createChannel();
    sub.on('error', ignore);
    const ok = await sub.assertQueue(o.queue, { durable: true });
    stats.recovered = ok.messageCount;
    ledger.checkRecovered(stats.recovered, `run ${o.run}`);

    if (o.consume) {
      await sub.prefetch(o.prefetch ?? 50);
      await sub.consume(o.queue, (msg: ConsumeMessage | null) => {
        if (!msg) return;
        const id = decodeBody(msg.content);
        if (id < 0) {
          ledger.violation('phantom', id, `run ${o.run}: body is not one of ours: ${msg.content.toString('latin1', 0, 40)}`);
          return;
        }
        stats.delivered++;
        if (msg.fields.redelivered) stats.redeliveredFlag++;
        if (ledger.delivered(id, msg.fields.redelivered, o.run)) stats.duplicates++;
        const ack = (): void => {
          if (stopped) return;
          try {
            sub.ack(msg);
          } catch {
            return; // channel closed under us: this ack never left
          }
          ledger.ackSent(id);
          stats.acksSent++;
        };
        const delay = o.ackDelayMaxMs > 0 ? Math.floor(random() * (o.ackDelayMaxMs + 1)) : 0;
        if (delay === 0) ack();
        else setTimeout(ack, delay);
      }, { noAck: false });
    }

    if (o.publish) {
      const pubConn = await connectQuietly(url, conns);
      const pub = await pubConn.createConfirmChannel();
      pub.on('error', ignore);
      publisherDone = publishLoop(pub, o, bodyBytes, stats, () => stopped);
    }

    await sleep(o.killAfterMs);
  } catch (err) {
    failure = err;
  } finally {
    // The broker must still be running: anything else is a crash of its own, not our kill.
    const died = broker.child.exitCode !== null || broker.child.signalCode !== null;
    await killBroker(broker);
    stats.brokerWarnings = broker.stderr().split('\n').filter((l) => l.trim() !== '');
    // Let the clients read what the broker wrote before it died, and notice the dead sockets.
    await Promise.race([Promise.all(conns.map(closedPromise)), sleep(3000)]);
    stopped = true;
    await Promise.race([publisherDone, sleep(3000)]);
    if (died) {
      const { code, signal } = await broker.exited;
      failure = new Error(`the broker exited on its own (code ${code}, signal ${signal}) before the kill; stderr:\n${broker.stderr().trim()}`);
    }
  }
  if (failure !== undefined) {
    const why = failure instanceof Error ? failure.message : String(failure);
    throw new Error(`run ${o.run}: ${why}${stats.brokerWarnings.length ? `\nbroker stderr:\n${stats.brokerWarnings.join('\n')}` : ''}`, { cause: failure });
  }
  stats.notConfirmed = stats.published - stats.confirmed;
  stats.backlog = stats.recovered + stats.published - stats.acksSent;
  return stats;
}

async function publishLoop(ch: ConfirmChannel, o: CycleOptions, bodyBytes: number, stats: CycleStats, stopped: () => boolean): Promise<void> {
  const ledger = o.ledger;
  const window = o.confirmWindow ?? 500;
  const maxBacklog = o.maxBacklog ?? 20_000;
  let outstanding = 0;
  let closed = false;
  let wake: (() => void) | null = null;
  const signal = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  ch.on('close', () => {
    closed = true;
    signal();
  });
  ch.on('drain', signal);
  let n = 0;
  while (!stopped() && !closed) {
    if (outstanding >= window || stats.recovered + stats.published - stats.acksSent >= maxBacklog) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(signal, 20);
      });
      continue;
    }
    const id = ledger.newId();
    stats.published++;
    outstanding++;
    let writable: boolean;
    try {
      writable = ch.publish('', o.queue, encodeBody(id, bodyBytes), { persistent: true }, (err) => {
        outstanding--;
        if (err) ledger.nacked(id);
        else {
          ledger.confirmed(id);
          stats.confirmed++;
        }
        signal();
      });
    } catch {
      outstanding--; // the channel is closed: this one never went out
      break;
    }
    if (!writable) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(signal, 50);
      });
    } else if (++n % 64 === 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Final drain

export interface DrainStats {
  recovered: number;
  delivered: number;
  redeliveredFlag: number;
  duplicates: number;
  /** Ready messages after a clean stop and one more start (must be 0). */
  afterCleanRestart: number;
  cleanExitCode: number | null;
  brokerWarnings: string[];
}

/**
 * Restarts the broker, consumes and acks everything, checks the queue is empty, stops cleanly
 * (SIGTERM, exit 0), starts once more and checks the queue is still empty. Deliveries go to the
 * ledger as run `run`; then `ledger.finalCheck()` runs.
 */
export async function drainAndVerify(dataDir: string, queue: string, ledger: Ledger, run: number, timeoutMs = 60_000): Promise<DrainStats> {
  const stats: DrainStats = {
    recovered: 0, delivered: 0, redeliveredFlag: 0, duplicates: 0, afterCleanRestart: -1, cleanExitCode: null, brokerWarnings: [],
  };
  let broker = await startBroker(dataDir);
  try {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`);
    conn.on('error', ignore);
    const ch = await conn.createChannel();
    const probe = await conn.createChannel();
    stats.recovered = (await ch.assertQueue(queue, { durable: true })).messageCount;
    ledger.checkRecovered(stats.recovered, `final drain (run ${run})`);
    await ch.prefetch(500);
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      const id = decodeBody(msg.content);
      if (id < 0) ledger.violation('phantom', id, `drain: body is not one of ours: ${msg.content.toString('latin1', 0, 40)}`);
      else {
        stats.delivered++;
        if (msg.fields.redelivered) stats.redeliveredFlag++;
        if (ledger.delivered(id, msg.fields.redelivered, run)) stats.duplicates++;
      }
      ch.ack(msg);
      ledger.ackSent(id);
    }, { noAck: false });
    // The probe's declare-ok comes after every delivery the broker made before it (same socket), and
    // each delivery is acked as it arrives: no ready messages left means the queue is drained.
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const q = await probe.checkQueue(queue);
      if (q.messageCount === 0) break;
      if (Date.now() > deadline) {
        ledger.violation('drain', -1, `queue still has ${q.messageCount} ready messages after ${timeoutMs} ms of draining`);
        break;
      }
      await sleep(50);
    }
    await ch.close();
    await probe.close();
    await conn.close();
    stats.cleanExitCode = await stopBroker(broker);
    if (stats.cleanExitCode !== 0) ledger.violation('drain', -1, `clean stop exited with code ${stats.cleanExitCode}`);
    stats.brokerWarnings.push(...broker.stderr().split('\n').filter((l) => l.trim() !== ''));

    broker = await startBroker(dataDir);
    const conn2 = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`);
    conn2.on('error', ignore);
    const ch2 = await conn2.createChannel();
    stats.afterCleanRestart = (await ch2.checkQueue(queue)).messageCount;
    if (stats.afterCleanRestart !== 0) {
      ledger.violation('drain', -1, `after draining, a clean stop and a restart the queue has ${stats.afterCleanRestart} messages again`);
    }
    await conn2.close();
    await stopBroker(broker);
    stats.brokerWarnings.push(...broker.stderr().split('\n').filter((l) => l.trim() !== ''));
  } finally {
    if (broker.child.exitCode === null && broker.child.signalCode === null) await killBroker(broker);
  }
  ledger.finalCheck();
  return stats;
}

// ---------------------------------------------------------------------------------------------
// A whole soak: cycles, then the final drain

export interface SoakOptions {
  dataDir: string;
  cycles: number;
  seed: number;
  queue?: string;
  minKillMs?: number;
  maxKillMs?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  ledger: Ledger;
  cycles: CycleStats[];
  drain: DrainStats;
  ms: number;
}

/** Seeded PRNG (mulberry32): a failing run can be repeated with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function formatCycle(s: CycleStats, ledger: Ledger, mode: string): string {
  return `cycle ${String(s.run).padStart(3)} [${mode}] kill@${String(s.killAfterMs).padStart(3)}ms start ${String(s.startupMs).padStart(4)}ms ` +
    `recovered ${s.recovered} | published ${s.published} confirmed ${s.confirmed} unconfirmed ${s.notConfirmed} | ` +
    `delivered ${s.delivered} (redelivered flag ${s.redeliveredFlag}, duplicates ${s.duplicates}) acks sent ${s.acksSent} | ` +
    `queue ~${s.backlog}` + (s.brokerWarnings.length ? ` | broker warnings ${s.brokerWarnings.length}` : '') +
    (ledger.violationTotal ? ` | VIOLATIONS so far ${ledger.violationTotal}` : '');
}

/** Consumer ack delays (upper bounds, ms), one drawn per cycle: 200 makes a slow consumer that
 * gets through only a few hundred messages before the kill, so it works through the same
 * segment over several crashes. */
const ACK_DELAYS = [0, 0, 3, 20, 200];

/**
 * Runs `cycles` crash cycles and the final drain. The workload varies per cycle (seeded): mostly
 * publisher and consumer together, sometimes only one of them (a backlog builds up, or a consumer
 * works through recovered messages), with fast or slow acks.
 */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const started = performance.now();
  const random = prng(o.seed);
  const queue = o.queue ?? 'crash-test';
  const minKill = o.minKillMs ?? 100;
  const maxKill = o.maxKillMs ?? 600;
  const log = o.log ?? (() => {});
  const ledger = new Ledger();
  const cycles: CycleStats[] = [];
  for (let run = 1; run <= o.cycles; run++) {
    const r = random();
    const publish = r < 0.85 || run === 1;
    const consume = r >= 0.1 || run === 1;
    const ackDelayMaxMs = ACK_DELAYS[Math.floor(random() * ACK_DELAYS.length)]!;
    const killAfterMs = Math.round(minKill + random() * (maxKill - minKill));
    const mode = `${publish ? 'P' : '-'}${consume ? 'C' : '-'} ack<=${String(ackDelayMaxMs).padStart(3)}ms`;
    const s = await runCrashCycle({
      dataDir: o.dataDir, queue, ledger, run, killAfterMs, publish, consume, ackDelayMaxMs, random,
    });
    cycles.push(s);
    log(formatCycle(s, ledger, mode));
    for (const w of s.brokerWarnings.slice(0, 5)) log(`    broker: ${w}`);
  }
  const drain = await drainAndVerify(o.dataDir, queue, ledger, o.cycles + 1);
  log(`final drain: recovered ${drain.recovered}, delivered ${drain.delivered} (redelivered flag ${drain.redeliveredFlag}, duplicates ${drain.duplicates}), ` +
    `clean stop exit ${drain.cleanExitCode}, ready after clean restart ${drain.afterCleanRestart}`);
  for (const w of drain.brokerWarnings.slice(0, 5)) log(`    broker: ${w}`);
  return { ledger, cycles, drain, ms: Math.round(performance.now() - started) };
}

export function formatSummary(r: SoakResult, seed: number): string[] {
  const t = r.ledger.totals();
  const lines = [
    `seed ${seed}: ${r.cycles.length} crash cycles + final drain in ${(r.ms / 1000).toFixed(1)} s`,
    `published ${t.published}, confirmed ${t.confirmed}, nacked/unconfirmed-with-error ${t.nacked}, ` +
      `distinct ids delivered ${t.delivered}, deliveries ${t.deliveries}, ids delivered more than once ${t.duplicated}, ids acked ${t.ackSent}`,
    `broker warnings: ${r.cycles.reduce((n, c) => n + c.brokerWarnings.length, 0) + r.drain.brokerWarnings.length}`,
  ];
  if (r.ledger.violationTotal === 0) lines.push('invariants: all hold');
  else {
    lines.push(`INVARIANT VIOLATIONS: ${[...r.ledger.violationCounts].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const v of r.ledger.violations) lines.push(`  ${v.kind} id ${v.id}: ${v.detail}`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------

const connClosed = new WeakMap<ChannelModel, Promise<void>>();

async function connectQuietly(url: string, conns: ChannelModel[]): Promise<ChannelModel> {
  const conn = await amqp.connect(url);
  conn.on('error', ignore);
  connClosed.set(conn, new Promise((resolve) => conn.once('close', () => resolve())));
  conns.push(conn);
  return conn;
}

/**
 * Resolves when the connection is closed. Waits for the client to notice the dead socket on its
 * own (so it still reads what the broker wrote before it died); after `graceMs`, closes it.
 */
function closedPromise(conn: ChannelModel, graceMs = 1000): Promise<void> {
  const closed = connClosed.get(conn);
  if (!closed) return Promise.resolve();
  const timer = setTimeout(() => conn.close().catch(ignore), graceMs);
  return closed.then(() => clearTimeout(timer));
}

function ignore(): void {}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

