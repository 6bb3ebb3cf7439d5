/**
 * One queue: its counts and settings, arrival against consumption over time with the prediction,
 * ready and unacked messages over time, consumers and bindings; forms to publish to it (through
 * the default exchange), get messages, purge, and delete.
 */
import type { BindingInfo, QueueInfo } from '../api.js';
import { ApiError, api, enc, get, samples } from '../api.js';
import { app } from '../app.js';
import { drawChart } from '../chart.js';
import { argsText, details, field, fill, h, onSubmit, select, statusLine, table } from '../dom.js';
import { fmtBytes, fmtInt, fmtShort } from '../format.js';
import { ratesOf, store, sumSamples } from '../history.js';
import { queueFeatures, queuePrediction } from './queues.js';

interface GotMessage {
  payload: string;
  payload_encoding: string;
  payload_bytes: number;
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  message_count: number;
  properties: Record<string, unknown>;
}

interface ConsumerInfo {
  consumer_tag: string;
  queue: { name: string; vhost: string };
  channel_details: { name: string; user: string };
  ack_required: boolean;
  prefetch_count: number;
  active: boolean;
}

export function queuePage(root: HTMLElement, [vhost, name]: string[]): { refresh(): Promise<void> } {
  const path = `/api/queues/${enc(vhost!)}/${enc(name!)}`;
  const key = `q.${vhost}.${name}.`;
  const summary = h('div');
  const prediction = h('p', { class: 'prediction-line', id: 'queue-prediction', 'aria-live': 'polite' });
  const flowChart = h('div', { class: 'chart-slot', id: 'chart-flow' });
  const lengthChart = h('div', { class: 'chart-slot', id: 'chart-length' });
  const consumers = h('div');
  const bindings = h('div');
  let gone = false;

  root.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/queues' }, 'Queues'), ` › ${vhost} · `,
      h('a', { href: `#/trace/${enc(vhost!)}/${enc(name!)}`, id: 'trace-link' }, 'Trace this queue')),
    h('h1', null, 'Queue ', h('span', { class: 'mono' }, name!)),
    summary,
    h('section', null, h('h2', null, 'Arrival and consumption'), prediction, h('div', { class: 'grid2' }, flowChart, lengthChart)),
    h('div', { class: 'grid2' }, publishForm(vhost!, name!), getForm(path)),
    h('section', null, h('h2', null, 'Consumers'), consumers),
    h('section', null, h('h2', null, 'Bindings'), bindings),
    dangerZone(path, vhost!, name!, key),
  );

  return {
    async refresh() {
      if (gone) return;
      let q: QueueInfo;
      try {
        q = await get<QueueInfo>(path);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          gone = true;
          fill(summary, h('p', { class: 'banner-inline' }, 'This queue does not exist (any more). ', h('a', { href: '#/queues' }, 'Back to the queues')));
          return;
        }
        throw err;
      }
      const now = Date.now();
      fill(summary, h('div', { class: 'cards' },
        stat('Ready', fmtInt(q.messages_ready), 'ready'), stat('Unacked', fmtInt(q.messages_unacknowledged), 'unacked'),
        stat('Total', fmtInt(q.messages), 'messages'), stat('Consumers', fmtInt(q.consumers), 'consumers')),
      details([
        ['Features', queueFeatures(q).length ? queueFeatures(q) : '—'],
        ['Arguments', argsText(q.arguments)],
        ['Policy', q.policy ?? '—'],
        ['State', q.state],
        ['Ready bytes', fmtBytes(q.message_bytes_ready)],
        ['Memory (estimate)', fmtBytes(q.memory)],
      ]));
      fill(prediction, 'Prediction: ', queuePrediction(q));

      const ms = q.message_stats;
      store.merge(`${key}publish`, samples(ms, 'publish'));
      store.merge(`${key}consumed`, sumSamples(['ack', 'deliver_no_ack', 'get_no_ack'].map((n) => samples(ms, n))));
      drawChart(flowChart, [
        { label: 'Arrival (publish)', points: ratesOf(store.get(`${key}publish`)) },
        { label: 'Consumption (ack + no-ack)', points: ratesOf(store.get(`${key}consumed`)) },
      ], { title: 'Arrival vs consumption', unit: 'msg/s', format: fmtShort });
      store.add(`${key}ready`, now, q.messages_ready);
      store.add(`${key}unacked`, now, q.messages_unacknowledged);
      drawChart(lengthChart, [
        { label: 'Ready', points: store.get(`${key}ready`) },
        { label: 'Unacked', points: store.get(`${key}unacked`) },
      ], { title: 'Queued messages', unit: 'msgs', format: fmtInt, emptyText: 'Recorded while this page is open…' });

      const [cons, binds] = await Promise.all([
        get<ConsumerInfo[]>(`/api/consumers/${enc(vhost!)}`),
        get<BindingInfo[]>(`${path}/bindings`),
      ]);
      fill(consumers, table([
        { label: 'Tag', cell: (c) => h('span', { class: 'mono' }, c.consumer_tag) },
        { label: 'Channel', cell: (c) => c.channel_details.name },
        { label: 'User', cell: (c) => c.channel_details.user },
        { label: 'Ack required', cell: (c) => (c.ack_required ? 'yes' : 'no') },
        { label: 'Prefetch', cell: (c) => fmtInt(c.prefetch_count), num: true },
        { label: 'Active', cell: (c) => (c.active ? 'yes' : 'waiting') },
      ], cons.filter((c) => c.queue.name === name), 'Consumers', 'No consumers.'));
      fill(bindings, table([
        { label: 'From exchange', cell: (b) => (b.source === '' ? '(default exchange)' : h('a', { href: `#/exchanges/${enc(b.vhost)}/${enc(b.source)}` }, b.source)) },
        { label: 'Routing key', cell: (b) => h('span', { class: 'mono' }, b.routing_key) },
        { label: 'Arguments', cell: (b) => argsText(b.arguments) },
      ], binds, 'Bindings'));
    },
  };
}

