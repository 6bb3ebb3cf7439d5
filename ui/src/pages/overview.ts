/**
 * The overview: object and message totals, message rates and queued messages over time, the
 * seeds' throughput T, latency L and queue length Q, and the node's memory and disk against their
 * alarm limits.
 */
import type { NodeInfo, Overview } from '../api.js';
import { ApiError, get, rate, samples } from '../api.js';
import { drawChart } from '../chart.js';
import { badge, fill, h, table } from '../dom.js';
import { fmtBytes, fmtDuration, fmtInt, fmtRate, fmtShort } from '../format.js';
import { ratesOf, store, sumSamples } from '../history.js';

const CONSUMED = ['ack', 'deliver_no_ack', 'get_no_ack'];
const DELIVERED = ['deliver', 'deliver_no_ack', 'get', 'get_no_ack'];

export function overviewPage(root: HTMLElement): { refresh(): Promise<void> } {
  const subtitle = h('p', { class: 'muted' });
  const totals = h('div', { class: 'cards' });
  const rates = h('div', { class: 'chart-slot', id: 'chart-rates' });
  const queued = h('div', { class: 'chart-slot', id: 'chart-queued' });
  const tlq = h('div', { class: 'tiles' });
  const node = h('div');
  const listeners = h('div');
  root.append(
    h('h1', null, 'Overview'), subtitle, totals,
    h('section', { class: 'grid2', 'aria-label': 'Charts' }, rates, queued),
    h('section', null, h('h2', null, 'Throughput T, latency L, queue length Q'),
      h('p', { class: 'muted' }, 'T: messages consumed per second (acknowledged, or delivered without acks). ',
        'Q: messages ready in all queues. L: Warren does not measure per-message latency; shown instead is the ',
        'time to drain Q at the current T (Q / T), the wait a new message would see if the rates held.'),
      tlq),
    h('section', null, h('h2', null, 'Node'), node),
    h('section', null, h('h2', null, 'Listeners'), listeners),
  );

  let nodeForbidden = false;

  return {
    async refresh() {
      const [ov, nodes] = await Promise.all([
        get<Overview>('/api/overview'),
        nodeForbidden ? Promise.resolve(undefined) : get<NodeInfo[]>('/api/nodes').catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 403) {
            nodeForbidden = true;
            return undefined;
          }
          throw err;
        }),
      ]);
      const now = Date.now();
      const ms = ov.message_stats;
      const qt = ov.queue_totals;
      subtitle.textContent = `${ov.product_name} ${ov.product_version} on ${ov.node}`;

      const ot = ov.object_totals;
      fill(totals, ...[
        ['Connections', ot.connections, '#/connections'], ['Channels', ot.channels, '#/channels'],
        ['Exchanges', ot.exchanges, '#/exchanges'], ['Queues', ot.queues, '#/queues'], ['Consumers', ot.consumers, null],
        ['Ready', qt.messages_ready, null], ['Unacked', qt.messages_unacknowledged, null], ['Total messages', qt.messages, null],
      ].map(([label, n, href]) => card(String(label), fmtInt(n as number), href as string | null)));

      // Rates: counter samples merged into the page's history, differenced into per-second rates.
      store.merge('ov.publish', samples(ms, 'publish'));
      store.merge('ov.delivered', sumSamples(DELIVERED.map((n) => samples(ms, n))));
      store.merge('ov.ack', samples(ms, 'ack'));
      store.merge('ov.consumed', sumSamples(CONSUMED.map((n) => samples(ms, n))));
      drawChart(rates, [
        { label: 'Publish', points: ratesOf(store.get('ov.publish')) },
        { label: 'Deliver / get', points: ratesOf(store.get('ov.delivered')) },
        { label: 'Ack', points: ratesOf(store.get('ov.ack')) },
      ], { title: 'Message rates', unit: 'msg/s', format: fmtShort });

      store.add('ov.ready', now, qt.messages_ready);
      store.add('ov.unacked', now, qt.messages_unacknowledged);
      drawChart(queued, [
        { label: 'Ready', points: store.get('ov.ready') },
        { label: 'Unacked', points: store.get('ov.unacked') },
      ], { title: 'Queued messages', unit: 'msgs', format: fmtInt, emptyText: 'Recorded while this page is open…' });

      const T = CONSUMED.reduce((sum, n) => sum + rate(ms, n), 0);
      const Q = qt.messages_ready;
      if (T > 0) store.add('ov.drain', now, Q / T);
      fillTiles(tlq, T, Q);

      if (nodes?.[0]) fillNode(node, nodes[0]);
      else if (nodeForbidden) fill(node, h('p', { class: 'muted' }, 'Node details need the monitoring or administrator tag.'));
      fill(listeners, table([
        { label: 'Protocol', cell: (l) => l.protocol },
        { label: 'Interface', cell: (l) => l.ip_address },
        { label: 'Port', cell: (l) => l.port, num: true },
      ], ov.listeners, 'Listeners'));
    },
  };
}

