/**
 * The trace page's event table: newest first, at most MAX_ROWS rows (the oldest go), added in
 * batches so a busy vhost redraws a few times a second rather than once per message. A row expands
 * (click, or Enter on its time button) into the message's properties and payload as the stream
 * delivered it. Paused, events are held (the newest MAX_ROWS) and shown on resume.
 */
import { badge, details, h } from '../dom.js';
import { fmtBytes, fmtInt } from '../format.js';
import type { TraceEvent } from '../trace.js';

export const MAX_ROWS = 500;
const FLUSH_MS = 100;
const PREVIEW_CHARS = 80;
const COLUMNS = ['Time', 'Type', 'Exchange', 'Routing keys', 'Queues', 'User', 'Size', 'Payload'];

interface Entry {
  ev: TraceEvent;
  row: HTMLTableRowElement;
  detail?: HTMLTableRowElement;
}

export interface TraceTable {
  /** The table and its empty-state line. */
  el: HTMLElement;
  /** "12 events …" */
  countEl: HTMLElement;
  add(ev: TraceEvent): void;
  clear(): void;
  setPaused(paused: boolean): void;
  /** Stops the pending redraw (the page is going). */
  dispose(): void;
}

export function traceTable(): TraceTable {
  const tbody = h('tbody', { id: 'trace-rows' });
  const wrap = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Traced messages, newest first', tabindex: 0, hidden: true },
    h('table', { class: 'trace-table' },
      h('caption', { class: 'visually-hidden' }, 'Traced messages, newest first'),
      h('thead', null, h('tr', null, COLUMNS.map((c) => h('th', { scope: 'col', class: c === 'Size' ? 'num' : null }, c)))),
      tbody));
  const empty = h('p', { class: 'empty', id: 'trace-empty' }, 'No events yet. Start a trace, then publish or consume in its virtual host.');
  const countEl = h('p', { class: 'muted', id: 'trace-count' }, '0 events');
  const entries: Entry[] = []; // newest first, as shown
  let pending: TraceEvent[] = []; // oldest first, not drawn yet
  let received = 0;
  let dropped = 0; // held while paused beyond MAX_ROWS: never shown
  let paused = false;
  let timer: number | undefined;

  const updateCount = (): void => {
    let text = `${fmtInt(received)} event${received === 1 ? '' : 's'}`;
    if (entries.length < received - pending.length) text += `, showing the newest ${fmtInt(entries.length)}`;
    if (paused) text += ` · paused: ${fmtInt(pending.length)} new held${dropped > 0 ? ` (${fmtInt(dropped)} older ones dropped)` : ''}`;
    countEl.textContent = text;
  };

  const flush = (): void => {
    timer = undefined;
    if (paused) return updateCount();
    for (const ev of pending) {
      const entry = makeEntry(ev);
      tbody.prepend(entry.row);
      entries.unshift(entry);
    }
    pending = [];
    dropped = 0;
    while (entries.length > MAX_ROWS) removeEntry(entries.pop()!);
    wrap.hidden = entries.length === 0;
    empty.hidden = entries.length > 0;
    updateCount();
  };
  const removeEntry = (e: Entry): void => {
    e.row.remove();
    e.detail?.remove();
  };

  function makeEntry(ev: TraceEvent): Entry {
    const toggle = h('button', { type: 'button', class: 'link expander', 'aria-expanded': 'false', title: 'Show properties and payload' }, fmtTime(ev.timestamp));
    const row = h('tr', { class: 'trace-event', 'data-type': ev.type }, [
      h('td', { class: 'nowrap' }, toggle),
      h('td', null, badge(ev.type, ev.type === 'publish' ? 'ok' : 'muted'), ev.redelivered ? badge('redelivered', 'warn') : null),
      h('td', null, exchangeName(ev.exchange)),
      h('td', { class: 'mono' }, ev.routing_keys.join(', ')),
      h('td', null, queuesCell(ev)),
      h('td', null, ev.user ?? '—'),
      h('td', { class: 'num' }, fmtBytes(ev.payload_bytes)),
      h('td', { class: 'preview mono' }, preview(ev)),
    ]);
    const entry: Entry = { ev, row };
    row.addEventListener('click', () => {
      if (window.getSelection()?.toString()) return; // selecting text, not expanding
      const open = !entry.detail;
      if (open) {
        entry.detail = detailRow(ev);
        row.after(entry.detail);
      } else {
        entry.detail!.remove();
        entry.detail = undefined;
      }
      toggle.setAttribute('aria-expanded', String(open));
      row.classList.toggle('open', open);
    });
    return entry;
  }

  return {
    el: h('div', null, empty, wrap),
    countEl,
    add(ev) {
      received++;
      pending.push(ev);
      if (pending.length > MAX_ROWS) {
        const extra = pending.length - MAX_ROWS;
        pending.splice(0, extra);
        if (paused) dropped += extra;
      }
      if (timer === undefined) timer = window.setTimeout(flush, FLUSH_MS);
    },
    clear() {
      for (const e of entries) removeEntry(e);
      entries.length = 0;
      pending = [];
      received = 0;
      dropped = 0;
      wrap.hidden = true;
      empty.hidden = false;
      updateCount();
    },
    setPaused(p) {
      paused = p;
      if (!paused && timer === undefined) flush();
      else updateCount();
    },
    dispose() {
      window.clearTimeout(timer);
      timer = undefined;
    },
  };
}

