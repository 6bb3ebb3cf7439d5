#!/usr/bin/env node
// Scenario S5 of the performance issue: "10k idle connections and 10k queues: broker memory".
// Opens --connections idle AMQP connections, then declares --queues empty queues, and reads the
// broker's resident memory (VmRSS of the process listening on the URL's port: Warren's node,
// RabbitMQ's beam.smp) before, after the connections and after the queues; per-item cost is the
// RSS difference divided by the count. Then deletes the queues and closes the connections.
//
//   node bench/idle-memory.mjs --url amqp://guest:guest@127.0.0.1:5681 --name warren \
//        --url amqp://guest:guest@127.0.0.1:5672 --name rabbitmq \
//        [--connections 10000] [--queues 10000] [--runs 2] [--durable] [--concurrency 200]
//        [--channels 4] [--window 500] [--json]
//
// With several --url, runs alternate A B A B. The table (stdout) shows medians per broker, and
// the first broker's ratio to each of the others. --json prints every run's numbers as JSON.
//
// Idle connection: a fully opened AMQP connection made by a minimal client over node:net
// (protocol header, start-ok with PLAIN "\0user\0pass" from the URL, tune-ok, connection.open,
// channel.open on channel 1), then nothing. The client answers connection.tune with heartbeat 0
// (no heartbeats: both Warren and RabbitMQ accept the client's 0), and would echo a heartbeat
// frame anyway if a broker sent one. Connections are opened --concurrency at a time, progress on
// stderr. amqplib is not used: 10k amqplib connections in one process would cost more than the
// broker side we measure.
//
// Empty queues: --queues queue.declare (non-durable, not exclusive, not auto-delete; durable with
// --durable) on --channels channels of one extra connection, pipelined with at most --window
// declares outstanding per channel. Names are unique per run (s5-idle-<run id>-<n>).
//
// RSS is read once it settles: samples 1 s apart until 3 in a row are within 1% of each other
// (at most --settle-max seconds, default 20). For RabbitMQ (process named beam.smp) the bench also
// logs `rabbitmq-diagnostics memory_breakdown` after each phase unless --no-breakdown.
//
// File descriptors: 10k connections need `ulimit -n` above 10k in this process AND in the broker.
// Node raises its own soft limit to the hard limit at start-up, but cannot go past the hard limit;
// when the limit is still below connections + 100 this script re-runs itself through
// `sh -c 'ulimit -n 65536 && exec node ...'` (works as root with CAP_SYS_RESOURCE; otherwise it
// falls back to the hard limit and warns). The brokers must be started with a raised limit too,
// e.g. (use `$(ulimit -Hn)` instead of 65536 where that is refused, as on a VM capped at 20000)
//   sh -c 'ulimit -n 65536 && exec node dist/src/cli/main.js start --amqp-port 5681 ...'
//   su rabbitmq -s /bin/sh -c 'ulimit -n 65536; RABBITMQ_NODE_PORT=5672 /usr/lib/rabbitmq/bin/rabbitmq-server -detached'
// The script warns when the broker's "Max open files" (/proc/<pid>/limits) is too low. RabbitMQ
// has no connection limit by default but refuses sockets beyond its file_descriptors.sockets_limit
// (about 90% of its fd limit; see `rabbitmqctl status`). The local ephemeral port range
// (32768–60999 by default) is enough for ~28k connections to one broker port.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brokerPid, fmt, log, median, memoryOf, printTable, sleep } from './common.mjs';

// ---------------------------------------------------------------------------------------------
// A minimal AMQP 0-9-1 client: just enough for handshake, channel.open, queue.declare/delete, close.

const FRAME_END = 0xce;

function shortstr(s) {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length]), b]);
}
function longstr(s) {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}
function u16(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
/** A field table of string values (enough for client-properties). */
function table(obj) {
  const parts = [];
  for (const [k, v] of Object.entries(obj)) parts.push(shortstr(k), Buffer.from('S'), longstr(String(v)));
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(body.length), body]);
}
function methodFrame(channel, classId, methodId, ...args) {
  const payload = Buffer.concat([u16(classId), u16(methodId), ...args]);
  const head = Buffer.alloc(7);
  head.writeUInt8(1, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([FRAME_END])]);
}
const HEARTBEAT_FRAME = Buffer.from([8, 0, 0, 0, 0, 0, 0, FRAME_END]);
const EMPTY_TABLE = u32(0);

