/**
 * The queues list: counts, arrival rate against consumption rate, and each queue's prediction
 * ("empty in ~3 min", "growing by 2.1k msg/s", "steady"). Paged and filtered by the API (RabbitMQ's
 * page/name parameters), so ten thousand queues cost one page of rows. Also a form to add a queue.
 */
import type { Paged, QueueInfo, VhostInfo } from '../api.js';
import { api, enc, get, rate } from '../api.js';
import { app } from '../app.js';
import { badge, field, fill, h, onSubmit, select, statusLine, table } from '../dom.js';
import { fmtDuration, fmtInt, fmtRate, fmtShort } from '../format.js';
import { flowOf, predict } from '../predict.js';

const PAGE_SIZE = 100;

export function queuePrediction(q: QueueInfo): HTMLElement {
  const p = predict(flowOf(q), fmtShort, fmtDuration);
  const kind = p.kind === 'growing' ? 'warn' : p.kind === 'stalled' ? 'alarm' : p.kind === 'draining' ? 'ok' : 'muted';
  return h('span', { class: `prediction ${kind}`, 'data-kind': p.kind }, p.text);
}

/** Durable, auto-delete, exclusive, policy and arguments as short badges. */
export function queueFeatures(q: QueueInfo): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (q.durable) out.push(badge('D', 'muted', 'durable'));
  if (q.auto_delete) out.push(badge('AD', 'muted', 'auto-delete'));
  if (q.exclusive) out.push(badge('Excl', 'muted', 'exclusive'));
  for (const [k, v] of Object.entries(q.arguments ?? {})) out.push(badge(k.replace(/^x-/, ''), 'muted', `${k} = ${JSON.stringify(v)}`));
  if (q.policy) out.push(badge(`policy: ${q.policy}`, 'muted'));
  return out;
}

export const queueHref = (q: { vhost: string; name: string }): string => `#/queues/${enc(q.vhost)}/${enc(q.name)}`;

export function queuesPage(root: HTMLElement): { refresh(): Promise<void> } {
  let pageNo = 1;
  const filter = h('input', { type: 'search', name: 'filter', placeholder: 'part of a name', autocomplete: 'off' });
  const useRegex = h('input', { type: 'checkbox', name: 'regex' });
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const list = h('div', { id: 'queue-list' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of queues' });
  let typing: number | undefined;
  filter.addEventListener('input', () => {
    window.clearTimeout(typing);
    typing = window.setTimeout(() => { pageNo = 1; app.refresh(); }, 300);
  });
  useRegex.addEventListener('change', () => { pageNo = 1; app.refresh(); });

  const vhostSelect = select('vhost', ['/']);
  const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
  const durable = h('input', { type: 'checkbox', name: 'durable', checked: true });
  const args = h('textarea', { name: 'arguments', rows: 2, placeholder: '{"x-max-length": 10000}' });
  const status = statusLine();
  const form = h('form', { class: 'card form', 'aria-labelledby': 'add-queue-title' },
    h('h2', { id: 'add-queue-title' }, 'Add a queue'),
    h('div', { class: 'form-row' }, field('Virtual host', vhostSelect), field('Name', name), field('Durable', durable)),
    field('Arguments (JSON)', args, 'Optional, RabbitMQ\'s names: x-message-ttl, x-max-length, x-dead-letter-exchange, …'),
    h('button', { type: 'submit', class: 'primary' }, 'Add queue'), status.el);
  onSubmit(form, status, async () => {
    const body = { durable: durable.checked, arguments: parseJson(args.value, 'Arguments') };
    await api('PUT', `/api/queues/${enc(vhostSelect.value)}/${enc(name.value)}`, body);
    const added = name.value;
    name.value = '';
    app.refresh();
    return `Queue ${added} added.`;
  });

  root.append(
    h('h1', null, 'Queues'),
    h('div', { class: 'toolbar' }, field('Filter by name', filter), field('Regular expression', useRegex)),
    count, list, pager,
    h('p', { class: 'muted small' }, 'In: messages published to the queue per second. Out: messages consumed per second ',
      '(acknowledged, or delivered without acks). Prediction: Q(t) = P(t) − C(t) extrapolated at these rates; ',
      'messages leaving by TTL, length limits or rejects are not counted as consumed.'),
    form,
  );

  let vhostsLoaded = false;
  return {
    async refresh() {
      const qs = new URLSearchParams({ page: String(pageNo), page_size: String(PAGE_SIZE), sort: 'name' });
      if (filter.value) qs.set('name', filter.value);
      if (useRegex.checked) qs.set('use_regex', 'true');
      const paged = await get<Paged<QueueInfo>>(`/api/queues?${qs}`).catch(async (err: unknown) => {
        if (pageNo > 1) { // the list shrank under us: back to the first page
          pageNo = 1;
          return get<Paged<QueueInfo>>(`/api/queues?${qs}`.replace(/page=\d+/, 'page=1'));
        }
        throw err;
      });
      count.textContent = paged.filtered_count === paged.total_count
        ? `${fmtInt(paged.total_count)} queues`
        : `${fmtInt(paged.filtered_count)} of ${fmtInt(paged.total_count)} queues match`;
      fill(list, table([
        { label: 'Virtual host', cell: (q) => q.vhost },
        { label: 'Name', cell: (q) => h('a', { href: queueHref(q), class: 'queue-link' }, q.name) },
        { label: 'Features', cell: queueFeatures },
        { label: 'Consumers', cell: (q) => fmtInt(q.consumers), num: true },
        { label: 'Ready', cell: (q) => fmtInt(q.messages_ready), num: true },
        { label: 'Unacked', cell: (q) => fmtInt(q.messages_unacknowledged), num: true },
        { label: 'Total', cell: (q) => h('span', { 'data-field': 'messages' }, fmtInt(q.messages)), num: true },
        { label: 'In', cell: (q) => fmtRate(rate(q.message_stats, 'publish')), num: true, title: 'published per second' },
        { label: 'Out', cell: (q) => fmtRate(flowOf(q).outRate), num: true, title: 'consumed per second' },
        { label: 'Prediction', cell: queuePrediction },
      ], paged.items, 'Queues', filter.value ? 'No queue matches the filter.' : 'No queues yet.'));
      fill(pager, paged.page_count <= 1 ? null : [
        h('button', { type: 'button', disabled: paged.page <= 1, onclick: () => { pageNo--; app.refresh(); } }, '‹ Previous'),
        h('span', null, ` Page ${paged.page} of ${paged.page_count} `),
        h('button', { type: 'button', disabled: paged.page >= paged.page_count, onclick: () => { pageNo++; app.refresh(); } }, 'Next ›'),
      ]);
      if (!vhostsLoaded) {
        const vhosts = await get<VhostInfo[]>('/api/vhosts');
        fill(vhostSelect, vhosts.map((v) => h('option', { value: v.name }, v.name)));
        vhostsLoaded = true;
      }
    },
  };
}

/** A JSON object from a textarea ({} when empty); the error names the field. */
export function parseJson(text: string, what: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what}: not valid JSON (${(err as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what}: must be a JSON object`);
  return v as Record<string, unknown>;
}
