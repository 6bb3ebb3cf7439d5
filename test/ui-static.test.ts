/**
 * The web UI's serving (content types, cache headers, revalidation, no path escapes, the API
 * untouched) and its pure modules (prediction, number formats, time series) run under Node from
 * dist/ui. The browser end to end is test/ui-browser.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadUiFiles } from '../src/http/static-ui.js';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker } from './helpers/broker.js';

let tb: TestBroker;
const base = (): string => `http://127.0.0.1:${tb.warren.managementPort}`;

describe('web UI files from the management port', () => {
  before(async () => {
    tb = await startTestBroker({ managementPort: 0 });
  });
  after(async () => {
    await tb.stop();
  });

  test('/ is index.html: HTML, a CSP, revalidated with its ETag', async () => {
    const res = await fetch(`${base()}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.match(html, /<script type="module" src="main.js">/);
    const etag = res.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${base()}/index.html`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
  });

  test('stylesheet and ES modules with their content types; HEAD has no body', async () => {
    for (const [path, type] of [['/style.css', 'text/css'], ['/main.js', 'text/javascript'], ['/pages/queues.js', 'text/javascript'], ['/favicon.svg', 'image/svg+xml']]) {
      const res = await fetch(`${base()}${path}`);
      assert.equal(res.status, 200, path);
      assert.ok(res.headers.get('content-type')?.startsWith(type!), `${path}: ${res.headers.get('content-type')}`);
      assert.ok((await res.text()).length > 0);
    }
    const head = await fetch(`${base()}/main.js`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('nothing outside dist/ui, no source maps; unknown paths keep the API\'s JSON 404', async () => {
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/main.js.map', '/nope.html']) {
      const res = await fetch(`${base()}${path}`);
      assert.equal(res.status, 404, path);
    }
    const api = await fetch(`${base()}/api/no-such-thing`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    assert.equal(api.status, 404);
    assert.deepEqual(await api.json(), { error: 'Object Not Found', reason: 'Not Found' });
  });

  test('401 challenges tools, but not the UI (it sends X-Requested-With and has its own login form)', async () => {
    const tool = await fetch(`${base()}/api/overview`);
    assert.equal(tool.status, 401);
    assert.match(tool.headers.get('www-authenticate') ?? '', /^Basic/);
    const ui = await fetch(`${base()}/api/overview`, { headers: { 'x-requested-with': 'XMLHttpRequest', authorization: `Basic ${Buffer.from('guest:wrong').toString('base64')}` } });
    assert.equal(ui.status, 401);
    assert.equal(ui.headers.get('www-authenticate'), null);
    assert.equal(((await ui.json()) as { error: string }).error, 'not_authorised');
  });

  test('loadUiFiles: a missing directory is no files; only known types are served', () => {
    assert.equal(loadUiFiles('/nonexistent-warren-ui').size, 0);
    const dir = mkdtempSync(join(tmpdir(), 'warren-ui-'));
    try {
      writeFileSync(join(dir, 'index.html'), '<p>x</p>');
      writeFileSync(join(dir, 'a.js.map'), '{}');
      writeFileSync(join(dir, 'b.d.ts'), '');
      assert.deepEqual([...loadUiFiles(dir).keys()], ['/index.html']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- the UI's pure modules, as the browser runs them (dist/ui) ----

interface Flow { messages: number; ready: number; consumers: number; inRate: number; outRate: number }
interface PredictModule {
  predict(f: Flow, rate: (n: number) => string, dur: (s: number) => string): { kind: string; text: string; seconds?: number };
  flowOf(q: object): Flow;
}
interface FormatModule { fmtShort(n: number): string; fmtDuration(s: number): string; fmtBytes(n: number): string; fmtInt(n: number): string }
interface HistoryModule {
  ratesOf(p: { t: number; v: number }[]): { t: number; v: number }[];
  sumSamples(l: { timestamp: number; sample: number }[][]): { timestamp: number; sample: number }[];
}
interface SseEvent { event: string; data: string; id?: string }
interface SseModule { SseParser: new () => { push(text: string): SseEvent[] } }
const ui = <T>(file: string): Promise<T> => import(new URL(`../ui/${file}`, import.meta.url).href) as Promise<T>;

describe('web UI: prediction, formats, series', () => {
  test('predict: growing, draining, steady, stalled, idle, keeping up', async () => {
    const { predict, flowOf } = await ui<PredictModule>('predict.js');
    const { fmtShort, fmtDuration } = await ui<FormatModule>('format.js');
    const p = (f: Partial<Flow>) => predict({ messages: 1000, ready: 1000, consumers: 1, inRate: 0, outRate: 0, ...f }, fmtShort, fmtDuration);
    assert.deepEqual(p({ inRate: 2600, outRate: 500 }), { kind: 'growing', text: 'growing by 2.1k msg/s' });
    const d = p({ messages: 18000, inRate: 100, outRate: 200 });
    assert.equal(d.text, 'empty in ~3 min');
    assert.equal(d.seconds, 180);
    assert.equal(p({ inRate: 100, outRate: 102 }).text, 'steady');
    assert.equal(p({ consumers: 0 }).text, 'not draining: no consumers');
    assert.equal(p({ consumers: 3 }).text, 'steady');
    assert.equal(p({ messages: 0, ready: 0, consumers: 0 }).text, 'empty, idle');
    assert.equal(p({ messages: 0, ready: 0, inRate: 50, outRate: 50 }).text, 'empty, keeping up');
    // Nothing ready and a consumer: more in than acked is messages in flight, not a backlog.
    assert.equal(p({ messages: 20, ready: 0, inRate: 110, outRate: 100 }).kind, 'empty');
    assert.equal(p({ messages: 20, ready: 0, consumers: 0, inRate: 110 }).kind, 'growing');
    const flow = flowOf({
      messages: 5, messages_ready: 4, consumers: 2,
      message_stats: { publish_details: { rate: 10 }, ack_details: { rate: 3 }, deliver_no_ack_details: { rate: 2 }, get_no_ack_details: { rate: 1 }, deliver_details: { rate: 99 } },
    });
    assert.deepEqual(flow, { messages: 5, ready: 4, consumers: 2, inRate: 10, outRate: 6 });
    assert.deepEqual(flowOf({ messages: 0, messages_ready: 0, consumers: 0 }), { messages: 0, ready: 0, consumers: 0, inRate: 0, outRate: 0 });
  });

  test('formats', async () => {
    const f = await ui<FormatModule>('format.js');
    assert.deepEqual([0, 0.44, 9.96, 12, 2140, 3_450_000].map(f.fmtShort), ['0', '0.4', '10', '12', '2.1k', '3.5M']);
    assert.deepEqual([0.2, 45, 180, 7260, 86400 * 3].map(f.fmtDuration), ['< 1 s', '45 s', '3 min', '2 h 1 min', '3 days']);
    assert.deepEqual([512, 2048, 5 * 1024 ** 3].map(f.fmtBytes), ['512 B', '2 KiB', '5 GiB']);
    assert.equal(f.fmtInt(1234567), '1,234,567');
  });

  test('rates from counter samples; sums only where every counter has a sample', async () => {
    const { ratesOf, sumSamples } = await ui<HistoryModule>('history.js');
    assert.deepEqual(ratesOf([{ t: 0, v: 0 }, { t: 2000, v: 10 }, { t: 3000, v: 4 }, { t: 4000, v: 6 }]), [{ t: 2000, v: 5 }, { t: 4000, v: 2 }]);
    const a = [{ timestamp: 2, sample: 5 }, { timestamp: 1, sample: 1 }];
    const b = [{ timestamp: 3, sample: 9 }, { timestamp: 2, sample: 2 }, { timestamp: 1, sample: 1 }];
    assert.deepEqual(sumSamples([a, b]), [{ timestamp: 2, sample: 7 }, { timestamp: 1, sample: 2 }]);
  });

  test('Server-Sent Events: events, names, ids, comments, multi-line data, lines split across chunks', async () => {
    const { SseParser } = await ui<SseModule>('sse.js');
    const p = new SseParser();
    assert.deepEqual(p.push(': warren trace stream\nretry: 5000\nevent: open\ndata: {"vhost":"/"}\n\n'), [{ event: 'open', data: '{"vhost":"/"}' }]);
    assert.deepEqual(p.push('id: 1\nda'), []);
    assert.deepEqual(p.push('ta: {"a":\ndata:1}\n'), []);
    assert.deepEqual(p.push('\n: keep-alive\n\n'), [{ event: 'message', data: '{"a":\n1}', id: '1' }]);
    // CRLF and CR line ends, the CR and LF of one line end in different chunks.
    assert.deepEqual(p.push('event: end\r'), []);
    assert.deepEqual(p.push('\ndata: {}\r\r'), [{ event: 'end', data: '{}', id: '1' }]);
    assert.deepEqual(p.push('\ndata: x\r\n\r\n'), [{ event: 'message', data: 'x', id: '1' }]);
  });
});
