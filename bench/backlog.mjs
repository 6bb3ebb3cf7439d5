#!/usr/bin/env node
// Durable-store backlog (issue "Durable store"): fills a durable queue that has no consumer with
// --count persistent messages (publisher confirms, sliding window of --window unconfirmed), reads
// the broker's RSS once the queue holds them all, then drains it with one consumer (manual acks,
// multiple=true every --ack-every deliveries, prefetch --prefetch). Progress goes to stderr every
// --progress seconds; the results table to stdout.
//
//   node bench/backlog.mjs --url amqp://guest:guest@127.0.0.1:5680 [--url amqp://...:5672]
//        [--name warren --name rabbitmq] [--count 1000000] [--size 100] [--window 8192]
//        [--prefetch 1024] [--ack-every 256] [--runs 1] [--phase both|fill|drain] [--keep]
//        [--data-dir /tmp/warren-bench-data --data-dir /var/lib/rabbitmq/mnesia]
//
// RSS is VmRSS from /proc/<pid>/status of the process listening on the URL's port (Warren's node,
// RabbitMQ's beam.smp), so the broker must run on this machine: "full" is read --settle seconds
// after the last confirm and once a passive declare reports the whole count; "peak" is the highest
// of the once-a-second samples during the phase. With several --url, runs alternate A B A B.
// --phase fill --keep leaves the queue full (for bench/recovery.mjs); --phase drain drains it.
import { parseArgs } from 'node:util';
import {
  brokerPid, connect, cpuSecondsOf, diskUsage, fmt, log, machineCpuSeconds, median, memoryOf, printTable, queueDepth, sleep,
  startConfirmedPublisher, startConsumer, waitForQuiet,
} from './common.mjs';

const { values: o } = parseArgs({ options: {
  url: { type: 'string', multiple: true }, name: { type: 'string', multiple: true }, 'data-dir': { type: 'string', multiple: true },
  count: { type: 'string', default: '1000000' }, size: { type: 'string', default: '100' },
  window: { type: 'string', default: '8192' }, prefetch: { type: 'string', default: '1024' }, 'ack-every': { type: 'string', default: '256' },
  runs: { type: 'string', default: '1' }, phase: { type: 'string', default: 'both' }, keep: { type: 'boolean', default: false },
  queue: { type: 'string', default: 'bench-backlog' }, progress: { type: 'string', default: '5' }, settle: { type: 'string', default: '5' },
  quiet: { type: 'string', default: '15' },
} });
const count = Number(o.count);
const body = Buffer.alloc(Number(o.size), 0x62);
const urls = o.url ?? ['amqp://guest:guest@127.0.0.1:5672'];
const names = urls.map((u, i) => o.name?.[i] ?? new URL(u).host);
const MB = 1024 * 1024;

/**
 * Waits for `work`, sampling the broker every second (RSS peak) and logging progress
 * every --progress seconds from `counter()`.
 */
async function watch(label, pid, counter, total, work) {
  const start = performance.now();
  let peak = memoryOf(pid)?.rss ?? NaN;
  let last = { t: start, n: counter(), cpu: cpuSecondsOf(pid), self: process.cpuUsage(), all: machineCpuSeconds() };
  let finished = false;
  const sampler = (async () => {
    let tick = 0;
    while (!finished) {
      await sleep(1000);
      const mem = memoryOf(pid);
      if (mem && mem.rss > peak) peak = mem.rss;
      if (++tick % Number(o.progress) !== 0 || finished) continue;
      const now = { t: performance.now(), n: counter(), cpu: cpuSecondsOf(pid), self: process.cpuUsage(), all: machineCpuSeconds() };
      const dt = (now.t - last.t) / 1000;
      const broker = ((now.cpu - last.cpu) / dt) * 100;
      const self = ((now.self.user + now.self.system - last.self.user - last.self.system) / 1e6 / dt) * 100;
      const other = ((now.all - last.all) / dt) * 100 - broker - self;
      log(`${label}: ${fmt(now.n)} / ${fmt(total)} (${((now.n / total) * 100).toFixed(1)}%), ${fmt((now.n - last.n) / dt)} msg/s,`,
        `broker RSS ${fmt(mem?.rss)} MB, CPU broker ${fmt(broker)}% bench ${fmt(self)}% other ${fmt(other)}%`);
      last = now;
    }
  })();
  await work;
  const seconds = (performance.now() - start) / 1000;
  finished = true;
  await sampler;
  return { seconds, peak };
}

