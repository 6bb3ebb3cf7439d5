#!/usr/bin/env node
// Durable-store recovery time (issue "Durable store"): with --count persistent messages in a
// durable queue, stops the broker and starts it again --restarts times, and measures from the
// moment the start command is spawned until
//   - the broker says it is ready (Warren: the "Warren ready" line on stdout; a --start-cmd: the
//     command exits),
//   - Warren's 'queue recovered' / 'recovery finished' log lines (their own `ms` fields as well),
//   - an AMQP connection succeeds, and
//   - a passive declare of the queue reports the full count (polled every 20 ms).
// If the queue holds fewer than --count messages at the start, it is filled first (confirms).
//
// Warren (the script runs it as its child, stops it with SIGTERM, and leaves it stopped):
//   node bench/recovery.mjs --data-dir /tmp/warren-bench-data [--amqp-port 5680] [--count 1000000]
//        [--restarts 3] [--warren dist/src/cli/main.js] [--drop-caches] [--drain]
// Any broker with start/stop commands (left running), e.g. Debian's RabbitMQ:
//   node bench/recovery.mjs --url amqp://guest:guest@127.0.0.1:5672 --name rabbitmq \
//        --start-cmd "su rabbitmq -s /bin/sh -c '/usr/lib/rabbitmq/bin/rabbitmq-server -detached'" \
//        --stop-cmd 'rabbitmqctl shutdown' [--count ...]
// (`rabbitmqctl shutdown` returns once the node's process has exited; the start command returns at
// once, so there only the AMQP connect and full-count times mean anything.)
//
// --drop-caches empties the page cache before each start (sync; echo 3 > /proc/sys/vm/drop_caches;
// root only), so the broker reads its files from the disk rather than from memory.
// --drain finally drains the queue (manual ack) and checks every message came back, then deletes it.
import { execSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  brokerPid, connect, fmt, log, median, memoryOf, printTable, queueDepth, sleep, startConfirmedPublisher, startConsumer,
} from './common.mjs';

const { values: o } = parseArgs({ options: {
  url: { type: 'string' }, name: { type: 'string' }, queue: { type: 'string', default: 'bench-backlog' },
  count: { type: 'string', default: '1000000' }, size: { type: 'string', default: '100' }, window: { type: 'string', default: '8192' },
  restarts: { type: 'string', default: '3' }, 'data-dir': { type: 'string' }, 'amqp-port': { type: 'string', default: '5680' },
  warren: { type: 'string', default: fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url)) },
  'start-cmd': { type: 'string' }, 'stop-cmd': { type: 'string' }, 'drop-caches': { type: 'boolean', default: false },
  drain: { type: 'boolean', default: false }, 'timeout': { type: 'string', default: '900' },
} });
const count = Number(o.count);
const commandMode = Boolean(o['start-cmd']);
if (!commandMode && !o['data-dir']) throw new Error('Warren mode needs --data-dir (or give --start-cmd/--stop-cmd)');
const url = o.url ?? `amqp://guest:guest@127.0.0.1:${o['amqp-port']}`;
const name = o.name ?? (commandMode ? new URL(url).host : 'warren');

let warren = null; // Warren mode: the child process

