/**
 * Line charts as inline SVG, drawn from scratch at each poll: a y axis from 0 to a round maximum,
 * a time axis over the charted span, one path per series. Series are told apart by colour and by
 * dash pattern (for colour-blind readers and print); the legend shows each one's latest value, and
 * the chart's accessible name says the same in words.
 */
import type { Point } from './history.js';
import { h } from './dom.js';
import { fmtClock, fmtShort } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';

export interface Series {
  label: string;
  points: readonly Point[];
}

export interface ChartOptions {
  title: string;
  /** Unit after values in the legend and the accessible name: "msg/s", "msgs". */
  unit: string;
  height?: number;
  /** Shown when no series has two points yet. */
  emptyText?: string;
  /** Formats legend values; axis labels use the short form. */
  format?: (v: number) => string;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** The axis maximum: 1, 2, 4, 5, 6 or 8 times a power of ten, at or above `max` (its half is a round label too). */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 4, 5, 6, 8, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** A figure with a title, the SVG chart, and a legend; `width` is the space it has, in CSS pixels. */
export function lineChart(series: Series[], opts: ChartOptions, width: number): HTMLElement {
  const height = opts.height ?? 180;
  const format = opts.format ?? fmtShort;
  const W = Math.max(280, Math.round(width));
  const pad = { left: 48, right: 12, top: 10, bottom: 24 };
  const plotW = W - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;

  const all = series.flatMap((s) => s.points);
  const hasData = series.some((s) => s.points.length >= 2);
  const tMin = all.length ? Math.min(...all.map((p) => p.t)) : Date.now() - 60_000;
  const tMax = all.length ? Math.max(...all.map((p) => p.t)) : Date.now();
  const span = Math.max(1, tMax - tMin);
  const yMax = niceMax(all.length ? Math.max(...all.map((p) => p.v)) : 0);
  const x = (t: number): number => pad.left + ((t - tMin) / span) * plotW;
  const y = (v: number): number => pad.top + plotH - (v / yMax) * plotH;

  const latest = series.map((s) => (s.points.length ? s.points[s.points.length - 1]!.v : undefined));
  const summary = series.map((s, i) => `${s.label} ${latest[i] === undefined ? 'no data' : `${format(latest[i]!)} ${opts.unit}`}`).join(', ');
  const root = svg('svg', { viewBox: `0 0 ${W} ${height}`, width: '100%', height, class: 'chart', role: 'img', 'aria-label': `${opts.title}: ${summary}` });
  root.style.height = `${height}px`;

  // Grid and y labels: 0, half, max.
  for (const frac of [0, 0.5, 1]) {
    const v = yMax * frac;
    root.appendChild(svg('line', { x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v), class: 'grid' }));
    const label = svg('text', { x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' });
    label.textContent = fmtShort(v);
    root.appendChild(label);
  }
  if (hasData) {
    for (const [t, anchor] of [[tMin, 'start'], [tMax, 'end']] as const) {
      const label = svg('text', { x: x(t), y: height - 6, 'text-anchor': anchor, class: 'axis' });
      label.textContent = fmtClock(t);
      root.appendChild(label);
    }
    series.forEach((s, i) => {
      if (s.points.length === 0) return;
      const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
      root.appendChild(svg('path', { d, class: `line s${i}`, fill: 'none', 'data-series': s.label }));
    });
  } else {
    const msg = svg('text', { x: pad.left + plotW / 2, y: pad.top + plotH / 2, 'text-anchor': 'middle', class: 'axis empty-chart' });
    msg.textContent = opts.emptyText ?? 'Collecting samples…';
    root.appendChild(msg);
  }

  const legend = h('ul', { class: 'legend' }, series.map((s, i) =>
    h('li', null, h('span', { class: `swatch s${i}`, 'aria-hidden': 'true' }), `${s.label}: `,
      h('strong', null, latest[i] === undefined ? '—' : `${format(latest[i]!)} ${opts.unit}`))));
  return h('figure', { class: 'chart-box' }, h('figcaption', null, opts.title), root, legend);
}

/** Redraws a chart into `slot` at the slot's current width (charts follow the layout at each poll). */
export function drawChart(slot: HTMLElement, series: Series[], opts: ChartOptions): void {
  const width = slot.clientWidth || slot.parentElement?.clientWidth || 600;
  slot.replaceChildren(lineChart(series, opts, width - 2));
}
