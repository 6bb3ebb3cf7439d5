/** Exchanges: the list with a form to add one; one exchange's bindings, a publish form, and delete. */
import type { BindingInfo, ExchangeInfo, VhostInfo } from '../api.js';
import { ApiError, api, enc, get } from '../api.js';
import { app } from '../app.js';
import { append, argsText, badge, details, field, fill, h, onSubmit, select, statusLine, table } from '../dom.js';
import { parseJson, queueHref } from './queues.js';

const TYPES = ['direct', 'fanout', 'topic', 'headers', 'x-delayed-message'];

/** RabbitMQ's name for the default exchange in paths and lists. */
const shown = (name: string): string => (name === '' ? '(AMQP default)' : name);
const exchangeHref = (e: { vhost: string; name: string }): string => `#/exchanges/${enc(e.vhost)}/${enc(e.name === '' ? 'amq.default' : e.name)}`;

function features(e: ExchangeInfo): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (e.durable) out.push(badge('D', 'muted', 'durable'));
  if (e.auto_delete) out.push(badge('AD', 'muted', 'auto-delete'));
  if (e.internal) out.push(badge('I', 'muted', 'internal'));
  for (const [k, v] of Object.entries(e.arguments ?? {})) out.push(badge(k, 'muted', JSON.stringify(v)));
  if (e.policy) out.push(badge(`policy: ${e.policy}`, 'muted'));
  return out;
}

export function exchangesPage(root: HTMLElement): { refresh(): Promise<void> } {
  const list = h('div');
  const vhostSelect = select('vhost', ['/']);
  const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
  const type = select('type', TYPES);
  const durable = h('input', { type: 'checkbox', name: 'durable', checked: true });
  const args = h('textarea', { name: 'arguments', rows: 2, placeholder: '{"alternate-exchange": "unrouted"}' });
  const status = statusLine();
  const form = h('form', { class: 'card form', 'aria-labelledby': 'add-exchange-title' },
    h('h2', { id: 'add-exchange-title' }, 'Add an exchange'),
    h('div', { class: 'form-row' }, field('Virtual host', vhostSelect), field('Name', name), field('Type', type), field('Durable', durable)),
    field('Arguments (JSON)', args), h('button', { type: 'submit', class: 'primary' }, 'Add exchange'), status.el);
  onSubmit(form, status, async () => {
    await api('PUT', `/api/exchanges/${enc(vhostSelect.value)}/${enc(name.value)}`,
      { type: type.value, durable: durable.checked, arguments: parseJson(args.value, 'Arguments') });
    const added = name.value;
    name.value = '';
    app.refresh();
    return `Exchange ${added} added.`;
  });
  root.append(h('h1', null, 'Exchanges'), list, form);

  let vhostsLoaded = false;
  return {
    async refresh() {
      const exchanges = await get<ExchangeInfo[]>('/api/exchanges?sort=name');
      fill(list, table([
        { label: 'Virtual host', cell: (e) => e.vhost },
        { label: 'Name', cell: (e) => h('a', { href: exchangeHref(e) }, shown(e.name)) },
        { label: 'Type', cell: (e) => e.type },
        { label: 'Features', cell: features },
      ], exchanges, 'Exchanges'));
      if (!vhostsLoaded) {
        fill(vhostSelect, (await get<VhostInfo[]>('/api/vhosts')).map((v) => h('option', { value: v.name }, v.name)));
        vhostsLoaded = true;
      }
    },
  };
}

