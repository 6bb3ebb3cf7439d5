#!/usr/bin/env node
// Load-generator child of bench/side-by-side.mjs built on bench/lib/raw-amqp.mjs (the default
// generator; bench/scenarios/worker.mjs is the amqplib one, `--client amqplib`). Same spec and the
// same IPC conversation as worker.mjs:
//   → 'ready' once connected (a consumer is already consuming)
//   ← 'start' (producers begin publishing)
//   ← 'mark'  → { count, cpu, lat? }
//   ← 'stop'  (closes the connections and exits)
// Producer: { role: 'producer', url, exchange, routingKey, size, persistent, window (0: no
// confirms), rate (0: as fast as the broker takes them), stamp }. Without confirms and rate it
// writes blocks of 256 pre-encoded messages and waits only for the socket's 'drain' (TCP
// backpressure: a broker that stops reading stops the producer). With a window, it keeps at most
// `window` unconfirmed messages in flight and tops the window up whenever confirms arrive. With a
// rate, every millisecond it writes what is due since the start, stamped with CLOCK_MONOTONIC
// (process.hrtime.bigint(), the same clock in every process) in the first 8 bytes of the body.
// Consumer: { role: 'consumer', url, queues, noAck, prefetch, latency }: one connection per queue;
// with noAck false one basic.ack per message (written together, once per received chunk).
import { RawAmqp, publishFrames } from '../lib/raw-amqp.mjs';
import { serveIpc, sleep } from './worker-ipc.mjs';

const spec = JSON.parse(process.argv[2]);
const conns = [];
const state = { count: 0, stopped: false, done: Promise.resolve() };
const latencies = [];
const BLOCK = 256;

async function connect() {
  const c = await RawAmqp.connect(spec.url);
  conns.push(c);
  return c;
}

function block(one, n) {
  return Buffer.concat(Array.from({ length: n }, () => one.bytes));
}

if (spec.role === 'producer') {
  const c = await connect();
  const one = publishFrames({ exchange: spec.exchange, routingKey: spec.routingKey, size: spec.size, persistent: !!spec.persistent });
  const msgLen = one.bytes.length;
  const many = block(one, BLOCK);
  if (spec.window > 0) await c.confirmSelect();
  process.once('message', () => (state.done = run()));

  async function run() {
    if (spec.rate > 0) await runAtRate();
    else if (spec.window > 0) await runWithConfirms();
    else await runFlat();
  }

  async function runFlat() {
    let n = 0;
    while (!state.stopped && !c.closed) {
      const wait = c.write(many);
      state.count += BLOCK;
      if (wait) await wait;
      else if (++n % 64 === 0) await new Promise((r) => setImmediate(r)); // let 'mark' in
    }
  }

  async function runAtRate() {
    const t0 = performance.now();
    let sent = 0;
    while (!state.stopped && !c.closed) {
      const due = Math.floor(((performance.now() - t0) / 1000) * spec.rate);
      const n = due - sent;
      if (n > 0) {
        const buf = n <= BLOCK ? Buffer.from(many.subarray(0, n * msgLen)) : block(one, n);
        const stamp = process.hrtime.bigint();
        for (let i = 0; i < n; i++) buf.writeBigUInt64LE(stamp, i * msgLen + one.bodyOffset);
        sent = due;
        state.count += n;
        const wait = c.write(buf);
        if (wait) await wait;
      }
      await sleep(1);
    }
  }

  async function runWithConfirms() {
    // Tags are 1, 2, 3, ... in publish order. `low` is the lowest tag not yet confirmed; a ring
    // of flags marks confirmed tags above it (single acks may come before a multiple one).
    const window = spec.window;
    const done = new Uint8Array(window);
    let published = 0;
    let low = 1;
    let wake = null;
    c.onConfirm = (tag, multiple, nack) => {
      if (multiple) { for (let t = low; t <= tag; t++) done[t % window] = nack ? 2 : 1; }
      else done[tag % window] = nack ? 2 : 1;
      while (low <= published && done[low % window] !== 0) {
        if (done[low % window] === 1) state.count++;
        done[low % window] = 0;
        low++;
      }
      if (wake) { const w = wake; wake = null; w(); }
    };
    while (!state.stopped && !c.closed) {
      const room = window - (published - low + 1);
      if (room <= 0) { await new Promise((r) => (wake = r)); continue; }
      published += room;
      const wait = c.write(many.subarray(0, room * msgLen));
      if (wait) await wait;
      else await new Promise((r) => (wake = r));
    }
  }
} else {
  for (const q of spec.queues) {
    const c = await connect();
    if (!spec.noAck) await c.qos(spec.prefetch);
    if (spec.latency) {
      c.onDeliver = (buf, start) => {
        if (start >= 0) latencies.push(Number(process.hrtime.bigint() - buf.readBigUInt64LE(start)) / 1000);
      };
    }
    await c.consume(q, { noAck: !!spec.noAck });
  }
}

serveIpc({
  count: () => {
    const broken = conns.find((c) => c.closed);
    if (broken) process.stderr.write(`${spec.role}: ${broken.closed.message}\n`);
    return spec.role === 'consumer' ? conns.reduce((s, c) => s + c.delivered, 0) : state.count;
  },
  latencies: spec.latency ? latencies : undefined,
  stop: () => { state.stopped = true; return state.done; },
  close: () => Promise.all(conns.map((c) => c.close().catch(() => {}))),
});
