#!/usr/bin/env node
// `npm run screenshots`: starts a broker with some traffic (a growing queue, a draining one, a
// steady one, a stalled one), opens the web UI in Debian's headless Chromium (playwright-core,
// no browser download), and saves PNGs of the main pages (and a live trace) into docs/screenshots/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { chromium } from 'playwright-core';
import { setLogLevel, Warren } from '../dist/src/index.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'screenshots');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

setLogLevel('error');
const dataDir = mkdtempSync(join(tmpdir(), 'warren-shots-'));
const warren = await Warren.start({ amqpPort: 0, managementPort: 0, metricsPort: 0, host: '127.0.0.1', dataDir, statsIntervalMs: 1000 });
const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${warren.amqpPort}`, { clientProperties: { product: 'screenshot-traffic' } });
const consumers = await amqp.connect(`amqp://guest:guest@127.0.0.1:${warren.amqpPort}`, { clientProperties: { product: 'screenshot-workers' } });
for (const c of [conn, consumers]) c.on('error', () => {});
const pub = await conn.createChannel();
const timers = [];
let stopping = false; // set before the connections close: no ack or publish on a closed channel

/** Publishes `perSecond` messages to `queue`, in ten batches a second. */
function publisher(queue, perSecond, body = 'order #%d: 2 × widget, ship to Oslo') {
  let n = 0;
  timers.push(setInterval(() => {
    if (stopping) return;
    for (let i = 0; i < perSecond / 10; i++) pub.sendToQueue(queue, Buffer.from(body.replace('%d', String(++n))), { persistent: false });
  }, 100));
}

/** A consumer acking about `perSecond` messages a second: `prefetch` in flight, each acked after a pause. */
async function consumer(queue, perSecond, prefetch = 10) {
  const ch = await consumers.createChannel();
  await ch.prefetch(prefetch);
  const delay = (1000 * prefetch) / perSecond;
  await ch.consume(queue, (m) => {
    if (m && !stopping) setTimeout(() => { if (!stopping) ch.ack(m); }, delay);
  });
}

await pub.assertExchange('events', 'topic', { durable: true });
for (const [q, args] of [['orders', {}], ['emails', {}], ['audit', { 'x-max-length': 100000 }], ['reports', {}]]) {
  await pub.assertQueue(q, { durable: true, arguments: args });
}
await pub.bindQueue('audit', 'events', '#');
await pub.bindQueue('orders', 'events', 'order.*');
for (let i = 0; i < 20000; i++) pub.sendToQueue('emails', Buffer.from(`welcome mail ${i}`));
for (let i = 0; i < 1200; i++) pub.sendToQueue('reports', Buffer.from(`report ${i}`));
publisher('orders', 300);     // growing: 300 in, ~150 out
await consumer('orders', 150, 15);
publisher('emails', 20);      // draining: 20 in, ~200 out
await consumer('emails', 200, 20);
publisher('audit', 100);      // steady: in = out
await consumer('audit', 400, 40);
// A few events a second through the topic exchange (to audit, and order.* to orders), for the trace page.
let eventNo = 1040;
timers.push(setInterval(() => {
  if (stopping) return;
  const [key, what] = [['order.created', 'created'], ['order.shipped', 'shipped'], ['invoice.paid', 'paid']][eventNo % 3];
  const body = JSON.stringify({ order: ++eventNo, status: what, items: 2, ship_to: 'Oslo' });
  pub.publish('events', key, Buffer.from(body), { contentType: 'application/json', messageId: `evt-${eventNo}`, headers: { source: 'shop' } });
}, 700));

// The backlogs above arrive as one burst: let it leave the API's sample window (12 ticks), so the
// rate chart's scale shows the steady traffic.
await sleep(13_000);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  const base = `http://127.0.0.1:${warren.managementPort}/`;
  await page.goto(base);
  await page.fill('#login-user', 'guest');
  await page.fill('#login-password', 'guest');
  await page.click('button[type=submit]');
  await page.waitForSelector('#main h1');
  await page.selectOption('#refresh', '2000');
  mkdirSync(out, { recursive: true });
  const shot = async (hash, file, waitMs, ready) => {
    await page.goto(`${base}${hash}`);
    if (ready) await page.waitForSelector(ready);
    await sleep(waitMs);
    await page.screenshot({ path: join(out, file), fullPage: true });
    console.log(`docs/screenshots/${file}`);
  };
  await shot('#/', 'overview.png', 24_000, '#chart-rates svg');
  await shot('#/queues', 'queues.png', 3000, '.queue-link');
  await page.goto(`${base}#/queues/%2F/orders`);
  await page.waitForSelector('#chart-flow svg');
  // The queue page: a message fetched with the get form (requeued), charts after a few polls.
  await page.selectOption('#get-form select[name=ackmode]', 'ack_requeue_true');
  await page.click('#get-form button[type=submit]');
  await page.waitForSelector('#get-results .payload');
  await sleep(6000);
  await page.screenshot({ path: join(out, 'queue.png'), fullPage: true });
  console.log('docs/screenshots/queue.png');
  await shot('#/connections', 'connections.png', 2500, 'table');
  await shot('#/exchanges', 'exchanges.png', 2500, 'table');
  // The trace page: what goes through the topic exchange, the newest delivery expanded.
  await page.goto(`${base}#/trace`);
  await page.fill('#trace-form input[name=exchange]', 'events');
  await page.click('#trace-start');
  await page.waitForSelector('#trace-form[data-state=running]');
  await sleep(5000);
  await page.click('#trace-rows tr.trace-event[data-type=deliver] .expander');
  await sleep(300);
  await page.screenshot({ path: join(out, 'trace.png'), fullPage: true });
  console.log('docs/screenshots/trace.png');
  await page.click('#trace-stop');
} finally {
  await browser.close();
  stopping = true;
  for (const t of timers) clearInterval(t);
  await sleep(200);
  await conn.close().catch(() => {});
  await consumers.close().catch(() => {});
  await warren.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