/** Spawns the broker; resolves the timings as they are seen. */
function start() {
  if (o['drop-caches']) {
    execSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
  }
  const t0 = performance.now();
  const at = () => (performance.now() - t0) / 1000;
  const result = { ready: NaN, queueRecovered: NaN, queueRecoveredMs: NaN, recoveryFinished: NaN, recoveryFinishedMs: NaN };
  let readyDone;
  const ready = new Promise((r) => (readyDone = r));
  if (commandMode) {
    const proc = spawn('sh', ['-c', o['start-cmd']], { stdio: 'ignore' });
    proc.once('exit', (code) => {
      if (code !== 0) log(`${name}: start command exited with ${code}`);
      result.ready = at();
      readyDone();
    });
  } else {
    warren = spawn(process.execPath, [o.warren, 'start', '--amqp-port', o['amqp-port'], '--management-port', '0', '--metrics-port', '0', '--data-dir', o['data-dir'], '--log-level', 'info'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    warren.exited = new Promise((r) => warren.once('exit', r));
    createInterface({ input: warren.stdout }).on('line', (line) => {
      if (/Warren ready/.test(line) && Number.isNaN(result.ready)) {
        result.ready = at();
        readyDone();
      }
    });
    createInterface({ input: warren.stderr }).on('line', (line) => {
      let j;
      try {
        j = JSON.parse(line);
      } catch {
        return process.stderr.write(line + '\n');
      }
      if (j.msg === 'queue recovered' && j.queue?.includes(`'${o.queue}'`)) {
        result.queueRecovered = at();
        result.queueRecoveredMs = j.ms;
      } else if (j.msg === 'recovery finished') {
        result.recoveryFinished = at();
        result.recoveryFinishedMs = j.ms;
      } else if (j.level !== 'info') process.stderr.write(line + '\n');
    });
    warren.once('exit', (code) => {
      if (Number.isNaN(result.ready)) log(`warren exited with ${code} before it was ready`);
      readyDone();
    });
  }
  return { t0, at, result, ready };
}

/** Polls until the queue reports at least `expected` messages; returns [connect s, full s, depth]. */
async function waitForQueue(at, expected) {
  const deadline = performance.now() + Number(o.timeout) * 1000;
  let connected = NaN;
  let conn = null;
  while (performance.now() < deadline) {
    try {
      conn ??= await connect(url);
      if (Number.isNaN(connected)) connected = at();
      const depth = await queueDepth(conn, o.queue);
      if ((depth ?? 0) >= expected) {
        const full = at();
        await conn.close();
        return [connected, full, depth];
      }
    } catch {
      conn = null; // not listening yet, or the connection went away while the broker booted
    }
    await sleep(20);
  }
  throw new Error(`${name}: the queue did not reach ${expected} messages in ${o.timeout} s`);
}

async function stop() {
  const t = performance.now();
  if (commandMode) execSync(o['stop-cmd'], { stdio: 'ignore' });
  else if (warren) {
    warren.kill('SIGTERM');
    await warren.exited;
    warren = null;
  }
  return (performance.now() - t) / 1000;
}

async function fillUpTo(expected) {
  const conn = await connect(url);
  const ch = await conn.createChannel();
  await ch.assertQueue(o.queue, { durable: true });
  const have = await queueDepth(conn, o.queue);
  if (have < expected) {
    log(`${name}: queue ${o.queue} holds ${fmt(have)}; publishing ${fmt(expected - have)} more`);
    const pub = await conn.createConfirmChannel();
    const body = Buffer.alloc(Number(o.size), 0x62);
    const state = startConfirmedPublisher(pub, o.queue, body, { window: Number(o.window), count: expected - have });
    const t = performance.now();
    const timer = setInterval(() => log(`${name} fill: ${fmt(have + state.confirmed)} / ${fmt(expected)}`), 10_000);
    await state.done;
    clearInterval(timer);
    log(`${name} fill: ${fmt((expected - have) / ((performance.now() - t) / 1000))} msg/s`);
  }
  const depth = await queueDepth(conn, o.queue);
  await conn.close();
  return depth;
}

// First start (or, for a command, make sure the broker runs): not measured, it may have to fill.
let s = start();
await s.ready;
await waitForQueue(s.at, 0);
const expected = await fillUpTo(count);
log(`${name}: ${fmt(expected)} messages in ${o.queue}; restarting ${o.restarts} times${o['drop-caches'] ? ' (page cache dropped before each start)' : ''}`);

const rows = [];
for (let i = 1; i <= Number(o.restarts); i++) {
  const stopSeconds = await stop();
  s = start();
  await s.ready;
  const [connected, full, depth] = await waitForQueue(s.at, expected);
  const rss = memoryOf(brokerPid(url))?.rss;
  const r = { stopSeconds, ...s.result, connected, full, depth, rss };
  log(`${name} restart ${i}: stop ${stopSeconds.toFixed(2)} s; from start: ready ${r.ready.toFixed(2)} s,`,
    `${commandMode ? '' : `queue recovered ${r.queueRecovered.toFixed(2)} s (logged ${r.queueRecoveredMs} ms), `}` +
    `AMQP connect ${connected.toFixed(2)} s, ${fmt(depth)} messages reported ${full.toFixed(2)} s; RSS ${fmt(rss)} MB`);
  rows.push(r);
}

if (o.drain) {
  const conn = await connect(url);
  const ch = await conn.createChannel();
  const t = performance.now();
  const state = await startConsumer(ch, o.queue, { prefetch: 1024, ackEvery: 256, count: expected });
  await state.done;
  await ch.cancel(state.tag);
  const left = await queueDepth(conn, o.queue);
  log(`${name}: drained ${fmt(state.received)} (${fmt(state.redelivered)} redelivered) at`,
    `${fmt(state.received / ((performance.now() - t) / 1000))} msg/s; ${left} left`);
  await (await conn.createChannel()).deleteQueue(o.queue);
  await conn.close();
}
if (!commandMode) await stop();

console.log(`\n${name}: restart with ${fmt(expected)} persistent ${o.size}-byte messages queued${o['drop-caches'] ? ', page cache dropped before each start' : ''};`,
  `seconds from spawning the start command; median of ${rows.length}\n`);
const cols = commandMode
  ? [['stop s', 'stopSeconds'], ['start command returned s', 'ready'], ['AMQP connect s', 'connected'], ['full count s', 'full'], ['RSS MB', 'rss']]
  : [['stop s', 'stopSeconds'], ['ready line s', 'ready'], ['queue recovered s', 'queueRecovered'], ["its 'ms'", 'queueRecoveredMs'],
    ['recovery finished s', 'recoveryFinished'], ['AMQP connect s', 'connected'], ['full count s', 'full'], ['RSS MB', 'rss']];
const f = (key, v) => (key === 'rss' || key.endsWith('Ms') ? fmt(v) : fmt(v, 2));
printTable(['run', ...cols.map(([h]) => h)], [
  ...rows.map((r, i) => [String(i + 1), ...cols.map(([, k]) => f(k, r[k]))]),
  ['median', ...cols.map(([, k]) => f(k, median(rows.map((r) => r[k]))))],
]);