async function fill(url, name, pid, dataDir) {
  const conn = await connect(url);
  let ch = await conn.createChannel();
  await ch.deleteQueue(o.queue).catch(() => {});
  ch = await conn.createChannel();
  await ch.assertQueue(o.queue, { durable: true });
  const before = memoryOf(pid)?.rss;
  const pub = await conn.createConfirmChannel();
  const state = startConfirmedPublisher(pub, o.queue, body, { window: Number(o.window), count });
  const w = await watch(`${name} fill`, pid, () => state.confirmed, count, state.done);
  if (state.nacked) log(`${name}: ${state.nacked} publishes were nacked`);
  const depth = await queueDepth(conn, o.queue);
  if (depth !== count) log(`${name}: WARNING queue holds ${depth}, expected ${count}`);
  await sleep(Number(o.settle) * 1000);
  const full = memoryOf(pid)?.rss;
  await conn.close();
  const disk = dataDir ? diskUsage(dataDir) : NaN;
  log(`${name} fill: ${fmt(count / w.seconds)} msg/s over ${w.seconds.toFixed(1)} s; RSS before ${fmt(before)} MB,`,
    `peak ${fmt(w.peak)} MB, full ${fmt(full)} MB${dataDir ? `; ${dataDir} ${fmt(disk / MB)} MB` : ''}`);
  return { fillRate: count / w.seconds, fillSeconds: w.seconds, rssBefore: before, fillPeak: w.peak, rssFull: full, disk, depth };
}

async function drain(url, name, pid) {
  const conn = await connect(url);
  const depth = await queueDepth(conn, o.queue);
  if (depth === null) throw new Error(`${name}: no queue ${o.queue}`);
  const ch = await conn.createChannel();
  const state = await startConsumer(ch, o.queue, { prefetch: Number(o.prefetch), ackEvery: Number(o['ack-every']), count: depth });
  const w = await watch(`${name} drain`, pid, () => state.received, depth, depth > 0 ? state.done : Promise.resolve());
  await ch.cancel(state.tag);
  await sleep(Number(o.settle) * 1000);
  const after = memoryOf(pid)?.rss;
  const left = await queueDepth(conn, o.queue);
  if (!o.keep) {
    const admin = await conn.createChannel();
    await admin.deleteQueue(o.queue);
  }
  await conn.close();
  log(`${name} drain: ${fmt(depth)} messages at ${fmt(depth / w.seconds)} msg/s over ${w.seconds.toFixed(1)} s,`,
    `peak RSS ${fmt(w.peak)} MB, after ${fmt(after)} MB, ${left} left${state.redelivered ? `, ${state.redelivered} redelivered` : ''}`);
  return { drained: depth, drainRate: depth / w.seconds, drainSeconds: w.seconds, drainPeak: w.peak, rssAfter: after };
}

const results = names.map(() => []);
for (let run = 1; run <= Number(o.runs); run++) {
  for (let i = 0; i < urls.length; i++) {
    const pid = brokerPid(urls[i]);
    if (!pid) log(`${names[i]}: no local process listens on ${new URL(urls[i]).host}; no RSS or CPU figures`);
    if (Number(o.quiet) > 0) await waitForQuiet({ maxPercent: Number(o.quiet) });
    let r = {};
    if (o.phase !== 'drain') r = { ...r, ...(await fill(urls[i], names[i], pid, o['data-dir']?.[i])) };
    if (o.phase !== 'fill') r = { ...r, ...(await drain(urls[i], names[i], pid)) };
    results[i].push(r);
  }
}

console.log(`\n${fmt(count)} persistent ${body.length}-byte messages, durable queue; fill: confirm window ${o.window};`,
  `drain: one consumer, prefetch ${o.prefetch}, multiple ack every ${o['ack-every']}; median of ${o.runs} run(s)\n`);
const med = (i, key) => median(results[i].map((r) => r[key]));
const columns = [
  ['fill msg/s', 'fillRate'], ['fill s', 'fillSeconds'], ['RSS before MB', 'rssBefore'], ['RSS peak fill MB', 'fillPeak'],
  ['RSS full MB', 'rssFull'], ['data dir MB', 'disk', MB], ['drain msg/s', 'drainRate'], ['drain s', 'drainSeconds'],
  ['RSS peak drain MB', 'drainPeak'], ['RSS after MB', 'rssAfter'],
].filter(([, key]) => results.some((rs) => rs.some((r) => r[key] !== undefined)));
const headers = ['broker', ...columns.map(([h]) => h)];
const cell = (key, v) => fmt(v, key.endsWith('Seconds') ? 1 : 0);
const rows = names.map((n, i) => [n, ...columns.map(([, key, div]) => cell(key, med(i, key) / (div ?? 1)))]);
if (urls.length > 1) rows.push([`${names[0]}/${names[1]}`, ...columns.map(([, key]) => fmt(med(0, key) / med(1, key), 2))]);
printTable(headers, rows);
