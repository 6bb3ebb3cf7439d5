/**
 * The web UI end to end in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core;
 * no browser download): log in, watch a queue's count change after an amqplib publish, see its
 * prediction, publish and get a message from the queue page, purge and delete it, and see the
 * overview's charts drawn. Skipped, saying why, where Chromium is not installed (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Channel, ChannelModel } from 'amqplib';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker } from './helpers/broker.js';
import { clientHelpers, closeQuietly, qname } from './helpers/amqp-client.js';
import { openBrowser, skipWithoutChromium as skip } from './helpers/browser.js';

let tb: TestBroker;
let browser: Browser;
let page: Page;
let conn: ChannelModel;
let ch: Channel;
let problems: string[] = [];
const { connect, channel } = clientHelpers(() => tb.url);

/** The row of the queues table for `name`. */
const row = (name: string): string => `tr:has(a.queue-link:text-is("${name}"))`;

describe('web UI in headless Chromium', { skip }, () => {
  before(async () => {
    // Rates sampled every 250 ms, so predictions and charts have data within a second or two.
    tb = await startTestBroker({ managementPort: 0, statsIntervalMs: 250 });
    conn = await connect();
    ch = await channel(conn);
    // Any script error or console error (a CSP refusal, a failed module load) fails the test.
    ({ browser, page, problems } = await openBrowser());
  });
  after(async () => {
    await browser?.close();
    await closeQuietly(conn);
    await tb?.stop();
  });

  test('login: a wrong password is refused on the form; guest gets in', async () => {
    await page.goto(`http://127.0.0.1:${tb.warren.managementPort}/`);
    await page.fill('#login-user', 'guest');
    await page.fill('#login-password', 'wrong');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-status:text("Login failed")');
    await page.fill('#login-password', 'guest');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#main h1:text-is("Overview")');
    assert.equal(await page.textContent('#who'), 'guest');
    await page.waitForSelector('#alarms .badge:text("No alarms")');
    // Poll faster than the default 5 s, as a user may pick in the header.
    await page.selectOption('#refresh', '2000');
  });

  test('queues page: the count follows an amqplib publish; the prediction follows the rates', async () => {
    const q = qname('ui');
    await ch.assertQueue(q, { durable: false });
    await page.goto(`http://127.0.0.1:${tb.warren.managementPort}/#/queues`);
    await page.waitForSelector(`${row(q)} [data-field=messages]:text-is("0")`);
    for (let i = 0; i < 7; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await page.waitForSelector(`${row(q)} [data-field=messages]:text-is("7")`); // after the next poll

    // A steady stream in and no consumer: "growing by N msg/s"; when it stops, nothing drains it.
    const timer = setInterval(() => { for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from('x')); }, 50);
    try {
      await page.waitForSelector(`${row(q)} .prediction[data-kind=growing]`);
      assert.match(await page.textContent(`${row(q)} .prediction`) ?? '', /^growing by [\d.]+k? msg\/s$/);
    } finally {
      clearInterval(timer);
    }
    await page.waitForSelector(`${row(q)} .prediction:text-is("not draining: no consumers")`);

    // The queue page: publish from the form, purge first so the get returns exactly our message.
    await page.click(`${row(q)} a.queue-link`);
    await page.waitForSelector(`h1:has-text("${q}")`);
    await page.waitForSelector('#queue-prediction .prediction');
    await page.click('#purge');
    await page.waitForSelector('[data-field=ready]:text-is("0")');
    const payload = `hello from the browser ${Date.now()}`;
    await page.fill('#publish-form textarea[name=payload]', payload);
    await page.click('#publish-form button[type=submit]');
    await page.waitForSelector('#publish-form .form-status:text("Message published.")');
    await page.waitForSelector('[data-field=ready]:text-is("1")');
    await page.selectOption('#get-form select[name=ackmode]', 'ack_requeue_false');
    await page.click('#get-form button[type=submit]');
    await page.waitForSelector(`#get-results .payload:text-is("${payload}")`);
    assert.equal((await ch.checkQueue(q)).messageCount, 0, 'the get acked it away');
    await page.waitForSelector('#queue-prediction .prediction');

    await page.click('#delete');
    await page.waitForFunction('location.hash === "#/queues"');
    await assert.rejects(ch.checkQueue(q));
    ch = await channel(conn); // the passive declare of a missing queue closed the channel
  });

  test('an API refusal is shown with its reason', async () => {
    await page.goto(`http://127.0.0.1:${tb.warren.managementPort}/#/queues`);
    await page.fill('#main form input[name=name]', qname('bad'));
    await page.fill('#main form textarea[name=arguments]', '{"x-max-length": "lots"}');
    await page.click('#main form button[type=submit]:text("Add queue")');
    const status = await page.waitForSelector('#main form .form-status.error');
    assert.match(await status.textContent() ?? '', /^400 bad_request: .*x-max-length/);
  });

  test('overview: totals, rate and queued-message charts drawn from the API', async () => {
    const q = qname('ui-ov');
    await ch.assertQueue(q, { durable: false });
    const timer = setInterval(() => { for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from('x')); }, 50);
    try {
      await page.goto(`http://127.0.0.1:${tb.warren.managementPort}/#/`);
      await page.waitForSelector('#chart-rates svg path.line[data-series=Publish]');
      await page.waitForSelector('#chart-queued svg path.line[data-series=Ready]');
    } finally {
      clearInterval(timer);
    }
    const d = await page.getAttribute('#chart-rates svg path.line[data-series=Publish]', 'd');
    assert.match(d ?? '', /^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+)+$/);
    const label = await page.getAttribute('#chart-rates svg', 'aria-label');
    assert.match(label ?? '', /^Message rates: Publish [\d.]+k? msg\/s/);
    assert.ok(Number((await page.textContent('.card.stat[href="#/queues"] .card-value'))?.replace(/,/g, '')) >= 1);
    for (const tile of ['T', 'L', 'Q']) await page.waitForSelector(`[data-tile=${tile}] svg.chart`);
  });

  test('the other pages render their tables', async () => {
    for (const [hash, heading, needs] of [
      ['connections', 'Connections', 'table button:text("Close")'], ['channels', 'Channels', 'table'],
      ['exchanges', 'Exchanges', 'table a:text("amq.topic")'], ['vhosts', 'Virtual hosts', 'table'],
      ['users', 'Users', 'table td:text-is("guest")'], ['policies', 'Policies', 'form'],
    ] as const) {
      await page.goto(`http://127.0.0.1:${tb.warren.managementPort}/#/${hash}`);
      await page.waitForSelector(`#main h1:text-is("${heading}")`);
      await page.waitForSelector(`#main ${needs}`);
    }
    assert.deepEqual(problems, []);
  });
});
