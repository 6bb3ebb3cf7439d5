/**
 * The web UI's Trace page in headless Chromium (test/helpers/browser.ts): start a trace filtered by
 * queue, see an amqplib publish and its delivery appear with the payload (and a message to another
 * queue not appear), expand a row, pause and resume, stop, and the stream (and the vhost's
 * tracing) ending when the page is left. Skipped, saying why, where Chromium is not installed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Channel, ChannelModel } from 'amqplib';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker, waitFor } from './helpers/broker.js';
import { clientHelpers, closeQuietly, getOrFail, qname, sleep } from './helpers/amqp-client.js';
import { login, openBrowser, skipWithoutChromium as skip } from './helpers/browser.js';

let tb: TestBroker;
let browser: Browser;
let page: Page;
let problems: string[] = [];
let conn: ChannelModel;
let ch: Channel;
const { connect, channel } = clientHelpers(() => tb.url);
const base = (): string => `http://127.0.0.1:${tb.warren.managementPort}/`;
/** Whether the vhost traces now (the operator's switch is off here: only an open stream turns it on). */
const tracing = (): boolean => tb.warren.broker.getVhost('/')!.tracing;
const rows = '#trace-rows tr.trace-event';

async function startTrace(queue: string): Promise<void> {
  await page.fill('#trace-form input[name=queue]', queue);
  await page.click('#trace-start');
  await page.waitForSelector('#trace-form[data-state=running]');
  await page.waitForSelector('#trace-status:text("Tracing queue")');
  await waitFor(tracing, 5000, 'the vhost to trace while the stream is open');
}

