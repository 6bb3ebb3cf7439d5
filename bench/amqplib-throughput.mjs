#!/usr/bin/env node
// Quick end-to-end throughput check through amqplib: one publisher connection, one consumer
// connection, one queue. Prints msg/s. Not a timed test, and amqplib itself is likely the
// bottleneck: the side-by-side RabbitMQ benchmark (issue "Performance") uses a faster generator.
//
//   node bench/amqplib-throughput.mjs [--url amqp://guest:guest@127.0.0.1:5672] [--count 200000]
//        [--size 16] [--confirm] [--ack] [--durable] [--persistent] [--max-priority 10 --priorities 10]
// --max-priority declares the queue with x-max-priority; --priorities K publishes priorities 0..K-1 in turn.
// --trace turns firehose tracing on for vhost '/' (in-process broker only): copies are made and
// routed, to nowhere unless a queue is bound to amq.rabbitmq.trace (--trace-queue binds one, drained).
// Without --url it starts an in-process Warren on a free port (build first: npm run build).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';

const { values: o } = parseArgs({ options: {
  url: { type: 'string' }, count: { type: 'string', default: '200000' }, size: { type: 'string', default: '16' },
  confirm: { type: 'boolean', default: false }, ack: { type: 'boolean', default: false },
  durable: { type: 'boolean', default: false }, persistent: { type: 'boolean', default: false },
  'max-priority': { type: 'string' }, priorities: { type: 'string', default: '0' },
  trace: { type: 'boolean', default: false }, 'trace-queue': { type: 'boolean', default: false },
} });
const priorities = Number(o.priorities);
// One options object per priority, made up front: the publish loop allocates nothing for them.
const publishOptions = Array.from({ length: Math.max(priorities, 1) },
  (_, p) => ({ persistent: o.persistent, ...(priorities > 0 ? { priority: p } : {}) }));
const count = Number(o.count);
const body = Buffer.alloc(Number(o.size), 0x61);

let warren;
let dir;
let url = o.url;
if (!url) {
  const { Warren } = await import('../dist/src/index.js');
  dir = mkdtempSync(join(tmpdir(), 'warren-bench-'));
  warren = await Warren.start({ amqpPort: 0, managementPort: 0, metricsPort: 0, host: '127.0.0.1', dataDir: dir });
  url = `amqp://guest:guest@127.0.0.1:${warren.amqpPort}`;
  if (o.trace) warren.broker.setTracing('/', true);
}

const pubConn = await amqp.connect(url);
const subConn = await amqp.connect(url);
const pub = o.confirm ? await pubConn.createConfirmChannel() : await pubConn.createChannel();
const sub = await subConn.createChannel();
const queue = `bench-${process.pid}`;
await sub.assertQueue(queue, {
  autoDelete: true, durable: o.durable, ...(o['max-priority'] ? { maxPriority: Number(o['max-priority']) } : {}),
});
if (o.ack) await sub.prefetch(256);
let traced = 0;
let traceConn;
if (o['trace-queue']) {
  // A firehose consumer on its own connection, as an operator would run one.
  traceConn = await amqp.connect(url);
  const tch = await traceConn.createChannel();
  const tq = (await tch.assertQueue('', { exclusive: true })).queue;
  await tch.bindQueue(tq, 'amq.rabbitmq.trace', '#');
  await tch.consume(tq, () => traced++, { noAck: true });
}

let received = 0;
let resolveDone;
const done = new Promise((r) => (resolveDone = r));
await sub.consume(queue, (m) => {
  if (o.ack) sub.ack(m);
  if (++received === count) resolveDone();
}, { noAck: !o.ack });

const start = process.hrtime.bigint();
let sent = 0;
async function publishAll() {
  while (sent < count) {
    // respect amqplib's own backpressure (write buffer full → wait for drain)
    if (!pub.sendToQueue(queue, body, publishOptions[sent % publishOptions.length])) await new Promise((r) => pub.once('drain', r));
    sent++;
    if (o.confirm && sent % 256 === 0) await pub.waitForConfirms();
  }
  if (o.confirm) await pub.waitForConfirms();
}
await publishAll();
const published = process.hrtime.bigint();
await done;
const end = process.hrtime.bigint();
const secs = Number(end - start) / 1e9;
console.log(JSON.stringify({
  count, size: body.length, confirm: o.confirm, ack: o.ack, durable: o.durable, persistent: o.persistent,
  maxPriority: o['max-priority'] ? Number(o['max-priority']) : 0, priorities, trace: o.trace, traced,
  publish_rate: Math.round(count / (Number(published - start) / 1e9)),
  end_to_end_rate: Math.round(count / secs), seconds: Number(secs.toFixed(2)),
}));
await pubConn.close();
await subConn.close();
await traceConn?.close();
if (warren) {
  await warren.stop();
  rmSync(dir, { recursive: true, force: true });
}
