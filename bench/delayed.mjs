#!/usr/bin/env node
// Delayed messages at scale (issue "Delayed messages"): publishes --count persistent messages with
// confirms (sliding window of --window) to a durable x-delayed-message exchange, their x-delay
// spread evenly over [--min-delay, --min-delay + --spread] seconds, and reports
//   - the publish rate (confirmed msg/s),
//   - the broker's V8 heap (after a full GC) and RSS before, once all are pending, and the RSS
//     peak; the data directory's size,
//   - the accuracy of short-delay probes (--probe-delay ms, one every --probe-every ms) sent while
//     the bulk is published and for --probe-seconds after, while it is pending: how late each
//     arrived after its due time (publish time + delay, measured in this process), and how many
//     arrived early (must be 0).
// The bulk uses a routing key nothing is bound to, so the messages that come due during the run are
// dropped when routed; the probes go to a bound queue with a consumer in this process. With --check
// the bulk goes to a durable queue instead, and the script waits (up to the longest delay + 60 s)
// until that queue holds every message, and reports how many arrived.
//
//
//   node bench/delayed.mjs [--count 1000000] [--size 100] [--spread 3600] [--min-delay 60]
//        [--window 8192] [--probe-delay 1000] [--probe-every 250] [--probe-seconds 30]
//        [--data-dir DIR] [--amqp-port 5681] [--keep] [--check]
//
// The broker runs as a child of this script (Warren.start from dist/, with --expose-gc so the heap
// can be measured after a full GC; its RSS is VmRSS/VmHWM from /proc/<pid>/status), the publisher
// as another (amqplib costs more CPU than the broker), and this process only sends and times the
// probes. Build first (npm run build). Without --data-dir a temporary directory is used and removed.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, diskUsage, fmt, log, memoryOf, printTable, sleep, startConfirmedPublisher } from './common.mjs';

const { values: o } = parseArgs({ options: {
  count: { type: 'string', default: '1000000' }, size: { type: 'string', default: '100' },
  spread: { type: 'string', default: '3600' }, 'min-delay': { type: 'string', default: '60' },
  window: { type: 'string', default: '8192' }, 'probe-delay': { type: 'string', default: '1000' },
  'probe-every': { type: 'string', default: '250' }, 'probe-seconds': { type: 'string', default: '30' },
  'data-dir': { type: 'string' }, 'amqp-port': { type: 'string', default: '5681' }, keep: { type: 'boolean', default: false },
  check: { type: 'boolean', default: false },
  role: { type: 'string' }, url: { type: 'string' },
} });
const EXCHANGE = 'bench-delayed';
const PROBES = 'bench-delayed-probes';
const BULK = 'bench-delayed-bulk';
const MB = 1024 * 1024;

if (o.role === 'broker') await brokerChild();
else if (o.role === 'publisher') await publisherChild();
else await main();

/** The broker, reporting its memory when asked. */
async function brokerChild() {
  const { Warren } = await import(new URL('../dist/src/index.js', import.meta.url).href);
  const warren = await Warren.start({ amqpPort: Number(o['amqp-port']), managementPort: 0, metricsPort: 0, host: '127.0.0.1', dataDir: o['data-dir'] });
  process.on('message', async (msg) => {
    if (msg === 'memory') {
      global.gc?.();
      const m = process.memoryUsage();
      process.send({ heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers });
    } else if (msg === 'stop') {
      await warren.stop();
      process.exit(0);
    }
  });
  process.send('ready');
}

/** Publishes the bulk: x-delay spread evenly (shuffled by a stride) over the window. */
async function publisherChild() {
  const conn = await connect(o.url);
  const ch = await conn.createConfirmChannel();
  const count = Number(o.count);
  const min = Number(o['min-delay']) * 1000;
  const spread = Number(o.spread) * 1000;
  const body = Buffer.alloc(Number(o.size), 0x64);
  // startConfirmedPublisher publishes to a queue by name; route through the exchange instead.
  let i = 0;
  const target = { sendToQueue: (_q, content, options, cb) => {
    const k = (i++ * 7919) % count; // a permutation of 0..count-1 when count is not a multiple of 7919
    options.headers = { 'x-delay': min + Math.floor((k * spread) / count) };
    return ch.publish(EXCHANGE, 'bulk', content, options, cb);
  }, waitForConfirms: () => ch.waitForConfirms(), once: (e, f) => ch.once(e, f) };
  const state = startConfirmedPublisher(target, null, body, { window: Number(o.window), count });
  process.on('message', (msg) => {
    if (msg === 'mark') process.send({ confirmed: state.confirmed, nacked: state.nacked });
  });
  process.send('started');
  await state.done;
  process.send({ done: true, confirmed: state.confirmed, nacked: state.nacked });
  await conn.close();
  process.exit(0);
}