function detailRow(ev: TraceEvent): HTMLTableRowElement {
  const shown = ev.payload_encoding === 'base64' ? Math.floor((ev.payload.replace(/=+$/, '').length * 3) / 4) : new TextEncoder().encode(ev.payload).length;
  const pairs: [string, string][] = [
    ['Virtual host', ev.vhost],
    ['Connection', ev.connection ?? '—'],
    ['Channel', ev.channel === null ? '—' : String(ev.channel)],
    ['Node', ev.node ?? '—'],
  ];
  if (ev.type === 'publish') pairs.push(['Routed to', (ev.routed_queues ?? []).join(', ') || 'no queue (unroutable)']);
  else pairs.push(['Delivered from', ev.queue ?? '—'], ['Redelivered', ev.redelivered ? 'yes' : 'no']);
  pairs.push(['Payload', `${fmtInt(ev.payload_bytes)} bytes${ev.payload_encoding === 'base64' ? ', not UTF-8 text: shown as base64' : ''}${
    ev.payload_truncated ? `; the first ${fmtInt(shown)} shown (raise "Payload bytes shown" to see more)` : ''}`]);
  return h('tr', { class: 'trace-detail' }, h('td', { colspan: COLUMNS.length },
    details(pairs),
    h('h3', null, 'Properties'),
    h('pre', { class: 'payload properties' }, Object.keys(ev.properties).length === 0 ? '(none)' : JSON.stringify(ev.properties, null, 2)),
    h('h3', null, 'Payload'),
    h('pre', { class: 'payload' }, ev.payload)));
}

function queuesCell(ev: TraceEvent): HTMLElement | string {
  if (ev.type === 'deliver') return ev.queue ?? '—';
  const routed = ev.routed_queues ?? [];
  return routed.length === 0 ? badge('unroutable', 'warn', 'No queue received this message') : routed.join(', ');
}

export const exchangeName = (name: string): string => (name === '' ? '(default)' : name);

/** The start of the payload on one line, or a note for binary payloads. */
function preview(ev: TraceEvent): string {
  if (ev.payload_encoding === 'base64') return `(binary, ${fmtInt(ev.payload_bytes)} bytes)`;
  const text = ev.payload.replace(/\s+/g, ' ').trim();
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text || '(empty)';
}

/** "14:05:30.123", local time. */
export function fmtTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