/**
 * One AMQP connection. `open()` resolves after channel.open-ok on channels 1..channels.
 * `onMethod(channel, classId, methodId, payload)` hooks let callers count declare-ok etc.
 */
class MiniConnection {
  constructor(url) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port || 5672);
    this.user = decodeURIComponent(u.username || 'guest');
    this.pass = decodeURIComponent(u.password || 'guest');
    const path = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/';
    this.vhost = path;
    this.buf = null;
    this.waiters = [];
    this.onMethod = null;
    this.closed = false;
  }

  /** Resolves with the next method matching (channel, class, method); rejects on close. */
  expect(channel, classId, methodId) {
    return new Promise((resolve, reject) => this.waiters.push({ channel, classId, methodId, resolve, reject }));
  }

  #fail(err) {
    this.closed = true;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(err);
    if (this.onClose) this.onClose(err);
  }

  #onData(chunk) {
    let buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const type = buf[0];
      const channel = buf.readUInt16BE(1);
      const size = buf.readUInt32BE(3);
      if (buf.length < size + 8) break;
      const payload = buf.subarray(7, 7 + size);
      buf = buf.subarray(size + 8);
      if (type === 8) {
        this.socket.write(HEARTBEAT_FRAME);
        continue;
      }
      if (type !== 1) continue;
      const classId = payload.readUInt16BE(0);
      const methodId = payload.readUInt16BE(2);
      if ((classId === 10 && methodId === 50) || (classId === 20 && methodId === 40)) {
        // connection.close / channel.close from the broker: read reply code and text
        const code = payload.readUInt16BE(4);
        const text = payload.subarray(7, 7 + payload[6]).toString();
        if (classId === 10) {
          this.socket.write(methodFrame(0, 10, 51));
          this.#fail(new Error(`connection closed by broker: ${code} ${text}`));
          this.socket.end();
          return;
        }
        this.socket.write(methodFrame(channel, 20, 41));
        this.#fail(new Error(`channel ${channel} closed by broker: ${code} ${text}`));
        continue;
      }
      if (this.onMethod && this.onMethod(channel, classId, methodId, payload)) continue;
      const i = this.waiters.findIndex((w) => w.channel === channel && w.classId === classId && w.methodId === methodId);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(payload);
    }
    this.buf = buf.length ? Buffer.from(buf) : null;
  }

  async open({ channels = 1, timeoutMs = 60000 } = {}) {
    const socket = net.connect({ host: this.host, port: this.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (c) => this.#onData(c));
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => { if (!this.closed) this.#fail(new Error('socket closed')); });
    const timer = setTimeout(() => { this.#fail(new Error('handshake timeout')); socket.destroy(); }, timeoutMs);
    try {
      await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
      const start = this.expect(0, 10, 10);
      socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])); // "AMQP" 0-9-1
      await start;
      const tune = this.expect(0, 10, 30);
      socket.write(methodFrame(0, 10, 11,
        table({ product: 'warren-bench-idle', platform: 'node' }),
        shortstr('PLAIN'), longstr(`\0${this.user}\0${this.pass}`), shortstr('en_US')));
      const t = await tune;
      const channelMax = t.readUInt16BE(4);
      const frameMax = t.readUInt32BE(6);
      const openOk = this.expect(0, 10, 41);
      // tune-ok: the broker's channel-max and frame-max, heartbeat 0 (none)
      socket.write(methodFrame(0, 10, 31, u16(channelMax), u32(frameMax), u16(0)));
      socket.write(methodFrame(0, 10, 40, shortstr(this.vhost), shortstr(''), Buffer.from([0])));
      await openOk;
      const oks = [];
      for (let ch = 1; ch <= channels; ch++) {
        oks.push(this.expect(ch, 20, 11));
        socket.write(methodFrame(ch, 20, 10, shortstr('')));
      }
      await Promise.all(oks);
    } finally {
      clearTimeout(timer);
    }
    return this;
  }

  declareFrame(channel, queue, durable) {
    // reserved short, queue, bits passive|durable|exclusive|auto-delete|no-wait, arguments
    return methodFrame(channel, 50, 10, u16(0), shortstr(queue), Buffer.from([durable ? 0b10 : 0]), EMPTY_TABLE);
  }

  deleteFrame(channel, queue) {
    return methodFrame(channel, 50, 40, u16(0), shortstr(queue), Buffer.from([0]));
  }

  async close() {
    if (this.closed) return;
    const ok = this.expect(0, 10, 51).catch(() => {});
    this.socket.write(methodFrame(0, 10, 50, u16(200), shortstr('bye'), u16(0), u16(0)));
    await Promise.race([ok, sleep(5000)]);
    this.closed = true;
    this.socket.destroy();
  }
}

/** Runs `fn(i)` for i in 0..n-1 with at most `limit` in flight; `progress(done)` now and then. */
async function pool(n, limit, fn, progress) {
  let next = 0;
  let done = 0;
  let lastReport = performance.now();
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await fn(i);
      done++;
      if (progress && performance.now() - lastReport > 2000) {
        lastReport = performance.now();
        progress(done);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

/**
 * Sends one frame per queue name over `channels` channels of `conn`, at most `window` outstanding
 * per channel, and waits for every reply (class 50, `okMethod`).
 */
async function pipelined(conn, names, { channels, window, frame, okMethod, label }) {
  let nextIndex = 0;
  let replies = 0;
  let lastReport = performance.now();
  const outstanding = new Array(channels + 1).fill(0);
  let finish;
  let fail;
  const done = new Promise((res, rej) => { finish = res; fail = rej; });
  const pump = (ch) => {
    const frames = [];
    while (outstanding[ch] < window && nextIndex < names.length) {
      frames.push(frame(ch, names[nextIndex++]));
      outstanding[ch]++;
    }
    if (frames.length) conn.socket.write(Buffer.concat(frames));
  };
  conn.onMethod = (ch, classId, methodId) => {
    if (classId !== 50 || methodId !== okMethod) return false;
    outstanding[ch]--;
    replies++;
    if (performance.now() - lastReport > 2000) {
      lastReport = performance.now();
      log(`${label}: ${fmt(replies)} / ${fmt(names.length)}`);
    }
    if (replies === names.length) finish();
    else pump(ch);
    return true;
  };
  conn.onClose = (err) => fail(err);
  if (names.length === 0) finish();
  for (let ch = 1; ch <= channels; ch++) pump(ch);
  try {
    await done;
  } finally {
    conn.onMethod = null;
    conn.onClose = null;
  }
}

// ---------------------------------------------------------------------------------------------

/** Samples RSS every second until 3 samples in a row are within 1% (or maxSeconds): the last one. */
async function settledRss(pid, maxSeconds = 20) {
  const samples = [];
  const start = performance.now();
  for (;;) {
    const m = memoryOf(pid);
    if (!m) throw new Error(`cannot read /proc/${pid}/status: the broker is gone, or this process ran out of file descriptors`);
    samples.push(m.rss);
    const last = samples.slice(-3);
    if (last.length === 3 && (Math.max(...last) - Math.min(...last)) <= 0.01 * Math.max(...last)) return m.rss;
    if (performance.now() - start > maxSeconds * 1000) return m.rss;
    await sleep(1000);
  }
}

function processName(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function maxOpenFiles(pid) {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * RabbitMQ's own memory breakdown (the connection_*, queue_*, other_proc, binary and
 * allocated_unused entries), or null when the CLI is not there. Its "binary" figure double-counts
 * binaries shared between processes (it can exceed RSS many times over); read the process entries.
 */
function rabbitBreakdown() {
  try {
    const out = execFileSync('rabbitmq-diagnostics', ['-q', 'memory_breakdown', '--unit', 'mb'],
      { encoding: 'utf8', timeout: 30000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').map((l) => l.trim()).filter((l) => /^(connection_|queue_|other_proc|binary|allocated_unused|total)/.test(l) && /:\s*[\d.]+ mb/.test(l)).join('; ');
  } catch {
    return null;
  }
}

/**
 * Opens `connections` idle connections (one channel each) and then declares `queues` empty queues
 * against the broker at `url` whose process is `pid`; returns the broker's settled RSS at each
 * step (MB), the per-item cost (KB) and the time each step took (s). Cleans up after itself.
 * `onPhase(phase, result)`, if given, is awaited after each measurement ('before', 'connections',
 * 'queues') and after the clean-up ('closed'): a hook to take the broker's own statistics.
 */
export async function runIdleMemory({
  url, pid, connections = 10000, queues = 10000, durable = false,
  concurrency = 200, channels = 4, window = 500, settleMax = 20, breakdown = true, label = 'broker', onPhase,
}) {
  pid ??= brokerPid(url);
  if (!pid) throw new Error(`no local process listens on ${url}`);
  const isRabbit = processName(pid) === 'beam.smp';
  const fdLimit = maxOpenFiles(pid);
  if (fdLimit < connections + 200) log(`${label}: WARNING broker pid ${pid} has Max open files ${fdLimit}, below ${connections} connections`);
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const names = Array.from({ length: queues }, (_, i) => `s5-idle-${runId}-${i}`);
  const result = { pid, durable, connections, queues, breakdown: {} };

  log(`${label}: pid ${pid}, settling`);
  result.rssBefore = await settledRss(pid, settleMax);
  if (isRabbit && breakdown) result.breakdown.before = rabbitBreakdown();
  await onPhase?.('before', result);

  const conns = [];
  const control = await new MiniConnection(url).open({ channels });
  let t = performance.now();
  let failed = 0;
  await pool(connections, concurrency, async () => {
    try {
      conns.push(await new MiniConnection(url).open());
    } catch (e) {
      if (failed++ < 3) log(`${label}: connection failed: ${e.message}`);
    }
  }, (n) => log(`${label}: ${fmt(n)} / ${fmt(connections)} connections open, broker RSS ${fmt(memoryOf(pid)?.rss)} MB`));
  result.connectSeconds = (performance.now() - t) / 1000;
  result.connectionsOpen = conns.length;
  if (failed) log(`${label}: ${failed} connections failed`);
  log(`${label}: ${fmt(conns.length)} connections open in ${fmt(result.connectSeconds, 1)} s, settling`);
  result.rssConnections = await settledRss(pid, settleMax);
  if (isRabbit && breakdown) result.breakdown.connections = rabbitBreakdown();
  await onPhase?.('connections', result);

  t = performance.now();
  await pipelined(control, names, {
    channels, window, label: `${label} declare`, okMethod: 11,
    frame: (ch, q) => control.declareFrame(ch, q, durable),
  });
  result.declareSeconds = (performance.now() - t) / 1000;
  log(`${label}: ${fmt(queues)} ${durable ? 'durable' : 'non-durable'} queues declared in ${fmt(result.declareSeconds, 1)} s, settling`);
  result.rssQueues = await settledRss(pid, settleMax);
  if (isRabbit && breakdown) result.breakdown.queues = rabbitBreakdown();
  await onPhase?.('queues', result);
  for (const [k, v] of Object.entries(result.breakdown)) if (v) log(`${label}: memory_breakdown ${k}: ${v}`);

  // clean up: delete the queues, close the connections
  t = performance.now();
  await pipelined(control, names, {
    channels, window, label: `${label} delete`, okMethod: 41, frame: (ch, q) => control.deleteFrame(ch, q),
  });
  result.deleteSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  await pool(conns.length, concurrency, (i) => conns[i].close());
  await control.close();
  result.closeSeconds = (performance.now() - t) / 1000;
  await onPhase?.('closed', result);
  log(`${label}: cleaned up (delete ${fmt(result.deleteSeconds, 1)} s, close ${fmt(result.closeSeconds, 1)} s)`);

  result.perConnectionKB = ((result.rssConnections - result.rssBefore) * 1024) / Math.max(1, conns.length);
  result.perQueueKB = ((result.rssQueues - result.rssConnections) * 1024) / Math.max(1, queues);
  return result;
}

// ---------------------------------------------------------------------------------------------
// CLI

async function main() {
  const { values: o } = parseArgs({ options: {
    url: { type: 'string', multiple: true }, name: { type: 'string', multiple: true },
    connections: { type: 'string', default: '10000' }, queues: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '1' }, durable: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '200' }, channels: { type: 'string', default: '4' },
    window: { type: 'string', default: '500' }, 'settle-max': { type: 'string', default: '20' },
    'no-breakdown': { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
    pause: { type: 'string', default: '3' },
  } });
  const connections = Number(o.connections);

  // Raise our own fd limit by re-running through a shell (node cannot call setrlimit).
  const soft = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  if (Number.isFinite(soft) && soft < connections + 100 && !process.env.WARREN_BENCH_REEXEC) {
    log(`ulimit -n is ${soft}; re-running with ulimit -n 65536`);
    const argv = [process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)];
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('sh', ['-c', `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${quoted}`],
      { stdio: 'inherit', env: { ...process.env, WARREN_BENCH_REEXEC: '1' } });
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    return;
  }

  if (Number.isFinite(soft) && soft < connections + 100) {
    log(`WARNING: ulimit -n is still ${soft} (hard limit ${execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()}), `
      + `below ${connections} connections + 100: connections will fail with EMFILE`);
  }
  const urls = o.url ?? ['amqp://guest:guest@127.0.0.1:5672'];
  const names = urls.map((u, i) => o.name?.[i] ?? new URL(u).host);
  const runs = Number(o.runs);
  const all = urls.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < urls.length; i++) {
      const res = await runIdleMemory({
        url: urls[i], connections, queues: Number(o.queues), durable: o.durable,
        concurrency: Number(o.concurrency), channels: Number(o.channels), window: Number(o.window),
        settleMax: Number(o['settle-max']), breakdown: !o['no-breakdown'], label: `${names[i]} run ${r + 1}`,
      });
      all[i].push(res);
      log(`${names[i]} run ${r + 1}: RSS ${fmt(res.rssBefore, 1)} → ${fmt(res.rssConnections, 1)} → ${fmt(res.rssQueues, 1)} MB,`,
        `${fmt(res.perConnectionKB, 1)} KB/connection, ${fmt(res.perQueueKB, 1)} KB/queue`);
      await sleep(Number(o.pause) * 1000);
    }
  }
  if (o.json) console.log(JSON.stringify(Object.fromEntries(names.map((n, i) => [n, all[i]])), null, 2));

  const med = (i, k) => median(all[i].map((x) => x[k]));
  console.log(`\nS5 idle memory: ${fmt(connections)} connections (1 channel each, heartbeat 0), ${fmt(Number(o.queues))}`
    + ` ${o.durable ? 'durable' : 'non-durable'} queues; medians of ${runs} run(s)\n`);
  printTable(
    ['broker', 'RSS before MB', 'after conns MB', 'after queues MB', 'KB/connection', 'KB/queue', 'connect s', 'declare s'],
    names.map((n, i) => [n, fmt(med(i, 'rssBefore'), 1), fmt(med(i, 'rssConnections'), 1), fmt(med(i, 'rssQueues'), 1),
      fmt(med(i, 'perConnectionKB'), 1), fmt(med(i, 'perQueueKB'), 1), fmt(med(i, 'connectSeconds'), 1), fmt(med(i, 'declareSeconds'), 1)]),
  );
  if (names.length > 1) {
    console.log('');
    printTable(['ratio', 'KB/connection', 'KB/queue'], names.slice(1).map((n, j) => [`${names[0]} / ${n}`,
      fmt(med(0, 'perConnectionKB') / med(j + 1, 'perConnectionKB'), 2), fmt(med(0, 'perQueueKB') / med(j + 1, 'perQueueKB'), 2)]));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((e) => {
    log(e.stack ?? String(e));
    process.exit(1);
  });
}
