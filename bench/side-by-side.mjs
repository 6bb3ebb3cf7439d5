#!/usr/bin/env node
// Side-by-side benchmark against RabbitMQ (issue "Performance"). One command: installs Debian's
// rabbitmq-server if it is missing, starts RabbitMQ and Warren (fresh data dir) on separate ports,
// runs every scenario against both brokers in alternation (A B A B ...), and prints medians with
// the Warren/RabbitMQ ratio; the same goes to bench/results/side-by-side-<date>.json.
//
//   npm run build && node bench/side-by-side.mjs [--scenarios S5,S1,S2,S4,S3,S6] [--runs 5] [--seconds 8]
//        [--warmup 3] [--sizes 16,1024] [--producers 1] [--rates 1000,10000,50000]
//        [--s5-connections 10000] [--s5-queues 10000] [--s6-count 1000000]
//        [--rabbit-port 5672] [--warren-port 5681] [--quiet 15] [--max-other 50] [--out FILE]
//        [--client raw|amqplib] [--brokers warren,rabbitmq] [--warren-main dist/src/cli/main.js]
//        [--warren-node-args='--cpu-prof --cpu-prof-dir=/tmp/prof']
//
// Scenarios (throughput = messages delivered to consumers per second over the measured window):
//   S1  1 producer → 1 queue → 1 consumer, transient messages, non-durable queue, no-ack consumer
//   S2  durable queue, persistent messages, publisher confirms (sliding window 256), manual ack
//       (one basic.ack per message) with prefetch 256
//   S3  latency: one producer at a fixed rate (--rates) stamps CLOCK_MONOTONIC into each 16-byte
//       body, a consumer in another process computes one-way latency; p50 / p99 / p99.9
//   S4  fanout exchange → 10 queues, one consumer each (two consumer processes, 5 queues each),
//       transient, no-ack; the figure is deliveries per second summed over the 10 consumers
//   S5  broker RSS with --s5-connections idle connections, then --s5-queues empty queues as well
//       (bench/idle-memory.mjs), one run per broker, first, while the brokers are fresh
//   S6  backlog: --s6-count persistent 100-byte messages into a durable queue without consumer,
//       fill rate, RSS when full, drain rate (bench/backlog.mjs), last
// --producers N runs N producer processes in parallel (S1, S2, S4; S2: a window of 256 each).
//
// Load comes from child processes (bench/scenarios/raw-worker.mjs on bench/lib/raw-amqp.mjs, a
// small AMQP client that writes pre-encoded frames and counts deliveries without decoding them;
// --client amqplib uses bench/scenarios/worker.mjs instead): each reports its own CPU
// time, so the table shows whether a generator process is saturated (near 100% of a core). This
// process only starts, marks and counts. Before each run it waits (at most 30 s) for the machine to
// go quiet, and measures what other processes used during the run ("other CPU"); a run where that
// exceeds --max-other percent of a core is repeated once. Ctrl-C stops both brokers.
// --brokers warren runs Warren alone (development); --warren-main runs another build (A/B).
import { execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { runIdleMemory } from './idle-memory.mjs';
import { brokerPid, cpuSecondsOf, fmt, log, machineCpuSeconds, median, printTable, sleep, waitForQuiet } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { values: o } = parseArgs({ options: {
  scenarios: { type: 'string', default: 'S5,S1,S2,S4,S3,S6' }, runs: { type: 'string', default: '5' },
  seconds: { type: 'string', default: '8' }, warmup: { type: 'string', default: '3' },
  sizes: { type: 'string', default: '16,1024' }, producers: { type: 'string', default: '1' },
  rates: { type: 'string', default: '1000,10000,50000' },
  'rabbit-port': { type: 'string', default: '5672' }, 'warren-port': { type: 'string', default: '5681' },
  quiet: { type: 'string', default: '15' }, 'max-other': { type: 'string', default: '50' },
  out: { type: 'string' }, client: { type: 'string', default: 'raw' },
  brokers: { type: 'string', default: 'warren,rabbitmq' },
  's5-connections': { type: 'string', default: '10000' }, 's5-queues': { type: 'string', default: '10000' },
  's6-count': { type: 'string', default: '1000000' }, 'warren-node-args': { type: 'string', default: '' },
  'warren-main': { type: 'string' },
} });
if (!['raw', 'amqplib'].includes(o.client)) throw new Error(`--client must be raw or amqplib, not ${o.client}`);
const WORKER = o.client === 'raw' ? 'scenarios/raw-worker.mjs' : 'scenarios/worker.mjs';
const runs = Number(o.runs);
const producers = Number(o.producers);
const sizes = o.sizes.split(',').map(Number);
const rabbitPort = Number(o['rabbit-port']);
const warrenPort = Number(o['warren-port']);
const RABBIT_BIN = '/usr/lib/rabbitmq/bin/rabbitmq-server';

// ---------------------------------------------------------------- brokers

const children = new Set(); // live generator processes, killed on Ctrl-C
let warrenProc = null;
let warrenDir = null;
let rabbitStartedHere = false;

async function answers(url, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await amqp.connect(url);
      await c.close();
      return true;
    } catch {
      if (Date.now() > until) return false;
      await sleep(500);
    }
  }
}

