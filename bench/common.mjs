// Shared pieces of the durable-store benchmarks (persistent-throughput, backlog, recovery):
// finding the broker process behind a port, reading its RSS and CPU time from /proc, confirmed
// publishing with a sliding window, draining with multiple acks, medians and tables.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import amqp from 'amqplib';

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function portOf(url) {
  const u = new URL(url);
  return Number(u.port || 5672);
}

/** The pid of the local process listening on the URL's port (Warren's node, RabbitMQ's beam.smp), or null. */
export function brokerPid(url) {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${portOf(url)}`], { encoding: 'utf8' });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Resident set size in MB (VmRSS), and the peak so far (VmHWM), or null when the process is gone. */
export function memoryOf(pid) {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** User+system CPU seconds the process has used (all threads). */
export function cpuSecondsOf(pid) {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** Busy CPU seconds of the whole machine (all CPUs, everything but idle and iowait), to see load from others. */
export function machineCpuSeconds() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / 100;
}

/**
 * Waits until the machine has been nearly idle (busy CPU under `maxPercent` of one core) for
 * `seconds` in a row, or `timeoutSeconds` passed: other jobs on a shared machine skew results.
 * Returns the seconds waited.
 */
export async function waitForQuiet({ maxPercent = 15, seconds = 3, timeoutSeconds = 600 } = {}) {
  const start = performance.now();
  let quiet = 0;
  let said = false;
  while (quiet < seconds && performance.now() - start < timeoutSeconds * 1000) {
    const a = machineCpuSeconds();
    await sleep(1000);
    const busy = (machineCpuSeconds() - a) * 100;
    quiet = busy < maxPercent ? quiet + 1 : 0;
    if (!quiet && !said && performance.now() - start > 5000) {
      log(`waiting for the machine to go quiet (busy ${busy.toFixed(0)}% of a core)`);
      said = true;
    }
  }
  return (performance.now() - start) / 1000;
}

/** Bytes under a directory (du -sb), or NaN. */
export function diskUsage(dir) {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
  } catch {
    return NaN;
  }
}

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function fmt(n, digits = 0) {
  if (typeof n === 'string') return n;
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Prints a Markdown table (right-aligned numbers), so results paste straight into docs/PERFORMANCE.md. */
export function printTable(headers, rows) {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'string' ? c : fmt(c))));
  const widths = headers.map((h, i) => Math.max(h.length, 3, ...cells.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  console.log(line(headers));
  console.log('| ' + widths.map((w, i) => (i === 0 ? '-'.repeat(w) : '-'.repeat(w - 1) + ':')).join(' | ') + ' |');
  for (const r of cells) console.log(line(r));
}

export function log(...args) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${args.join(' ')}\n`);
}

/** Messages in the queue, by passive declare on a fresh channel (null if it does not exist). */
export async function queueDepth(conn, queue) {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    const ok = await ch.checkQueue(queue);
    await ch.close();
    return ok.messageCount;
  } catch {
    return null;
  }
}

/**
 * Publishes `count` persistent messages to `queue` on a confirm channel, keeping at most `window`
 * unconfirmed in flight (a sliding window: a confirm lets the next publish go at once). The caller
 * reads the counters in the returned state, sets `stopped` to end early, and awaits `done`.
 */
export function startConfirmedPublisher(ch, queue, body, { window, count = Infinity }) {
  const state = { published: 0, confirmed: 0, nacked: 0, inFlight: 0, stopped: false, done: null };
  let wake = null;
  const onConfirm = (err) => {
    state.inFlight--;
    if (err) state.nacked++;
    else state.confirmed++;
    if (wake && state.inFlight < window) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const options = { persistent: true };
  state.done = (async () => {
    while (!state.stopped && state.published < count) {
      if (state.inFlight >= window) {
        await new Promise((r) => (wake = r));
        continue;
      }
      state.inFlight++;
      state.published++;
      // respect amqplib's own backpressure (write buffer full → wait for drain)
      if (!ch.sendToQueue(queue, body, options, onConfirm)) await new Promise((r) => ch.once('drain', r));
    }
    await ch.waitForConfirms().catch(() => {});
  })();
  return state;
}

/**
 * One consumer with manual acks: acks with multiple=true every `ackEvery` deliveries (1 = one ack
 * per message). Resolves `state.done` after `count` deliveries.
 */
export async function startConsumer(ch, queue, { prefetch, ackEvery = 1, count = Infinity }) {
  await ch.prefetch(prefetch);
  const state = { received: 0, redelivered: 0, done: null, tag: null };
  let resolveDone;
  state.done = new Promise((r) => (resolveDone = r));
  let pending = 0;
  const ok = await ch.consume(queue, (m) => {
    if (m.fields.redelivered) state.redelivered++;
    if (ackEvery <= 1) ch.ack(m);
    else if (++pending >= ackEvery || state.received + 1 === count) {
      ch.ack(m, true);
      pending = 0;
    }
    if (++state.received === count) resolveDone();
  }, { noAck: false });
  state.tag = ok.consumerTag;
  return state;
}

export async function connect(url) {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  return conn;
}
