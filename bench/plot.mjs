#!/usr/bin/env node
// Hand-made SVG charts (no dependencies) from a results JSON written by bench/side-by-side.mjs, for
// docs/PERFORMANCE.md:
//
//   node bench/plot.mjs bench/results/side-by-side-XXXX.json [--out-dir docs/plots] [--prefix side-by-side]
//
// Writes <prefix>-throughput.svg (delivered msg/s, median bar + one dot per run, one panel per
// scenario with its own linear scale, Warren/RabbitMQ ratio per row), <prefix>-latency.svg (S3:
// p50/p99/p99.9 against the target rate, log/log; skipped without S3 rows) and <prefix>-cpu.svg
// (broker CPU µs per delivered message = CPU % × 1e4 / msg/s). Missing values (a broker not run)
// are left out; scenarios of another shape (no numeric `delivered`) are skipped with a note.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: o, positionals } = parseArgs({ allowPositionals: true, options: {
  'out-dir': { type: 'string', default: 'docs/plots' }, prefix: { type: 'string', default: 'side-by-side' },
} });
if (positionals.length !== 1) {
  console.error('usage: node bench/plot.mjs RESULTS.json [--out-dir docs/plots] [--prefix side-by-side]');
  process.exit(2);
}
const data = JSON.parse(readFileSync(positionals[0], 'utf8'));
const summary = Array.isArray(data.summary) ? data.summary : [];
const BROKERS = [{ key: 'warren', name: 'Warren', color: '#2a7ab0' }, { key: 'rabbitmq', name: 'RabbitMQ', color: '#f28c28' }];
const FONT = 'font-family="sans-serif"';
const W = 900;

// ---------------------------------------------------------------- helpers

const ok = (x) => typeof x === 'number' && Number.isFinite(x);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
const r1 = (x) => Math.round(x * 10) / 10;
const median = (xs) => { const s = xs.filter(ok).sort((a, b) => a - b); if (!s.length) return NaN; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const trim = (x) => String(Number(x.toPrecision(3)));
/** 1234567 → "1.23M", 199785 → "200k", 0.5 → "0.5". */
const human = (n) => (Math.abs(n) >= 1e6 ? `${trim(n / 1e6)}M` : Math.abs(n) >= 1e3 ? `${trim(n / 1e3)}k` : trim(n));
const micros = (us) => (us >= 1e6 ? `${trim(us / 1e6)} s` : us >= 1e3 ? `${trim(us / 1e3)} ms` : `${trim(us)} µs`);
const text = (x, y, s, attrs = '') => `<text x="${r1(x)}" y="${r1(y)}" ${attrs}>${esc(s)}</text>`;
const line = (x1, y1, x2, y2, attrs) => `<line x1="${r1(x1)}" y1="${r1(y1)}" x2="${r1(x2)}" y2="${r1(y2)}" ${attrs}/>`;
/** About five round linear ticks from 0 to at least max. */
function niceTicks(max) {
  if (!(max > 0)) max = 1;
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw);
  const ticks = [];
  for (let t = 0; t < max + step * 0.999; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}
function svg(h, title, subtitle, body) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" ${FONT} font-size="12" fill="#222">
<rect width="${W}" height="${h}" fill="#fff"/>
${text(16, 24, title, 'font-size="16" font-weight="bold"')}
${text(16, 42, subtitle, 'fill="#555"')}
${body.join('\n')}
</svg>
`;
}
const date = typeof data.startedAt === 'string' ? data.startedAt.slice(0, 10) : '?';
const m = data.machine ?? {};
const machineText = `${m.cpus ?? '?'} CPU${m.cpuModel ? ` (${m.cpuModel})` : ''}${m.node ? `, Node ${m.node}` : ''}`;
const nRuns = data.options?.runs ?? '?';
const heading = (what) => `Warren ${data.warrenCommit ?? '?'} vs RabbitMQ ${data.rabbitVersion ?? '?'}: ${what}`;
const footer = `${machineText}; ${date}; median of ${nRuns} run(s), brokers alternating`;
const hasData = (rows, f) => Object.fromEntries(BROKERS.map((b) => [b.key, rows.some((r) => ok(f(r, b.key)))]));
function legend(x, y, present, extra = []) {
  const out = [];
  for (const b of BROKERS) {
    out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${b.color}"/>`, text(x + 17, y, `${b.name}${present[b.key] ? '' : ' (not run)'}`));
    x += 135;
  }
  for (const [draw, label] of extra) { out.push(draw(x, y), text(x + 17, y, label)); x += 12 + label.length * 7; }
  return out;
}

