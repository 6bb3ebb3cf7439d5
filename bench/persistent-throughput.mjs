#!/usr/bin/env node
// Durable-store throughput (issue "Durable store"): persistent messages into a durable queue,
// publisher confirms with a sliding window of unconfirmed messages, one consumer with manual acks
// (one basic.ack per message) and a prefetch limit. The publisher and the consumer run in two
// child processes (amqplib costs more CPU per message than either broker), and this process only
// counts: after --warmup seconds it samples both counters, again --seconds later, and reports the
// rates in between. End-to-end msg/s is what the consumer received and acked per second.
//
//   node bench/persistent-throughput.mjs --url amqp://guest:guest@127.0.0.1:5680 \
//        [--url amqp://guest:guest@127.0.0.1:5672] [--name warren --name rabbitmq] \
//        [--size 16,1024] [--seconds 10] [--warmup 3] [--window 256] [--prefetch 256] [--runs 3]
//
// With several --url, runs alternate between the brokers (A B A B ...) for every size, and the
// table shows each broker's median and the ratio of the first broker to the second. The broker's
// CPU use is read from /proc for the process listening on the URL's port (same machine only).
// Each run first waits until the machine is idle (busy CPU under --quiet percent of a core for 3 s;
// --quiet 0 skips), and "other CPU %" shows what the rest of the machine used during the run; a run
// where that exceeds --max-other percent (default 25) is discarded and repeated (up to 3 times).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  brokerPid, connect, cpuSecondsOf, machineCpuSeconds, fmt, log, median, printTable, queueDepth, sleep, waitForQuiet, startConfirmedPublisher, startConsumer,
} from './common.mjs';

const { values: o } = parseArgs({ options: {
  url: { type: 'string', multiple: true }, name: { type: 'string', multiple: true },
  size: { type: 'string', default: '16' }, seconds: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' },
  window: { type: 'string', default: '256' }, prefetch: { type: 'string', default: '256' }, runs: { type: 'string', default: '1' },
  queue: { type: 'string', default: 'bench-persistent' }, role: { type: 'string' },
  quiet: { type: 'string', default: '15' }, 'max-other': { type: 'string', default: '25' },
} });
const window = Number(o.window);
const prefetch = Number(o.prefetch);

if (o.role) await child(o.role);
else await main();

/** A child: 'producer' or 'consumer' on o.url[0]; answers 'mark' with its counter and CPU time. */
async function child(role) {
  const conn = await connect(o.url[0]);
  const body = Buffer.alloc(Number(o.size), 0x61);
  let state;
  if (role === 'producer') {
    const ch = await conn.createConfirmChannel();
    process.once('message', () => (state = startConfirmedPublisher(ch, o.queue, body, { window })));
  } else {
    const ch = await conn.createChannel();
    state = await startConsumer(ch, o.queue, { prefetch });
  }
  process.on('message', async (msg) => {
    if (msg === 'mark') {
      const cpu = process.cpuUsage();
      process.send({ count: role === 'producer' ? state.confirmed : state.received, nacked: state?.nacked ?? 0, cpu: (cpu.user + cpu.system) / 1e6 });
    } else if (msg === 'stop') {
      if (state) state.stopped = true;
      if (role === 'producer') await Promise.race([state?.done, sleep(5000)]);
      await conn.close().catch(() => {});
      process.exit(0);
    }
  });
  process.send('ready');
}

function spawnChild(role, url, size) {
  const args = ['--role', role, '--url', url, '--size', String(size), '--queue', o.queue, '--window', o.window, '--prefetch', o.prefetch];
  const proc = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies = [];
  let waiting = null;
  proc.on('message', (m) => (waiting ? (waiting(m), (waiting = null)) : replies.push(m)));
  const next = () => (replies.length ? Promise.resolve(replies.shift()) : new Promise((r) => (waiting = r)));
  return {
    proc,
    next,
    ask: (msg) => { proc.send(msg); return next(); },
    exited: new Promise((r) => proc.once('exit', r)),
  };
}

