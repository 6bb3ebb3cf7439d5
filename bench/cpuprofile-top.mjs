#!/usr/bin/env node
// Top self-time functions of a V8 .cpuprofile (from `node --cpu-prof dist/src/cli/main.js start ...`,
// written when the broker exits on SIGTERM/SIGINT).
//
//   node bench/cpuprofile-top.mjs CPU.20261121.123456.789.0.001.cpuprofile [--top 25] [--callers writeBuffer]
//
// --callers NAME also lists the call paths (up to 4 frames) that lead to functions named NAME, by
// their self time: e.g. which code does the synchronous writes behind `writeBuffer`.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { printTable } from './common.mjs';

const { values: o, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' }, callers: { type: 'string' } }, allowPositionals: true });
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = profile.endTime - profile.startTime;
const where = (cf) => {
  if (!cf.url) return '';
  let path = cf.url.startsWith('file://') ? fileURLToPath(cf.url) : cf.url;
  if (path.startsWith('/')) path = relative(process.cwd(), path);
  return `${path}:${cf.lineNumber + 1}`;
};
const byFunction = new Map();
for (const [id, us] of selfUs) {
  const cf = byId.get(id).callFrame;
  const key = `${cf.functionName || '(anonymous)'} ${where(cf)}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}
const sum = (re) => [...byFunction].filter(([k]) => re.test(k)).reduce((acc, [, v]) => acc + v, 0);
const idle = sum(/^\(idle\)/);
const busy = total - idle;
console.log(`${positionals[0]}: ${(total / 1e6).toFixed(1)} s profiled, main thread busy ${((busy / total) * 100).toFixed(0)}%` +
  ` (GC ${((sum(/^\(garbage collector\)/) / busy) * 100).toFixed(0)}% of busy)\n`);
const rows = [...byFunction].filter(([k]) => !/^\(idle\)/.test(k)).sort((a, b) => b[1] - a[1]).slice(0, Number(o.top))
  .map(([k, us]) => [k, `${((us / busy) * 100).toFixed(1)}%`, `${(us / 1000).toFixed(0)}`]);
printTable(['function (self time)', '% of busy', 'ms'], rows);

if (o.callers) {
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const paths = new Map();
  let sum = 0;
  for (const [id, us] of selfUs) {
    if (byId.get(id).callFrame.functionName !== o.callers) continue;
    sum += us;
    const frames = [];
    for (let p = parent.get(id); p !== undefined && frames.length < 4; p = parent.get(p)) {
      const cf = byId.get(p).callFrame;
      frames.push(`${cf.functionName || '(anonymous)'}${cf.url ? ` ${where(cf).split('/').pop()}` : ''}`);
    }
    const key = frames.join(' < ');
    paths.set(key, (paths.get(key) ?? 0) + us);
  }
  console.log(`\ncallers of ${o.callers} (${(sum / 1000).toFixed(0)} ms self time)\n`);
  printTable(['call path (innermost first)', '% of it', 'ms'], [...paths].sort((a, b) => b[1] - a[1]).slice(0, 10)
    .map(([k, us]) => [k, `${((us / sum) * 100).toFixed(1)}%`, `${(us / 1000).toFixed(0)}`]));
}