async function startRabbit() {
  const url = `amqp://guest:guest@127.0.0.1:${rabbitPort}`;
  if (await answers(url, 0)) {
    log(`RabbitMQ already answers on ${rabbitPort}: using it as it is (and leaving it running)`);
    return url;
  }
  if (!existsSync(RABBIT_BIN)) {
    log('rabbitmq-server is not installed: apt-get install -y rabbitmq-server');
    const r = spawnSync('apt-get', ['install', '-y', 'rabbitmq-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error('apt-get install rabbitmq-server failed');
    // the package may have started the service on its default port already
    if (await answers(url, 3000)) { rabbitStartedHere = true; return url; }
  }
  log(`starting RabbitMQ on ${rabbitPort}`);
  // su applies the default soft limit of 1024 open files: S5's 10k connections need the hard limit.
  execFileSync('su', ['rabbitmq', '-s', '/bin/sh', '-c', `ulimit -n $(ulimit -Hn); RABBITMQ_NODE_PORT=${rabbitPort} ${RABBIT_BIN} -detached`], { stdio: 'inherit' });
  rabbitStartedHere = true;
  if (!(await answers(url, 90_000))) throw new Error(`RabbitMQ does not answer on ${rabbitPort}`);
  return url;
}

function stopRabbit() {
  if (!rabbitStartedHere) return;
  rabbitStartedHere = false;
  log('stopping RabbitMQ (rabbitmqctl shutdown)');
  spawnSync('rabbitmqctl', ['shutdown'], { stdio: 'ignore', timeout: 60_000 });
}

async function startWarren() {
  const main = o['warren-main'] ?? join(root, 'dist/src/cli/main.js');
  if (!existsSync(main)) throw new Error(`${main} missing: npm run build first`);
  const url = `amqp://guest:guest@127.0.0.1:${warrenPort}`;
  if (await answers(url, 0)) throw new Error(`something already answers on ${warrenPort} (--warren-port)`);
  warrenDir = mkdtempSync(join(tmpdir(), 'warren-sbs-'));
  log(`starting Warren on ${warrenPort}, data in ${warrenDir}`);
  const nodeArgs = o['warren-node-args'].split(' ').filter(Boolean); // e.g. --cpu-prof --cpu-prof-dir=/tmp/p
  warrenProc = spawn(process.execPath, [...nodeArgs, main, 'start', '--amqp-port', String(warrenPort), '--host', '127.0.0.1',
    '--management-port', '0', '--metrics-port', '0', '--data-dir', warrenDir, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!(await answers(url, 30_000))) throw new Error(`Warren does not answer on ${warrenPort}`);
  return url;
}

async function stopWarren() {
  if (!warrenProc) return;
  const p = warrenProc;
  warrenProc = null;
  log('stopping Warren');
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  if (p.exitCode === null) p.kill('SIGKILL');
  if (warrenDir) rmSync(warrenDir, { recursive: true, force: true });
}

async function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  await stopWarren();
  stopRabbit();
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: stopping the brokers`);
    await cleanup();
    process.exit(130);
  });
}

// ---------------------------------------------------------------- generator processes

function spawnWorker(spec) {
  const proc = fork(join(here, WORKER), [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(proc);
  const replies = [];
  let waiting = null;
  proc.on('message', (m) => (waiting ? (waiting(m), (waiting = null)) : replies.push(m)));
  const exited = new Promise((r) => proc.once('exit', () => { children.delete(proc); r(); }));
  const next = () => (replies.length ? Promise.resolve(replies.shift()) : Promise.race([
    new Promise((r) => (waiting = r)), exited.then(() => { throw new Error(`${spec.role} exited`); })]));
  return { spec, proc, next, ask: (m) => { proc.send(m); return next(); }, exited };
}

// ---------------------------------------------------------------- scenarios

/**
 * A scenario: `topology(ch)` declares what it needs on an admin channel, `workers(url, size)` the
 * generator specs, `teardown(ch)` deletes it all. `variants` are the sizes (or rates, for S3).
 */
const SCENARIOS = {
  S1: {
    title: '1 producer → 1 queue → 1 consumer, transient, no-ack',
    variants: sizes,
    async topology(ch) { await ch.assertQueue('sbs-s1', { durable: false }); },
    workers: (url, size) => [
      { role: 'consumer', url, queues: ['sbs-s1'], noAck: true },
      ...Array.from({ length: producers }, () => ({ role: 'producer', url, exchange: '', routingKey: 'sbs-s1', size, persistent: false, window: 0 })),
    ],
    async teardown(ch) { await ch.deleteQueue('sbs-s1'); },
  },
  S2: {
    title: 'durable queue, persistent, confirms (window 256), manual ack (prefetch 256)',
    variants: sizes,
    async topology(ch) { await ch.assertQueue('sbs-s2', { durable: true }); },
    workers: (url, size) => [
      { role: 'consumer', url, queues: ['sbs-s2'], noAck: false, prefetch: 256 },
      ...Array.from({ length: producers }, () => ({ role: 'producer', url, exchange: '', routingKey: 'sbs-s2', size, persistent: true, window: 256 })),
    ],
    async teardown(ch) { await ch.deleteQueue('sbs-s2'); },
  },
  S3: {
    title: 'latency at a fixed rate (16 B, transient, no-ack), one-way, µs',
    variants: o.rates.split(',').map(Number),
    latency: true,
    async topology(ch) { await ch.assertQueue('sbs-s3', { durable: false }); },
    workers: (url, rate) => [
      { role: 'consumer', url, queues: ['sbs-s3'], noAck: true, latency: true },
      { role: 'producer', url, exchange: '', routingKey: 'sbs-s3', size: 16, persistent: false, window: 0, rate, stamp: true },
    ],
    async teardown(ch) { await ch.deleteQueue('sbs-s3'); },
  },
  S4: {
    title: 'fanout 1 → 10 queues, a consumer each, transient, no-ack (deliveries/s, all consumers)',
    variants: sizes,
    async topology(ch) {
      await ch.assertExchange('sbs-s4', 'fanout', { durable: false });
      for (let i = 0; i < 10; i++) {
        await ch.assertQueue(`sbs-s4-${i}`, { durable: false });
        await ch.bindQueue(`sbs-s4-${i}`, 'sbs-s4', '');
      }
    },
    workers: (url, size) => [
      { role: 'consumer', url, queues: [0, 1, 2, 3, 4].map((i) => `sbs-s4-${i}`), noAck: true },
      { role: 'consumer', url, queues: [5, 6, 7, 8, 9].map((i) => `sbs-s4-${i}`), noAck: true },
      ...Array.from({ length: producers }, () => ({ role: 'producer', url, exchange: 'sbs-s4', routingKey: '', size, persistent: false, window: 0 })),
    ],
    async teardown(ch) {
      for (let i = 0; i < 10; i++) await ch.deleteQueue(`sbs-s4-${i}`);
      await ch.deleteExchange('sbs-s4');
    },
  },
};

/** S5: idle connections, then empty queues, broker RSS per item (bench/idle-memory.mjs), one run per broker. */
async function runS5(brokers) {
  const out = {};
  for (const br of brokers) {
    log(`S5 ${br.name}: ${fmt(Number(o['s5-connections']))} idle connections, ${fmt(Number(o['s5-queues']))} queues`);
    out[br.name] = await runIdleMemory({ url: br.url, pid: br.pid(), connections: Number(o['s5-connections']), queues: Number(o['s5-queues']), label: `S5 ${br.name}` });
    const r = out[br.name];
    log(`S5 ${br.name}: RSS ${fmt(r.rssBefore, 1)} → ${fmt(r.rssConnections, 1)} → ${fmt(r.rssQueues, 1)} MB, ${fmt(r.perConnectionKB, 1)} KB/connection, ${fmt(r.perQueueKB, 1)} KB/queue`);
  }
  return out;
}

/**
 * S6: backlog of --s6-count persistent 100-byte messages, fill rate, RSS when full, drain rate
 * (bench/backlog.mjs, which alternates the brokers and prints its own table); its stdout is kept.
 */
function runS6(brokers) {
  const args = [join(here, 'backlog.mjs'), '--count', o['s6-count'], '--runs', '1', '--quiet', o.quiet];
  for (const br of brokers) {
    args.push('--url', br.url, '--name', br.name, '--data-dir', br.name === 'warren' ? warrenDir : '/var/lib/rabbitmq/mnesia');
  }
  log(`S6: node ${args.join(' ')}`);
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(r.stdout ?? '');
  if (r.status !== 0) throw new Error(`S6: backlog.mjs exited with ${r.status}`);
  return { table: r.stdout };
}

async function withAdmin(url, fn) {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    return await fn(ch);
  } finally {
    await conn.close().catch(() => {});
  }
}

async function runOnce(broker, sc, variant) {
  if (Number(o.quiet) > 0) await waitForQuiet({ maxPercent: Number(o.quiet), timeoutSeconds: 30 });
  await withAdmin(broker.url, (ch) => sc.teardown(ch).catch(() => {}));
  await withAdmin(broker.url, (ch) => sc.topology(ch));
  const pid = broker.pid();
  const ws = [];
  try {
    for (const spec of sc.workers(broker.url, variant)) {
      const w = spawnWorker(spec);
      ws.push(w);
      await w.next(); // 'ready' (consumers consume before any producer starts)
    }
    const prods = ws.filter((w) => w.spec.role === 'producer');
    const cons = ws.filter((w) => w.spec.role === 'consumer');
    for (const p of prods) p.proc.send('start');
    await sleep(Number(o.warmup) * 1000);
    const mark = () => Promise.all(ws.map((w) => w.ask('mark')));
    const a = { t: performance.now(), cpu: cpuSecondsOf(pid), all: machineCpuSeconds(), m: await mark() };
    await sleep(Number(o.seconds) * 1000);
    const b = { t: performance.now(), cpu: cpuSecondsOf(pid), all: machineCpuSeconds(), m: await mark() };
    const secs = (b.t - a.t) / 1000;
    const rate = (list) => list.reduce((s, w) => { const i = ws.indexOf(w); return s + (b.m[i].count - a.m[i].count); }, 0) / secs;
    const cpuOf = (w) => { const i = ws.indexOf(w); return ((b.m[i].cpu - a.m[i].cpu) / secs) * 100; };
    const brokerCpu = ((b.cpu - a.cpu) / secs) * 100;
    const genCpu = ws.map(cpuOf);
    const r = {
      delivered: rate(cons), published: rate(prods), brokerCpu,
      producerCpu: prods.map(cpuOf), consumerCpu: cons.map(cpuOf),
      otherCpu: ((b.all - a.all) / secs) * 100 - brokerCpu - genCpu.reduce((s, x) => s + x, 0),
      seconds: secs,
    };
    if (sc.latency) r.latency = b.m[ws.indexOf(cons[0])].lat;
    return r;
  } finally {
    await Promise.all(ws.map((w) => { try { w.proc.send('stop'); } catch {} return Promise.race([w.exited, sleep(8000)]); }));
    for (const w of ws) if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
    await withAdmin(broker.url, (ch) => sc.teardown(ch).catch(() => {})).catch(() => {});
  }
}

// ---------------------------------------------------------------- main

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
const startedAt = new Date();
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, uptimeBefore: uptime() };
let rabbitVersion = null;
try { rabbitVersion = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'rabbitmq-server'], { encoding: 'utf8' }); } catch {}
const warrenCommit = (() => { try { return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return null; } })();
log(`machine: ${machine.cpus} CPU, ${machine.uptimeBefore}`);

const results = [];
const memory = {}; // S5 and S6 results
try {
  const wanted = o.brokers.split(',');
  const brokers = [];
  if (wanted.includes('warren')) {
    const warrenUrl = await startWarren();
    brokers.push({ name: 'warren', url: warrenUrl, pid: () => warrenProc?.pid ?? brokerPid(warrenUrl) });
  }
  if (wanted.includes('rabbitmq')) {
    const rabbitUrl = await startRabbit();
    brokers.push({ name: 'rabbitmq', url: rabbitUrl, pid: () => brokerPid(rabbitUrl) });
  }
  if (brokers.length === 0) throw new Error('--brokers: warren, rabbitmq or both');
  const ids = o.scenarios.split(',').map((s) => s.trim().toUpperCase());
  for (const id of ids) if (!SCENARIOS[id] && id !== 'S5' && id !== 'S6') throw new Error(`unknown scenario ${id} (S1 to S6)`);
  // S5 first, on the freshly started brokers (a broker keeps memory it once used); S6 last (it
  // leaves gigabytes of data behind until the queue is drained).
  if (ids.includes('S5')) memory.s5 = await runS5(brokers);
  for (const id of ids.filter((x) => SCENARIOS[x])) {
    const sc = SCENARIOS[id];
    for (const variant of sc.variants) {
      const entry = { scenario: id, title: sc.title, variant, runs: { warren: [], rabbitmq: [] } };
      results.push(entry);
      for (let run = 1; run <= runs; run++) {
        for (const br of brokers) {
          let r = await runOnce(br, sc, variant);
          if (r.otherCpu > Number(o['max-other'])) {
            log(`${id} ${variant} ${br.name} run ${run}: other processes used ${fmt(r.otherCpu)}% of a core; repeated`);
            const again = await runOnce(br, sc, variant);
            again.repeatedAfterOther = r.otherCpu;
            r = again;
          }
          entry.runs[br.name].push(r);
          log(`${id} ${sc.latency ? `${variant} msg/s` : `${variant} B`} ${br.name} run ${run}: delivered ${fmt(r.delivered)} msg/s, published ${fmt(r.published)},`,
            `broker CPU ${fmt(r.brokerCpu)}% (${fmt((r.brokerCpu * 1e4) / r.delivered, 2)} µs/msg), producers ${r.producerCpu.map((x) => fmt(x)).join('+')}%, consumers ${r.consumerCpu.map((x) => fmt(x)).join('+')}%,`,
            `other ${fmt(r.otherCpu)}%${r.latency ? `, p50/p99/p99.9 ${fmt(r.latency.p50)}/${fmt(r.latency.p99)}/${fmt(r.latency.p999)} µs` : ''}`);
        }
      }
    }
  }
  if (ids.includes('S6')) memory.s6 = runS6(brokers);
} finally {
  await cleanup();
}

// ---------------------------------------------------------------- report

const med = (rs, f) => median(rs.map(f));
const sum = (xs) => xs.reduce((s, x) => s + x, 0);
const label = (e) => (SCENARIOS[e.scenario].latency ? `${fmt(e.variant)} msg/s` : e.variant >= 1024 ? `${e.variant / 1024} KB` : `${e.variant} B`);
const summary = results.map((e) => {
  const s = { scenario: e.scenario, variant: e.variant, label: label(e) };
  for (const n of ['warren', 'rabbitmq']) {
    const rs = e.runs[n];
    s[n] = {
      delivered: med(rs, (r) => r.delivered), published: med(rs, (r) => r.published), brokerCpu: med(rs, (r) => r.brokerCpu),
      producerCpu: med(rs, (r) => Math.max(...r.producerCpu)), producerCpuTotal: med(rs, (r) => sum(r.producerCpu)),
      consumerCpu: med(rs, (r) => Math.max(...r.consumerCpu)), otherCpu: med(rs, (r) => r.otherCpu),
      runs: rs.map((r) => Math.round(r.delivered)),
    };
    if (SCENARIOS[e.scenario].latency) {
      for (const p of ['p50', 'p99', 'p999']) s[n][p] = med(rs, (r) => r.latency?.[p] ?? NaN);
    }
  }
  s.ratio = s.warren.delivered / s.rabbitmq.delivered;
  return s;
});
machine.uptimeAfter = uptime();

console.log(`\nWarren ${warrenCommit} vs RabbitMQ ${rabbitVersion ?? '?'}; ${machine.cpus} CPU (${machine.cpuModel}), Node ${machine.node}`);
console.log(`median of ${runs} run(s), ${o.seconds} s measured after ${o.warmup} s warm-up, brokers alternating; ${producers} producer process(es)`);
console.log(`uptime before: ${machine.uptimeBefore}\nuptime after:  ${machine.uptimeAfter}\n`);
const thr = summary.filter((s) => !SCENARIOS[s.scenario].latency);
if (thr.length) {
  printTable(['scenario', 'size', 'Warren msg/s', 'RabbitMQ msg/s', 'Warren/RabbitMQ', 'broker CPU % (W / R)', 'producer CPU % (W / R)', 'consumer CPU % (W / R)', 'other CPU % (W / R)', 'published msg/s (W / R)'],
    thr.map((s) => [s.scenario, s.label, s.warren.delivered, s.rabbitmq.delivered, fmt(s.ratio, 2),
      `${fmt(s.warren.brokerCpu)} / ${fmt(s.rabbitmq.brokerCpu)}`, `${fmt(s.warren.producerCpu)} / ${fmt(s.rabbitmq.producerCpu)}`,
      `${fmt(s.warren.consumerCpu)} / ${fmt(s.rabbitmq.consumerCpu)}`, `${fmt(s.warren.otherCpu)} / ${fmt(s.rabbitmq.otherCpu)}`,
      `${fmt(s.warren.published)} / ${fmt(s.rabbitmq.published)}`]));
  console.log('\nproducer / consumer CPU: the busiest generator process of its kind, % of one core (100 = saturated);');
console.log('published: sent by the producers (S2: confirmed); above delivered, the queue grew during the window');
  console.log('\nruns (delivered msg/s):');
  for (const s of thr) console.log(`  ${s.scenario} ${s.label}: Warren ${s.warren.runs.map((x) => fmt(x)).join(' / ')}; RabbitMQ ${s.rabbitmq.runs.map((x) => fmt(x)).join(' / ')}`);
}
const lat = summary.filter((s) => SCENARIOS[s.scenario].latency);
if (lat.length) {
  console.log('');
  printTable(['scenario', 'rate', 'Warren p50 µs', 'RabbitMQ p50 µs', 'Warren p99 µs', 'RabbitMQ p99 µs', 'Warren p99.9 µs', 'RabbitMQ p99.9 µs', 'delivered msg/s (W / R)'],
    lat.map((s) => [s.scenario, s.label, s.warren.p50, s.rabbitmq.p50, s.warren.p99, s.rabbitmq.p99, s.warren.p999, s.rabbitmq.p999,
      `${fmt(s.warren.delivered)} / ${fmt(s.rabbitmq.delivered)}`]));
}
if (memory.s5) {
  console.log('');
  const w = memory.s5.warren;
  const r = memory.s5.rabbitmq;
  printTable(['S5', 'Warren', 'RabbitMQ', 'Warren/RabbitMQ'], [
    ['RSS before, MB', fmt(w?.rssBefore, 1), fmt(r?.rssBefore, 1), fmt(w?.rssBefore / r?.rssBefore, 2)],
    [`RSS with ${fmt(Number(o['s5-connections']))} idle connections, MB`, fmt(w?.rssConnections, 1), fmt(r?.rssConnections, 1), fmt(w?.rssConnections / r?.rssConnections, 2)],
    [`RSS with ${fmt(Number(o['s5-queues']))} empty queues as well, MB`, fmt(w?.rssQueues, 1), fmt(r?.rssQueues, 1), fmt(w?.rssQueues / r?.rssQueues, 2)],
    ['KB per idle connection', fmt(w?.perConnectionKB, 1), fmt(r?.perConnectionKB, 1), fmt(w?.perConnectionKB / r?.perConnectionKB, 2)],
    ['KB per empty queue', fmt(w?.perQueueKB, 1), fmt(r?.perQueueKB, 1), fmt(w?.perQueueKB / r?.perQueueKB, 2)],
    ['declare time, s', fmt(w?.declareSeconds, 1), fmt(r?.declareSeconds, 1), fmt(w?.declareSeconds / r?.declareSeconds, 2)],
  ]);
}
const out = o.out ?? join(here, 'results', `side-by-side-${startedAt.toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ startedAt, argv: process.argv.slice(2), options: o, warrenCommit, rabbitVersion, machine, loadavg: loadavg(), summary, results, memory }, null, 2));
console.log(`\nwritten to ${out}`);