function card(label: string, value: string, href: string | null): HTMLElement {
  const body = [h('span', { class: 'card-value' }, value), h('span', { class: 'card-label' }, label)];
  return href ? h('a', { class: 'card stat', href }, body) : h('div', { class: 'card stat' }, body);
}

function fillTiles(el: HTMLElement, T: number, Q: number): void {
  const slots = ['T', 'L', 'Q'].map((k) => el.querySelector<HTMLElement>(`[data-tile="${k}"] .chart-slot`) ?? h('div', { class: 'chart-slot' }));
  let drain: string;
  let drainNote: string;
  if (Q === 0) [drain, drainNote] = ['0 s', 'nothing waiting'];
  else if (T === 0) [drain, drainNote] = ['—', 'not draining (T is 0)'];
  else [drain, drainNote] = [fmtDuration(Q / T), 'time to drain Q at T, not a measured latency'];
  const tile = (key: string, title: string, value: string, note: string, slot: HTMLElement): HTMLElement =>
    h('div', { class: 'card tile', 'data-tile': key },
      h('h3', null, title), h('p', { class: 'card-value' }, value), h('p', { class: 'muted small' }, note), slot);
  fill(el,
    tile('T', 'T · throughput', fmtRate(T), 'messages consumed per second', slots[0]!),
    tile('L', 'L · time to drain (Q / T)', drain, drainNote, slots[1]!),
    tile('Q', 'Q · queue length', fmtInt(Q), 'messages ready', slots[2]!));
  drawChart(slots[0]!, [{ label: 'T', points: ratesOf(store.get('ov.consumed')) }], { title: 'T over time', unit: 'msg/s', height: 90 });
  drawChart(slots[1]!, [{ label: 'Q / T', points: store.get('ov.drain') }], { title: 'Q / T over time', unit: 's', height: 90, emptyText: 'No consumption yet' });
  drawChart(slots[2]!, [{ label: 'Q', points: store.get('ov.ready') }], { title: 'Q over time', unit: 'msgs', height: 90, format: fmtInt });
}

function meter(label: string, used: number, limit: number, text: string, alarm: boolean): HTMLElement {
  const pct = limit > 0 ? Math.min(100, (used / limit) * 100) : 0;
  const fillEl = h('div', { class: 'bar-fill' });
  fillEl.style.width = `${pct.toFixed(1)}%`; // CSSOM, not a style attribute: the page's CSP forbids inline styles
  const bar = h('div', { class: `bar${alarm ? ' alarm' : pct > 80 ? ' warn' : ''}`, role: 'img', 'aria-label': `${label}: ${text}` }, fillEl);
  return h('div', { class: 'meter' },
    h('div', { class: 'meter-head' }, h('strong', null, label), alarm ? badge('ALARM', 'alarm') : badge('ok', 'ok')),
    bar, h('p', { class: 'muted small' }, text));
}

function fillNode(el: HTMLElement, n: NodeInfo): void {
  const disk = n.disk_free === null
    ? h('div', { class: 'meter' }, h('strong', null, 'Disk free'), h('p', { class: 'muted small' }, 'not measured yet'))
    // Disk: the bar shows how close free space is to the limit (full bar = at the limit).
    : meter('Disk free', n.disk_free_limit, n.disk_free, `${fmtBytes(n.disk_free)} free, alarm below ${fmtBytes(n.disk_free_limit)}`, n.disk_free_alarm);
  fill(el, h('div', { class: 'grid3' },
    meter('Memory', n.mem_used, n.mem_limit, `${fmtBytes(n.mem_used)} used of ${fmtBytes(n.mem_limit)} high watermark`, n.mem_alarm),
    disk,
    h('div', { class: 'meter' }, h('strong', null, n.name),
      h('p', { class: 'muted small' }, `up ${fmtDuration(n.uptime / 1000)}, ${n.processors} processors`),
      h('p', { class: 'muted small' }, `file descriptors: ${fmtInt(n.fd_used)} of ${n.fd_total === null ? 'unlimited' : fmtInt(n.fd_total)}`))));
}