// ---------------------------------------------------------------- bar panels (throughput, CPU)

const KNOWN = { S1: '1 producer → 1 queue → 1 consumer, transient, no-ack', S2: 'durable queue, persistent, confirms, manual ack',
  S4: 'fanout → 10 queues, deliveries/s summed over 10 consumers' };
const titleOf = (sc) => KNOWN[sc] ?? data.results?.find((e) => e.scenario === sc)?.title ?? '';
const rowLabel = (r) => { const s = `${r.scenario} ${r.label ?? (r.variant >= 1024 ? `${r.variant / 1024} KB` : `${r.variant} B`)}`; return s.length > 15 ? `${s.slice(0, 14)}…` : s; };
const runsOf = (r, b) => data.results?.find((e) => e.scenario === r.scenario && e.variant === r.variant)?.runs?.[b] ?? [];

/** rows: summary entries; value(r, broker) → number; dots(r, broker) → numbers. One panel per scenario. */
function barChart({ rows, value, dots, fmtValue, ratioLabel, title, subtitle }) {
  const L = 110, R = W - 100, BAR = 14, GAP = 3, PAD = 12;
  const present = hasData(rows, value);
  const body = legend(16, 66, present, [[(x, y) => `<circle cx="${x + 6}" cy="${y - 4}" r="3" fill="#fff" stroke="#222"/>`, 'one run; bar = median']]);
  body.push(text(W - 16, 66, ratioLabel, 'text-anchor="end" fill="#555"'));
  let y = 84;
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  for (const sc of scenarios) {
    const group = rows.filter((r) => r.scenario === sc);
    const all = group.flatMap((r) => BROKERS.flatMap((b) => [value(r, b.key), ...dots(r, b.key)])).filter(ok);
    const ticks = niceTicks(Math.max(...all, 0));
    const max = ticks[ticks.length - 1];
    const X = (v) => L + ((R - L) * v) / max;
    body.push(text(16, y + 14, titleOf(sc) ? `${sc}: ${titleOf(sc)}` : sc, 'font-weight="bold"'));
    const top = y + 24;
    const h = group.length * (2 * BAR + GAP + PAD) + PAD;
    for (const t of ticks) {
      body.push(line(X(t), top, X(t), top + h, 'stroke="#ddd"'), text(X(t), top + h + 14, fmtValue(t, true), 'text-anchor="middle" fill="#555"'));
    }
    body.push(line(L, top, L, top + h, 'stroke="#888"'));
    let gy = top + PAD;
    for (const r of group) {
      body.push(text(L - 8, gy + BAR + 5, rowLabel(r), 'text-anchor="end"'));
      BROKERS.forEach((b, i) => {
        const by = gy + i * (BAR + GAP);
        const v = value(r, b.key);
        const ds = dots(r, b.key).filter(ok);
        if (ok(v)) body.push(`<rect x="${L}" y="${by}" width="${r1(Math.max(X(v) - L, 1))}" height="${BAR}" fill="${b.color}"><title>${esc(`${b.name} ${rowLabel(r)}: ${fmtValue(v)}`)}</title></rect>`);
        for (const d of ds) body.push(`<circle cx="${r1(X(d))}" cy="${by + BAR / 2}" r="3" fill="#fff" fill-opacity="0.85" stroke="#222"/>`);
        const label = ok(v) ? fmtValue(v) : 'not run';
        if (ok(v) && X(v) - L > label.length * 7 + 12) body.push(text(L + 5, by + BAR - 3, label, 'fill="#fff" font-weight="bold"'));
        else body.push(text(Math.max(ok(v) ? X(v) : L, ...ds.map(X)) + 6, by + BAR - 3, label, `fill="${ok(v) ? '#222' : '#999'}"`));
      });
      const a = value(r, 'warren'), c = value(r, 'rabbitmq');
      if (ok(a) && ok(c) && c > 0) body.push(text(W - 16, gy + BAR + 5, `${(a / c).toFixed(a / c >= 10 ? 0 : a / c >= 1 ? 1 : 2)}×`, 'text-anchor="end" font-weight="bold" font-size="14"'));
      gy += 2 * BAR + GAP + PAD;
    }
    y = top + h + 28;
  }
  return svg(y + 10, title, subtitle, [...body, text(16, y + 2, footer, 'fill="#555" font-size="11"')]);
}