function stat(label: string, value: string, fieldName: string): HTMLElement {
  return h('div', { class: 'card stat' }, h('span', { class: 'card-value', 'data-field': fieldName }, value), h('span', { class: 'card-label' }, label));
}

/** Publishes through the default exchange with the queue's name as routing key. */
function publishForm(vhost: string, queue: string): HTMLElement {
  const payload = h('textarea', { name: 'payload', rows: 4, required: true });
  const mode = select('delivery_mode', [['2', 'Persistent (2)'], ['1', 'Transient (1)']]);
  const contentType = h('input', { name: 'content_type', placeholder: 'text/plain' });
  const headers = h('textarea', { name: 'headers', rows: 2, placeholder: '{"x-trace": "1"}' });
  const status = statusLine();
  const form = h('form', { class: 'card form', id: 'publish-form', 'aria-labelledby': 'publish-title' },
    h('h2', { id: 'publish-title' }, 'Publish a message'),
    h('p', { class: 'muted small' }, 'Sent through the default exchange, routing key ', h('span', { class: 'mono' }, queue), '.'),
    field('Payload', payload), h('div', { class: 'form-row' }, field('Delivery mode', mode), field('Content type', contentType)),
    field('Headers (JSON)', headers), h('button', { type: 'submit', class: 'primary' }, 'Publish'), status.el);
  onSubmit(form, status, async () => {
    const properties: Record<string, unknown> = { delivery_mode: Number(mode.value) };
    if (contentType.value) properties.content_type = contentType.value;
    if (headers.value.trim()) properties.headers = JSON.parse(headers.value);
    const res = await api<{ routed: boolean }>('POST', `/api/exchanges/${enc(vhost)}/amq.default/publish`,
      { routing_key: queue, payload: payload.value, payload_encoding: 'string', properties });
    app.refresh();
    if (!res.routed) throw new Error('Message published but not routed (the queue is gone?)');
    return 'Message published.';
  });
  return form;
}

