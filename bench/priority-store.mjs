#!/usr/bin/env node
// Store-level cost of a priority queue (x-max-priority) against a plain queue: the same messages
// through MessageStore.open and MessageStore.openPriority, no network and no client, so the
// difference is the priority store's own (level lookup, per-level logs). Not a timed test.
//
//   node bench/priority-store.mjs [--count 200000] [--size 16] [--max-priority 10] [--runs 5]
//
// Two patterns: "steady" (push one, shift it, ack it: a consumer keeping up) and "backlog" (push
// all, then shift and ack all). Messages are transient in a non-durable queue, persistent in a
// durable one (fsync off: this measures CPU, not the disk). Priorities: all absent ("p=-") or
// cycling 0..max-1 ("p=0..n"; a plain queue just ignores them). Prints the median ns per message of --runs runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setLogLevel } from '../dist/src/index.js';
import { Message } from '../dist/src/core/message.js';
import { MessageStore } from '../dist/src/store/message-store.js';
import { encodeProperties } from '../dist/src/protocol/amqp/codec/properties.js';

setLogLevel('warn');
const { values: o } = parseArgs({ options: {
  count: { type: 'string', default: '200000' }, size: { type: 'string', default: '16' },
  'max-priority': { type: 'string', default: '10' }, runs: { type: 'string', default: '5' },
} });
const count = Number(o.count);
const max = Number(o['max-priority']);
const body = Buffer.alloc(Number(o.size), 0x61);

/** Messages made before timing: `levels` 0 = no priority property, else priorities 0..levels-1 in turn. */
function messages(persistent, levels) {
  const props = Array.from({ length: Math.max(levels, 1) }, (_, p) =>
    encodeProperties({ deliveryMode: persistent ? 2 : 1, ...(levels > 0 ? { priority: p } : {}) }));
  return Array.from({ length: count }, (_, i) => new Message('', 'q', props[i % props.length], body));
}

function runOnce(durable, priority, levels, pattern) {
  const dir = mkdtempSync(join(tmpdir(), 'warren-prio-bench-'));
  const ms = new MessageStore({ dataDir: dir, fsync: false });
  const store = priority ? ms.openPriority('/', 'q', durable, max) : ms.open('/', 'q', durable);
  const msgs = messages(durable, levels);
  const t0 = process.hrtime.bigint();
  if (pattern === 'steady') {
    for (const m of msgs) {
      store.push(m);
      store.ack(store.shift());
    }
  } else {
    for (const m of msgs) store.push(m);
    for (let e = store.shift(); e; e = store.shift()) store.ack(e);
  }
  const ns = Number(process.hrtime.bigint() - t0) / count;
  store.destroy();
  return ms.close().then(() => {
    rmSync(dir, { recursive: true, force: true });
    return ns;
  });
}

const cases = [['plain, p=-', false, 0], [`plain, p=0..${max - 1}`, false, max], ['prio, p=-', true, 0], [`prio, p=0..${max - 1}`, true, max]];
console.log(`${count} messages of ${body.length} B, x-max-priority ${max}, median of ${o.runs} interleaved runs (ns/message)`);
console.log('queue                  pattern  ' + cases.map(([n]) => n.padStart(15)).join(''));
for (const durable of [false, true]) {
  for (const pattern of ['steady', 'backlog']) {
    // Cases interleaved run by run (after one discarded warm-up round), so drift in machine load
    // and JIT state spreads over all of them alike.
    const runs = cases.map(() => []);
    for (let r = -1; r < Number(o.runs); r++) {
      for (let c = 0; c < cases.length; c++) {
        const ns = await runOnce(durable, cases[c][1], cases[c][2], pattern);
        if (r >= 0) runs[c].push(ns);
      }
    }
    const cells = runs.map((rs) => rs.sort((a, b) => a - b)[rs.length >> 1]);
    const name = durable ? 'durable, persistent' : 'non-durable, transient';
    console.log(`${name.padEnd(23)}${pattern.padEnd(9)}` + cells.map((c) => c.toFixed(0).padStart(15)).join(''));
  }
}