// ---------------------------------------------------------------- latency (S3)

/** p50 circle, p99 square, p99.9 triangle, so that a lone point still says which percentile it is. */
function marker(k, x, y, color, tip) {
  const t = `<title>${esc(tip)}</title>`;
  if (k === 'p50') return `<circle cx="${r1(x)}" cy="${r1(y)}" r="3.5" fill="${color}">${t}</circle>`;
  if (k === 'p99') return `<rect x="${r1(x - 3.5)}" y="${r1(y - 3.5)}" width="7" height="7" fill="${color}">${t}</rect>`;
  return `<path d="M${r1(x)},${r1(y - 4.5)} L${r1(x + 4.5)},${r1(y + 3.5)} L${r1(x - 4.5)},${r1(y + 3.5)} Z" fill="${color}">${t}</path>`;
}
function latencyChart(rows) {
  const L = 80, R = W - 220, T = 70, H = 460, B = H - 60;
  const P = [['p50', 'p50', ''], ['p99', 'p99', '7 4'], ['p999', 'p99.9', '2 3']];
  rows = [...rows].sort((a, b) => a.variant - b.variant);
  const rates = rows.map((r) => r.variant);
  const vals = rows.flatMap((r) => BROKERS.flatMap((b) => P.map(([k]) => r[b.key]?.[k]))).filter((v) => ok(v) && v > 0);
  const [lo, hi] = rates.length > 1 ? [Math.min(...rates) / 1.6, Math.max(...rates) * 1.6] : [rates[0] / 10, rates[0] * 10];
  const X = (v) => L + ((R - L) * Math.log10(v / lo)) / Math.log10(hi / lo);
  const d0 = Math.floor(Math.log10(Math.min(...vals, 100))), d1 = Math.ceil(Math.log10(Math.max(...vals, 1000)));
  const Y = (v) => B - ((B - T) * (Math.log10(v) - d0)) / (d1 - d0);
  const body = [];
  for (let d = d0; d <= d1; d++) {
    for (const k of d < d1 ? [1, 2, 5] : [1]) {
      const v = k * 10 ** d;
      body.push(line(L, Y(v), R, Y(v), `stroke="${k === 1 ? '#ccc' : '#eee'}"`));
      if (k === 1 || d1 - d0 <= 3) body.push(text(L - 6, Y(v) + 4, micros(v), `text-anchor="end" fill="${k === 1 ? '#222' : '#777'}"`));
    }
  }
  for (const rate of rates) body.push(line(X(rate), T, X(rate), B, 'stroke="#eee"'), text(X(rate), B + 16, human(rate), 'text-anchor="middle"'));
  body.push(`<rect x="${L}" y="${T}" width="${R - L}" height="${B - T}" fill="none" stroke="#888"/>`);
  body.push(text((L + R) / 2, B + 36, 'target rate, msg/s (log scale)', 'text-anchor="middle" fill="#555"'));
  body.push(text(18, (T + B) / 2, 'one-way latency (log scale)', `text-anchor="middle" fill="#555" transform="rotate(-90 18 ${(T + B) / 2})"`));
  let ly = T + 8;
  for (const b of BROKERS) {
    const any = rows.some((r) => P.some(([k]) => ok(r[b.key]?.[k])));
    body.push(text(R + 20, ly + 4, `${b.name}${any ? '' : ' (not run)'}`, 'font-weight="bold"'));
    ly += 20;
    for (const [k, name, dash] of P) {
      const pts = rows.filter((r) => ok(r[b.key]?.[k]) && r[b.key][k] > 0).map((r) => [X(r.variant), Y(r[b.key][k]), r]);
      const stroke = `stroke="${b.color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}`;
      if (pts.length > 1) body.push(`<polyline points="${pts.map(([x, y]) => `${r1(x)},${r1(y)}`).join(' ')}" fill="none" ${stroke}/>`);
      for (const [x, y, r] of pts) body.push(marker(k, x, y, b.color, `${b.name} ${name} at ${human(r.variant)} msg/s: ${micros(r[b.key][k])}`));
      body.push(line(R + 24, ly, R + 60, ly, stroke), marker(k, R + 42, ly, b.color, name), text(R + 68, ly + 4, name));
      ly += 18;
    }
    ly += 12;
  }
  body.push(text(16, H - 8, footer, 'fill="#555" font-size="11"'));
  return svg(H, heading('latency against rate (S3)'), 'one producer at a fixed rate, 16 B transient, no-ack; one-way µs; lower is better', body);
}