function getForm(path: string): HTMLElement {
  const count = h('input', { type: 'number', name: 'count', min: 1, value: 1, required: true });
  const ackmode = select('ackmode', [
    ['ack_requeue_true', 'Requeue (peek)'], ['ack_requeue_false', 'Ack (remove)'],
    ['reject_requeue_true', 'Reject, requeue'], ['reject_requeue_false', 'Reject (dead-letter)'],
  ]);
  const encoding = select('encoding', [['auto', 'Auto string / base64'], ['base64', 'Base64']]);
  const status = statusLine();
  const results = h('div', { class: 'messages', id: 'get-results', 'aria-live': 'polite' });
  const form = h('form', { class: 'card form', id: 'get-form', 'aria-labelledby': 'get-title' },
    h('h2', { id: 'get-title' }, 'Get messages'),
    h('div', { class: 'form-row' }, field('Messages', count), field('Ack mode', ackmode), field('Encoding', encoding)),
    h('button', { type: 'submit', class: 'primary' }, 'Get messages'), status.el, results);
  onSubmit(form, status, async () => {
    const got = await api<GotMessage[]>('POST', `${path}/get`, { count: Number(count.value), ackmode: ackmode.value, encoding: encoding.value });
    app.refresh();
    fill(results, got.map((m, i) => h('article', { class: 'message' },
      h('h3', null, `Message ${i + 1}`),
      details([
        ['Exchange', m.exchange === '' ? '(default)' : m.exchange], ['Routing key', m.routing_key],
        ['Redelivered', m.redelivered ? 'yes' : 'no'], ['Left in queue', fmtInt(m.message_count)],
        ['Properties', argsText(m.properties)], ['Payload', `${fmtInt(m.payload_bytes)} bytes, ${m.payload_encoding}`],
      ]),
      h('pre', { class: 'payload' }, m.payload))));
    return got.length === 0 ? 'The queue is empty.' : `Got ${got.length} message${got.length === 1 ? '' : 's'}.`;
  });
  return form;
}

function dangerZone(path: string, vhost: string, name: string, key: string): HTMLElement {
  const status = statusLine();
  const purge = h('button', { type: 'button', class: 'danger', id: 'purge' }, 'Purge messages');
  const del = h('button', { type: 'button', class: 'danger', id: 'delete' }, 'Delete queue');
  const ifUnused = h('input', { type: 'checkbox', name: 'if-unused' });
  const ifEmpty = h('input', { type: 'checkbox', name: 'if-empty' });
  const run = (btn: HTMLButtonElement, question: string, action: () => Promise<string>): void => {
    btn.addEventListener('click', () => {
      if (!window.confirm(question)) return;
      btn.disabled = true;
      status.clear();
      action().then((msg) => status.ok(msg), (err: unknown) => status.error((err as Error).message)).finally(() => (btn.disabled = false));
    });
  };
  run(purge, `Purge every ready message in ${name}?`, async () => {
    await api('DELETE', `${path}/contents`);
    app.refresh();
    return 'Queue purged.';
  });
  run(del, `Delete queue ${name} in ${vhost} and its messages?`, async () => {
    const qs = new URLSearchParams();
    if (ifUnused.checked) qs.set('if-unused', 'true');
    if (ifEmpty.checked) qs.set('if-empty', 'true');
    const query = qs.toString();
    await api('DELETE', query ? `${path}?${query}` : path);
    store.forget(key);
    location.hash = '#/queues';
    return 'Queue deleted.';
  });
  return h('section', { class: 'card danger-zone', 'aria-labelledby': 'danger-title' },
    h('h2', { id: 'danger-title' }, 'Purge or delete'),
    h('div', { class: 'form-row' }, purge, del, field('Only if unused', ifUnused), field('Only if empty', ifEmpty)), status.el);
}