export function exchangePage(root: HTMLElement, [vhost, rawName]: string[]): { refresh(): Promise<void> } {
  const name = rawName === 'amq.default' ? '' : rawName!;
  const path = `/api/exchanges/${enc(vhost!)}/${enc(name === '' ? 'amq.default' : name)}`;
  const summary = h('div');
  const bindingsOut = h('div');
  const bindingsIn = h('div');
  let gone = false;

  const routingKey = h('input', { name: 'routing_key', autocomplete: 'off' });
  const payload = h('textarea', { name: 'payload', rows: 4 });
  const mode = select('delivery_mode', [['2', 'Persistent (2)'], ['1', 'Transient (1)']]);
  const headers = h('textarea', { name: 'headers', rows: 2, placeholder: '{"format": "pdf"}' });
  const status = statusLine();
  const form = h('form', { class: 'card form', id: 'exchange-publish-form', 'aria-labelledby': 'xpub-title' },
    h('h2', { id: 'xpub-title' }, 'Publish a message'),
    h('div', { class: 'form-row' }, field('Routing key', routingKey), field('Delivery mode', mode)),
    field('Payload', payload), field('Headers (JSON)', headers),
    h('button', { type: 'submit', class: 'primary' }, 'Publish'), status.el);
  onSubmit(form, status, async () => {
    const properties: Record<string, unknown> = { delivery_mode: Number(mode.value) };
    const hdrs = parseJson(headers.value, 'Headers');
    if (Object.keys(hdrs).length) properties.headers = hdrs;
    const res = await api<{ routed: boolean }>('POST', `${path}/publish`,
      { routing_key: routingKey.value, payload: payload.value, payload_encoding: 'string', properties });
    app.refresh();
    if (!res.routed) throw new Error('Published, but no queue took it: the message was not routed.');
    return 'Message published and routed.';
  });

  const delStatus = statusLine();
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete exchange');
  del.addEventListener('click', () => {
    if (!window.confirm(`Delete exchange ${shown(name)} in ${vhost}?`)) return;
    api('DELETE', path).then(() => { location.hash = '#/exchanges'; }, (err: unknown) => delStatus.error((err as Error).message));
  });

  append(root, [
    h('p', { class: 'crumbs' }, h('a', { href: '#/exchanges' }, 'Exchanges'), ` › ${vhost}`),
    h('h1', null, 'Exchange ', h('span', { class: 'mono' }, shown(name))),
    summary,
    h('section', null, h('h2', null, 'Bindings from this exchange'), bindingsOut),
    h('section', null, h('h2', null, 'Bindings to this exchange'), bindingsIn),
    form,
    name === '' || name.startsWith('amq.') ? null
      : h('section', { class: 'card danger-zone' }, h('h2', null, 'Delete'), del, delStatus.el),
  ]);

  return {
    async refresh() {
      if (gone) return;
      let e: ExchangeInfo;
      try {
        e = await get<ExchangeInfo>(path);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          gone = true;
          fill(summary, h('p', { class: 'banner-inline' }, 'This exchange does not exist (any more). ', h('a', { href: '#/exchanges' }, 'Back to the exchanges')));
          return;
        }
        throw err;
      }
      fill(summary, details([['Type', e.type], ['Features', features(e).length ? features(e) : '—'], ['Arguments', argsText(e.arguments)], ['Policy', e.policy ?? '—']]));
      if (name === '') {
        fill(bindingsOut, h('p', { class: 'muted' }, 'The default exchange routes to every queue by its name.'));
        fill(bindingsIn, h('p', { class: 'muted' }, '—'));
        return;
      }
      const [out, inb] = await Promise.all([
        get<BindingInfo[]>(`${path}/bindings/source`),
        get<BindingInfo[]>(`${path}/bindings/destination`),
      ]);
      const dest = (b: BindingInfo): HTMLElement => h('a', {
        href: b.destination_type === 'queue' ? queueHref({ vhost: b.vhost, name: b.destination }) : exchangeHref({ vhost: b.vhost, name: b.destination }),
      }, `${b.destination_type} ${b.destination}`);
      fill(bindingsOut, table([
        { label: 'To', cell: dest },
        { label: 'Routing key', cell: (b) => h('span', { class: 'mono' }, b.routing_key) },
        { label: 'Arguments', cell: (b) => argsText(b.arguments) },
      ], out, 'Bindings from this exchange', 'No bindings: messages published here are not routed anywhere.'));
      fill(bindingsIn, table([
        { label: 'From', cell: (b) => h('a', { href: exchangeHref({ vhost: b.vhost, name: b.source }) }, shown(b.source)) },
        { label: 'Routing key', cell: (b) => h('span', { class: 'mono' }, b.routing_key) },
      ], inb, 'Bindings to this exchange', 'None.'));
    },
  };
}