function child(role, args, execArgv = []) {
  const proc = fork(fileURLToPath(import.meta.url), ['--role', role, ...args], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies = [];
  let waiting = null;
  proc.on('message', (m) => (waiting ? (waiting(m), (waiting = null)) : replies.push(m)));
  const next = () => (replies.length ? Promise.resolve(replies.shift()) : new Promise((r) => (waiting = r)));
  return { proc, next, ask: (msg) => { proc.send(msg); return next(); }, exited: new Promise((r) => proc.once('exit', r)) };
}

async function main() {
  const dataDir = o['data-dir'] ?? mkdtempSync(join(tmpdir(), 'warren-bench-delayed-'));
  const url = `amqp://guest:guest@127.0.0.1:${o['amqp-port']}`;
  const count = Number(o.count);
  const broker = child('broker', ['--amqp-port', o['amqp-port'], '--data-dir', dataDir], ['--expose-gc']);
  await broker.next();
  const pid = broker.proc.pid;
  const conn = await connect(url);
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
  await ch.assertQueue(PROBES, { durable: true });
  await ch.purgeQueue(PROBES);
  await ch.bindQueue(PROBES, EXCHANGE, 'probe');
  if (o.check) {
    await ch.assertQueue(BULK, { durable: true });
    await ch.purgeQueue(BULK);
    await ch.bindQueue(BULK, EXCHANGE, 'bulk');
  }
  const before = await broker.ask('memory');
  log(`broker pid ${pid}, heap ${fmt(before.heapUsed / MB, 1)} MB, RSS ${fmt(before.rss / MB, 1)} MB; publishing ${fmt(count)}`);

  // Probes: persistent, confirmed, short delay; lateness = arrival - (send time + delay).
  const probeDelay = Number(o['probe-delay']);
  const probeCh = await conn.createConfirmChannel();
  const sentAt = new Map();
  const late = { publishing: [], pending: [] };
  let early = 0;
  let phase = 'publishing';
  let probeSeq = 0;
  await ch.consume(PROBES, (m) => {
    const due = sentAt.get(m.content.toString());
    if (due === undefined) return;
    const l = Date.now() - due;
    if (l < 0) early++;
    late[m.properties.headers.phase].push(l);
  }, { noAck: true });
  const probeTimer = setInterval(() => {
    const id = `p${++probeSeq}`;
    sentAt.set(id, Date.now() + probeDelay);
    probeCh.publish(EXCHANGE, 'probe', Buffer.from(id), { persistent: true, headers: { 'x-delay': probeDelay, phase } });
  }, Number(o['probe-every']));


  const publisher = child('publisher', ['--url', url, '--count', o.count, '--size', o.size, '--spread', o.spread,
    '--min-delay', o['min-delay'], '--window', o.window]);
  await publisher.next();
  const t0 = performance.now();
  const progress = setInterval(async () => {
    publisher.proc.send('mark');
  }, 10_000);
  let result;
  for (;;) {
    const m = await publisher.next();
    if (m.done) {
      result = m;
      break;
    }
    const s = (performance.now() - t0) / 1000;
    log(`published ${fmt(m.confirmed)} in ${fmt(s, 1)} s (${fmt(m.confirmed / s)} msg/s), broker RSS ${fmt(memoryOf(pid)?.rss)} MB`);
  }
  const publishSeconds = (performance.now() - t0) / 1000;
  clearInterval(progress);
  await publisher.exited;
  log(`all ${fmt(result.confirmed)} confirmed (${result.nacked} nacked) in ${fmt(publishSeconds, 1)} s; probing for ${o['probe-seconds']} s while they are pending`);
  phase = 'pending';
  await sleep(2000);
  const pending = await broker.ask('memory');
  await sleep(Number(o['probe-seconds']) * 1000);
  clearInterval(probeTimer);
  await sleep(probeDelay + 1000);
  let delivered = NaN;
  if (o.check) {
    const deadline = t0 + (Number(o['min-delay']) + Number(o.spread) + 60) * 1000;
    for (;;) {
      delivered = (await ch.checkQueue(BULK)).messageCount;
      if (delivered >= count || performance.now() > deadline) break;
      await sleep(1000);
    }
    log(`bulk queue holds ${fmt(delivered)} of ${fmt(count)}`);
  }
  const peak = (memoryOf(pid)?.hwm ?? NaN) * MB; // VmHWM: the highest RSS so far
  const disk = diskUsage(dataDir);

  const pct = (values, p) => {
    const v = [...values].sort((a, b) => a - b);
    return v.length ? v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))] : NaN;
  };
  console.log(`\n${fmt(count)} delayed persistent messages of ${o.size} bytes, x-delay ${o['min-delay']}..${Number(o['min-delay']) + Number(o.spread)} s, confirms (window ${o.window})\n`);
  printTable(['measure', 'value'], [
    ['publish rate, confirmed msg/s', count / publishSeconds],
    ['publish time, s', fmt(publishSeconds, 1)],
    ['broker heap before, MB (after GC)', fmt(before.heapUsed / MB, 1)],
    ['broker heap with all pending, MB (after GC)', fmt(pending.heapUsed / MB, 1)],
    ['broker RSS before, MB', fmt(before.rss / MB, 1)],
    ['broker RSS with all pending, MB', fmt(pending.rss / MB, 1)],
    ['broker RSS peak, MB', fmt(peak / MB, 1)],
    ['data directory, MB', fmt(disk / MB, 1)],
  ]);
  console.log('');
  const rows = [];
  for (const [name, values] of Object.entries(late)) {
    rows.push([`probes (${probeDelay} ms) while ${name}`, values.length, pct(values, 0), pct(values, 50), pct(values, 95), pct(values, 99), pct(values, 100)]);
  }
  printTable(['lateness after due, ms', 'n', 'min', 'median', 'p95', 'p99', 'max'], rows);
  console.log(`\nearly arrivals: ${early}; probes sent ${probeSeq}, received ${late.publishing.length + late.pending.length}`);
  if (o.check) {
    console.log(`bulk delivered to its queue: ${fmt(delivered)} of ${fmt(count)}`);
    await ch.deleteQueue(BULK);
  }

  await conn.close();
  broker.proc.send('stop');
  await broker.exited;
  if (!o['data-dir'] && !o.keep) rmSync(dataDir, { recursive: true, force: true });
}
