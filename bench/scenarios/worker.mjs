#!/usr/bin/env node
// Load-generator child of bench/side-by-side.mjs: one producer or one consumer process (amqplib),
// started with a JSON spec as its only argument, driven over the IPC channel:
//   → 'ready' once connected (a consumer is already consuming)
//   ← 'start' (producers begin publishing)
//   ← 'mark'  → { count, cpu, lat? }: messages confirmed (or published, without confirms) / received
//               so far, CPU seconds this process used, and for a latency consumer the percentiles
//               of the one-way latencies seen since the previous mark
//   ← 'stop'  (closes the connection and exits)
// Producer spec: { role: 'producer', url, exchange, routingKey, size, persistent, window (0: no
// confirms), rate (0: as fast as amqplib and the broker allow), stamp }. With stamp, the first 8
// bytes of every body are process.hrtime.bigint() at publish time: CLOCK_MONOTONIC, the same clock
// in every process on the machine, so a consumer in another process can compute one-way latency.
// Consumer spec: { role: 'consumer', url, queues, noAck, prefetch, latency }: one connection and
// channel per queue; with noAck false it acks every message (one basic.ack each).
import amqp from 'amqplib';
import { serveIpc, sleep } from './worker-ipc.mjs';

const spec = JSON.parse(process.argv[2]);
const conns = [];
async function connect() {
  const c = await amqp.connect(spec.url);
  c.on('error', () => {});
  conns.push(c);
  return c;
}

let state = { count: 0, stopped: false, done: Promise.resolve() };
const latencies = [];

if (spec.role === 'producer') {
  const conn = await connect();
  const ch = spec.window > 0 ? await conn.createConfirmChannel() : await conn.createChannel();
  ch.on('error', (e) => { process.stderr.write(`producer channel error: ${e.message}\n`); });
  const body = Buffer.alloc(spec.size, 0x61);
  const options = { persistent: !!spec.persistent };
  const publish = (cb) => {
    if (spec.stamp) body.writeBigUInt64LE(process.hrtime.bigint(), 0);
    return cb ? ch.publish(spec.exchange, spec.routingKey, body, options, cb) : ch.publish(spec.exchange, spec.routingKey, body, options);
  };
  const drain = () => new Promise((r) => ch.once('drain', r));
  process.once('message', () => (state.done = run()));
  async function run() {
    if (spec.rate > 0) {
      // Fixed rate: every millisecond or so, publish what is due since the start.
      const t0 = performance.now();
      let sent = 0;
      while (!state.stopped) {
        const due = Math.floor(((performance.now() - t0) / 1000) * spec.rate);
        while (sent < due) {
          sent++;
          state.count++;
          if (!publish()) await drain();
        }
        await sleep(1);
      }
    } else if (spec.window > 0) {
      // Sliding window of unconfirmed messages: a confirm lets the next publish go at once.
      let inFlight = 0;
      let wake = null;
      const onConfirm = (err) => {
        inFlight--;
        if (!err) state.count++;
        if (wake && inFlight < spec.window) { const w = wake; wake = null; w(); }
      };
      while (!state.stopped) {
        if (inFlight >= spec.window) { await new Promise((r) => (wake = r)); continue; }
        inFlight++;
        if (!publish(onConfirm)) await drain();
      }
    } else {
      let n = 0;
      while (!state.stopped) {
        state.count++;
        if (!publish()) await drain();
        else if (++n % 2048 === 0) await new Promise((r) => setImmediate(r)); // let 'mark' in
      }
    }
  }
} else {
  for (const q of spec.queues) {
    const conn = await connect();
    const ch = await conn.createChannel();
    ch.on('error', (e) => { process.stderr.write(`consumer channel error: ${e.message}\n`); });
    if (!spec.noAck) await ch.prefetch(spec.prefetch);
    await ch.consume(q, (m) => {
      state.count++;
      if (spec.latency) latencies.push(Number(process.hrtime.bigint() - m.content.readBigUInt64LE(0)) / 1000);
      if (!spec.noAck) ch.ack(m);
    }, { noAck: !!spec.noAck });
  }
}

serveIpc({
  count: () => state.count,
  latencies: spec.latency ? latencies : undefined,
  stop: () => { state.stopped = true; return state.done; },
  close: () => Promise.all(conns.map((c) => c.close().catch(() => {}))),
});