describe('web UI: the Trace page', { skip }, () => {
  before(async () => {
    tb = await startTestBroker({ managementPort: 0 });
    conn = await connect();
    ch = await channel(conn);
    ({ browser, page, problems } = await openBrowser());
    await login(page, base());
  });
  after(async () => {
    await browser?.close();
    await closeQuietly(conn);
    await tb?.stop();
  });

  test('a queue filter shows its publish and delivery, not another queue\'s; a row expands; Stop ends the stream', async () => {
    const q = qname('ui-trace');
    const other = qname('ui-trace-other');
    await ch.assertQueue(q, { durable: false });
    await ch.assertQueue(other, { durable: false });
    await page.goto(`${base()}#/trace`);
    await page.waitForSelector('#main h1:text-is("Trace")');
    await page.waitForSelector('#main [role=note]:text("traces every publish and delivery")');
    await page.waitForSelector('#nav a[data-nav=trace][aria-current=page]');
    await page.waitForSelector('#trace-empty');
    assert.equal(tracing(), false);
    await startTrace(q);
    assert.equal(await page.isDisabled('#trace-form input[name=queue]'), true, 'filters are fixed while it runs');

    const payload = `hello trace ${Date.now()}`;
    ch.sendToQueue(other, Buffer.from('not for this trace'));
    ch.sendToQueue(q, Buffer.from(payload), { contentType: 'text/plain', headers: { 'x-origin': 'ui-test' } });
    const got = await getOrFail(ch, q, { noAck: true });
    assert.equal(got.content.toString(), payload);

    await page.waitForSelector(`${rows}[data-type=publish] .preview:text-is("${payload}")`);
    await page.waitForSelector(`${rows}[data-type=deliver] .preview:text-is("${payload}")`);
    // Newest first: the delivery above the publish; the other queue's message never shows.
    assert.deepEqual(await page.$$eval(rows, (trs) => trs.map((tr) => tr.getAttribute('data-type'))), ['deliver', 'publish']);
    assert.equal(await page.locator(`${rows}:has-text("not for this trace")`).count(), 0);
    const publishRow = page.locator(`${rows}[data-type=publish]`);
    assert.match(await publishRow.innerText(), new RegExp(`\\(default\\)\\s+${q}\\s+${q}\\s+guest`));
    await page.waitForSelector('#trace-count:text-is("2 events")');

    // Expand the delivery: properties and the payload as delivered.
    await page.click(`${rows}[data-type=deliver] .preview`);
    await page.waitForSelector(`#trace-rows tr.trace-detail pre.payload:text-is("${payload}")`);
    const props = JSON.parse(await page.textContent('#trace-rows tr.trace-detail pre.properties') ?? '{}');
    assert.equal(props.content_type, 'text/plain');
    assert.deepEqual(props.headers, { 'x-origin': 'ui-test' });
    assert.equal(await page.getAttribute(`${rows}[data-type=deliver] .expander`, 'aria-expanded'), 'true');
    await page.click(`${rows}[data-type=deliver] .expander`); // and collapse
    await page.waitForSelector('#trace-rows tr.trace-detail', { state: 'detached' });

    // Pause holds new events; Resume shows them.
    await page.click('#trace-pause');
    ch.sendToQueue(q, Buffer.from('while paused'));
    await page.waitForSelector('#trace-count:text("paused: 1 new held")');
    assert.equal(await page.locator(rows).count(), 2);
    await page.click('#trace-pause');
    await page.waitForSelector(`${rows}[data-type=publish] .preview:text-is("while paused")`);
    await page.waitForSelector('#trace-count:text-is("3 events")');

    // Stop: the server closes the stream (the vhost stops tracing), and nothing new appears.
    await page.click('#trace-stop');
    await page.waitForSelector('#trace-form[data-state=stopped]');
    await page.waitForSelector('#trace-status:text-is("Stopped.")');
    await waitFor(() => !tracing(), 5000, 'the vhost to stop tracing once the stream is closed');
    ch.sendToQueue(q, Buffer.from('after stop'));
    await sleep(300);
    assert.equal(await page.locator(rows).count(), 3);
    assert.equal(await page.isDisabled('#trace-form input[name=queue]'), false);

    await page.click('#trace-clear');
    await page.waitForSelector('#trace-count:text-is("0 events")');
    await page.waitForSelector('#trace-empty');
    assert.equal(await page.locator(rows).count(), 0);
  });

  test('leaving the page ends the stream; "Trace this queue" opens it filled in', async () => {
    const q = qname('ui-trace-link');
    await ch.assertQueue(q, { durable: false });
    await page.goto(`${base()}#/queues/%2F/${encodeURIComponent(q)}`);
    await page.click('#trace-link');
    await page.waitForSelector('#main h1:text-is("Trace")');
    assert.equal(await page.inputValue('#trace-form input[name=queue]'), q);
    await page.click('#trace-start');
    await page.waitForSelector('#trace-form[data-state=running]');
    await waitFor(tracing, 5000, 'the vhost to trace');
    await page.click('#nav a[data-nav=queues]');
    await page.waitForSelector('#main h1:text-is("Queues")');
    await waitFor(() => !tracing(), 5000, 'the vhost to stop tracing after leaving the page');
  });

  test('the broker ending the stream, a refusal and an invalid field are shown', async () => {
    const vh = qname('ui-trace-vh');
    tb.warren.broker.addVhost(vh);
    await page.goto(`${base()}#/trace`);
    await page.waitForSelector(`#trace-form select[name=vhost] option[value="${vh}"]`, { state: 'attached' });
    await page.selectOption('#trace-form select[name=vhost]', vh);
    await page.fill('#trace-form input[name=queue]', '');
    await page.click('#trace-start');
    await page.waitForSelector(`#trace-status:text("in virtual host ${vh}")`);
    // The vhost goes: the server ends the stream with a reason.
    tb.warren.broker.deleteVhost(vh);
    await page.waitForSelector('#trace-status.error:text("The broker ended the trace")');
    await page.waitForSelector('#trace-form[data-state=stopped]');
    // Started again on the deleted vhost: refused, with the API's reason.
    await page.click('#trace-start');
    await page.waitForSelector('#trace-status.error:text("404")');
    await page.waitForSelector('#trace-form[data-state=stopped]');
    // The browser checks the payload limit before anything is sent.
    await page.selectOption('#trace-form select[name=vhost]', '/');
    await page.fill('#trace-form input[name=truncate]', '5000000');
    await page.click('#trace-start');
    await page.waitForSelector('#trace-form input[name=truncate]:invalid');
    assert.equal(await page.getAttribute('#trace-form', 'data-state'), 'stopped');
    assert.equal(tracing(), false);
    assert.deepEqual(problems, []);
  });
});