async function runOnce(url, size) {
  if (Number(o.quiet) > 0) await waitForQuiet({ maxPercent: Number(o.quiet) });
  const admin = await connect(url);
  let ch = await admin.createChannel();
  await ch.deleteQueue(o.queue).catch(() => {});
  ch = await admin.createChannel();
  await ch.assertQueue(o.queue, { durable: true });
  const pid = brokerPid(url);
  const consumer = spawnChild('consumer', url, size);
  const producer = spawnChild('producer', url, size);
  await consumer.next();
  await producer.next();
  producer.proc.send('start');
  await sleep(Number(o.warmup) * 1000);
  const t0 = performance.now();
  const cpu0 = cpuSecondsOf(pid);
  const all0 = machineCpuSeconds();
  const [p0, c0] = await Promise.all([producer.ask('mark'), consumer.ask('mark')]);
  await sleep(Number(o.seconds) * 1000);
  const t1 = performance.now();
  const cpu1 = cpuSecondsOf(pid);
  const all1 = machineCpuSeconds();
  const [p1, c1] = await Promise.all([producer.ask('mark'), consumer.ask('mark')]);
  const secs = (t1 - t0) / 1000;
  const depth = await queueDepth(admin, o.queue);
  producer.proc.send('stop');
  consumer.proc.send('stop');
  await Promise.all([producer.exited, consumer.exited]);
  ch = await admin.createChannel();
  await ch.deleteQueue(o.queue).catch(() => {});
  await admin.close();
  const brokerCpu = ((cpu1 - cpu0) / secs) * 100;
  const producerCpu = ((p1.cpu - p0.cpu) / secs) * 100;
  const consumerCpu = ((c1.cpu - c0.cpu) / secs) * 100;
  return {
    confirmed: (p1.count - p0.count) / secs,
    e2e: (c1.count - c0.count) / secs,
    nacked: p1.nacked,
    depth,
    brokerCpu,
    producerCpu,
    consumerCpu,
    // CPU used by anything else on the machine (other jobs skew results; the kernel's share is in here too)
    otherCpu: ((all1 - all0) / secs) * 100 - brokerCpu - producerCpu - consumerCpu,
  };
}

async function main() {
  const urls = o.url ?? ['amqp://guest:guest@127.0.0.1:5672'];
  const names = urls.map((u, i) => o.name?.[i] ?? new URL(u).host);
  const sizes = o.size.split(',').map(Number);
  const results = new Map(); // `${size} ${name}` → runs
  for (const size of sizes) {
    for (let run = 1; run <= Number(o.runs); run++) {
      for (let i = 0; i < urls.length; i++) {
        let r = await runOnce(urls[i], size);
        for (let retry = 1; retry <= 3 && r.otherCpu > Number(o['max-other']); retry++) {
          log(`${names[i]} ${size} B run ${run}: other processes used ${fmt(r.otherCpu)}% of a core; run discarded, again`);
          r = await runOnce(urls[i], size);
        }
        const key = `${size} ${names[i]}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push(r);
        log(`${names[i]} ${size} B run ${run}: end-to-end ${fmt(r.e2e)} msg/s, confirmed ${fmt(r.confirmed)} msg/s,`,
          `broker CPU ${fmt(r.brokerCpu)}%, producer ${fmt(r.producerCpu)}%, consumer ${fmt(r.consumerCpu)}%, other ${fmt(r.otherCpu)}%,`,
          `queue depth at end ${r.depth}${r.nacked ? `, ${r.nacked} nacked` : ''}`);
      }
    }
  }
  console.log(`\npersistent, durable queue, confirm window ${window}, manual ack prefetch ${prefetch},`,
    `${o.seconds} s measured after ${o.warmup} s warm-up, median of ${o.runs} run(s)\n`);
  const headers = ['size', 'broker', 'end-to-end msg/s', 'confirmed msg/s', 'broker CPU %', 'producer CPU %', 'consumer CPU %', 'other CPU %', 'runs (end-to-end)'];
  if (urls.length > 1) headers.push(`${names[0]}/${names[1]}`);
  const rows = [];
  for (const size of sizes) {
    const med = names.map((n) => median(results.get(`${size} ${n}`).map((r) => r.e2e)));
    names.forEach((n, i) => {
      const runs = results.get(`${size} ${n}`);
      const row = [size >= 1024 ? `${size / 1024} KB` : `${size} B`, n, med[i], median(runs.map((r) => r.confirmed)),
        median(runs.map((r) => r.brokerCpu)), median(runs.map((r) => r.producerCpu)), median(runs.map((r) => r.consumerCpu)), median(runs.map((r) => r.otherCpu)),
        runs.map((r) => fmt(r.e2e)).join(' / ')];
      if (urls.length > 1) row.push(i === 0 ? fmt(med[0] / med[1], 2) : '');
      rows.push(row);
    });
  }
  printTable(headers, rows);
}