// ---------------------------------------------------------------- main

const thr = [];
for (const r of summary) {
  if (r?.scenario === 'S3') continue;
  if (BROKERS.some((b) => ok(r?.[b.key]?.delivered))) thr.push(r);
  else console.log(`note: skipped ${r?.scenario ?? '?'} ${r?.label ?? ''}: no numeric 'delivered'`);
}
const lat = summary.filter((r) => r?.scenario === 'S3' && ok(r.variant) && r.variant > 0);
const outDir = o['out-dir'];
mkdirSync(outDir, { recursive: true });
const write = (name, content) => { const p = join(outDir, `${o.prefix}-${name}.svg`); writeFileSync(p, content); console.log(p); };

if (thr.length) {
  write('throughput', barChart({
    rows: thr, value: (r, b) => r[b]?.delivered, dots: (r, b) => (Array.isArray(r[b]?.runs) ? r[b].runs : []),
    fmtValue: (v) => human(v), ratioLabel: 'Warren ÷ RabbitMQ', title: heading('throughput'),
    subtitle: 'messages delivered to consumers per second (S4: deliveries/s summed over 10 consumers); higher is better; each panel has its own scale',
  }));
  const cpu = (x) => (ok(x?.brokerCpu) && ok(x?.delivered) && x.delivered > 0 ? (x.brokerCpu * 1e4) / x.delivered : NaN);
  const cpuRuns = (r, b) => runsOf(r, b).map(cpu);
  write('cpu', barChart({
    rows: thr, value: (r, b) => { const m = median(cpuRuns(r, b)); return ok(m) ? m : cpu(r[b]); }, dots: cpuRuns,
    fmtValue: (v, tick) => (tick ? trim(v) : `${v.toFixed(v >= 10 ? 1 : 2)} µs`), ratioLabel: 'Warren ÷ RabbitMQ',
    title: heading('broker CPU per message'),
    subtitle: 'broker process CPU time per delivered message, µs (CPU % × 1e4 ÷ msg/s; S4: per delivery); lower is better',
  }));
} else console.log('note: no throughput rows; throughput and CPU charts not written');
if (lat.length) write('latency', latencyChart(lat));
else console.log('note: no S3 rows; latency chart not written');
