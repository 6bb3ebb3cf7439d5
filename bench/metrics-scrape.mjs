#!/usr/bin/env node
// Cost of a Prometheus scrape with many queues: declares N queues (amqplib, one message in each),
// then scrapes /metrics (aggregated) and /metrics/per-object repeatedly, plain and gzipped, and
// prints median times and sizes (collect_ms: building the text; longest_block_ms: the longest the
// event loop is held; scrape_ms: the HTTP round trip), and the cost of one stats sampler tick.
//
//   node bench/metrics-scrape.mjs [--queues 10000] [--scrapes 20]
// Starts an in-process Warren on free ports (build first: npm run build). Times are measured in
// the same process as the broker.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';

const { values: o } = parseArgs({ options: {
  queues: { type: 'string', default: '10000' }, scrapes: { type: 'string', default: '20' },
} });
const queues = Number(o.queues);
const scrapes = Number(o.scrapes);

const { Warren, setLogLevel } = await import('../dist/src/index.js');
const { collectMetrics, collectPerObject } = await import('../dist/src/metrics/collect.js');
setLogLevel('warn');
const dir = mkdtempSync(join(tmpdir(), 'warren-bench-'));
const warren = await Warren.start({ amqpPort: 0, metricsPort: 0, host: '127.0.0.1', dataDir: dir, statsIntervalMs: 3_600_000 });
const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${warren.amqpPort}`);
const ch = await conn.createConfirmChannel();
const declareStart = performance.now();
for (let i = 0; i < queues; i += 500) {
  const batch = [];
  for (let j = i; j < Math.min(queues, i + 500); j++) batch.push(ch.assertQueue(`bench-metrics-${j}`, { durable: false }));
  await Promise.all(batch);
}
for (let i = 0; i < queues; i++) ch.sendToQueue(`bench-metrics-${i}`, Buffer.from('x'));
await ch.waitForConfirms();
const declareSeconds = (performance.now() - declareStart) / 1000;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One HTTP scrape: resolves with [ms, bytes on the wire]. */
function scrape(path, gzip) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = request({ host: '127.0.0.1', port: warren.metricsPort, path, headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      let bytes = 0;
      res.on('data', (d) => (bytes += d.length));
      res.on('end', () => resolve([performance.now() - start, bytes]));
    });
    req.on('error', reject);
    req.end();
  });
}

const rows = [];
for (const perObject of [false, true]) {
  const path = perObject ? '/metrics/per-object' : '/metrics';
  const collect = [];
  const longestStep = [];
  for (let i = 0; i < scrapes; i++) {
    const t = performance.now();
    if (!perObject) collectMetrics(warren.broker, false);
    else {
      // Per object is served in chunks, one per event-loop turn: the longest one is what AMQP traffic waits.
      let longest = 0;
      let s = performance.now();
      for (const chunk of collectPerObject(warren.broker)) {
        void chunk;
        const e = performance.now();
        longest = Math.max(longest, e - s);
        s = e;
      }
      longestStep.push(longest);
    }
    collect.push(performance.now() - t);
  }
  for (const gzip of [false, true]) {
    const times = [];
    let size = 0;
    for (let i = 0; i < scrapes; i++) {
      const [ms, bytes] = await scrape(path, gzip);
      times.push(ms);
      size = bytes;
    }
    rows.push({ path, gzip, collect_ms: Number(median(collect).toFixed(1)),
      longest_block_ms: Number(median(perObject ? longestStep : collect).toFixed(1)), scrape_ms: Number(median(times).toFixed(1)), bytes: size });
  }
}
const ticks = [];
for (let i = 0; i < scrapes; i++) {
  const t = performance.now();
  warren.sampler.sample();
  ticks.push(performance.now() - t);
}
console.log(JSON.stringify({ queues, declare_and_publish_s: Number(declareSeconds.toFixed(1)),
  sampler_tick_ms: Number(median(ticks).toFixed(2)), heap_mb: Math.round(process.memoryUsage().heapUsed / 1e6) }));
for (const r of rows) console.log(JSON.stringify(r));
await conn.close();
await warren.stop();
rmSync(dir, { recursive: true, force: true });
