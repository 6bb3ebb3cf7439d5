/**
 * Trace: a live view of a virtual host's publishes and deliveries (GET /api/trace/{vhost}, the
 * firehose as Server-Sent Events), filtered on the server by type, exchange, queue and routing
 * key. Start opens the stream, Stop (or leaving the page) aborts it; while it is open the broker
 * traces that vhost, which the page says. `#/trace/{vhost}/{queue}` opens it with a queue filled in.
 */
import type { VhostInfo } from '../api.js';
import { ApiError, get } from '../api.js';
import { field, fill, h, select, statusLine } from '../dom.js';
import { fmtInt } from '../format.js';
import type { TraceFilter, TraceOpen } from '../trace.js';
import { runTrace } from '../trace.js';
import { traceTable } from './trace-table.js';

const DEFAULT_TRUNCATE = 2048;
const MAX_TRUNCATE = 1024 * 1024;

type State = 'stopped' | 'connecting' | 'running';

export function tracePage(root: HTMLElement, params: string[]): { refresh(): Promise<void>; leave(): void } {
  const [vhostParam, queueParam] = params;
  const vhostSelect = select('vhost', [vhostParam ?? '/']);
  const type = select('type', [['', 'Publishes and deliveries'], ['publish', 'Publishes'], ['deliver', 'Deliveries']]);
  const exchange = h('input', { name: 'exchange', autocomplete: 'off', placeholder: 'any' });
  const queue = h('input', { name: 'queue', autocomplete: 'off', placeholder: 'any', value: queueParam ?? '' });
  const routingKey = h('input', { name: 'routing_key', autocomplete: 'off', placeholder: 'any, or e.g. order.*.eu' });
  const truncate = h('input', { type: 'number', name: 'truncate', min: 0, max: MAX_TRUNCATE, value: DEFAULT_TRUNCATE, required: true });
  const filters = h('fieldset', { class: 'plain' },
    h('legend', { class: 'visually-hidden' }, 'What to trace'),
    h('div', { class: 'form-row' }, field('Virtual host', vhostSelect), field('Type', type),
      field('Exchange', exchange, 'amq.default for the default exchange')),
    h('div', { class: 'form-row' },
      field('Queue', queue, 'Deliveries from it, and publishes routed to it'),
      field('Routing key', routingKey, 'Exact, or a pattern: * one word, # any number'),
      field('Payload bytes shown', truncate, `Per message, up to ${fmtInt(MAX_TRUNCATE)}`)));
  const startBtn = h('button', { type: 'submit', class: 'primary', id: 'trace-start' }, 'Start');
  const stopBtn = h('button', { type: 'button', id: 'trace-stop', disabled: true }, 'Stop');
  const status = statusLine();
  status.el.id = 'trace-status';
  const form = h('form', { class: 'card form', id: 'trace-form', 'data-state': 'stopped', 'aria-labelledby': 'trace-form-title' },
    h('h2', { id: 'trace-form-title', class: 'visually-hidden' }, 'Trace filters'),
    filters, h('div', { class: 'form-row buttons' }, startBtn, stopBtn), status.el);

  const table = traceTable();
  const pauseBtn = h('button', { type: 'button', id: 'trace-pause', 'aria-pressed': 'false' }, 'Pause');
  const clearBtn = h('button', { type: 'button', id: 'trace-clear' }, 'Clear');

  root.append(
    h('h1', null, 'Trace'),
    h('p', { class: 'muted' }, 'Messages as they are published to, and delivered from, a virtual host: the firehose ',
      '(amq.rabbitmq.trace), filtered on the broker. Newest first, the last 500 kept; click a row for its properties and payload.'),
    h('p', { class: 'banner-inline', role: 'note' }, 'While a trace runs, the broker traces every publish and delivery in its ',
      'virtual host, as if tracing were switched on: that slows it down, and any other queue bound to amq.rabbitmq.trace there ',
      'receives the copies too. Stop, or leave this page, to end it.'),
    form,
    h('div', { class: 'toolbar trace-toolbar' }, table.countEl, pauseBtn, clearBtn),
    table.el,
  );

  let state: State = 'stopped';
  let abort: AbortController | undefined;
  const setState = (s: State): void => {
    state = s;
    form.dataset.state = s;
    filters.disabled = s !== 'stopped';
    startBtn.disabled = s !== 'stopped';
    stopBtn.disabled = s === 'stopped';
  };

  const start = async (): Promise<void> => {
    const filter: TraceFilter = {
      type: type.value as TraceFilter['type'], exchange: exchange.value.trim(), queue: queue.value.trim(),
      routingKey: routingKey.value.trim(), truncate: Number(truncate.value),
    };
    const vhost = vhostSelect.value;
    const ctl = new AbortController();
    abort = ctl;
    setState('connecting');
    status.ok('Connecting…');
    try {
      const reason = await runTrace(vhost, filter, ctl.signal, {
        open: (o) => {
          setState('running');
          status.ok(runningText(o, filter));
        },
        event: (e) => table.add(e),
      });
      if (abort === ctl) status.error(`The broker ended the trace (${reason}).`);
    } catch (err) {
      if (ctl.signal.aborted) return; // Stop, or the page is going: stop() said so
      status.error(err instanceof ApiError ? err.message : `The trace stopped: ${(err as Error).message}`);
    } finally {
      if (abort === ctl) {
        abort = undefined;
        setState('stopped');
      }
    }
  };
  const stop = (): void => {
    if (!abort) return;
    abort.abort();
    abort = undefined;
    setState('stopped');
    status.ok('Stopped.');
  };

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (state === 'stopped') void start();
  });
  stopBtn.addEventListener('click', stop);
  pauseBtn.addEventListener('click', () => {
    const paused = pauseBtn.getAttribute('aria-pressed') !== 'true';
    pauseBtn.setAttribute('aria-pressed', String(paused));
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    table.setPaused(paused);
  });
  clearBtn.addEventListener('click', () => table.clear());

  let vhostsLoaded = false;
  return {
    async refresh() {
      if (vhostsLoaded) return;
      const vhosts = await get<VhostInfo[]>('/api/vhosts');
      const chosen = vhostSelect.value;
      fill(vhostSelect, vhosts.map((v) => h('option', { value: v.name, selected: v.name === chosen }, v.name)));
      vhostsLoaded = true;
    },
    leave() {
      if (abort) {
        abort.abort();
        abort = undefined;
      }
      table.dispose();
    },
  };
}

function runningText(o: TraceOpen, f: TraceFilter): string {
  const parts: string[] = [];
  if (f.type) parts.push(f.type === 'publish' ? 'publishes' : 'deliveries');
  if (f.exchange) parts.push(`exchange ${f.exchange}`);
  if (f.queue) parts.push(`queue ${f.queue}`);
  if (f.routingKey) parts.push(`routing key ${f.routingKey}`);
  const what = parts.length === 0 ? 'everything' : parts.join(', ');
  return `Tracing ${what} in virtual host ${o.vhost}. Tracing is on there while this runs; `
    + `its own switch is ${o.tracing ? 'on too' : 'off'} and stays as it is.`;
}
