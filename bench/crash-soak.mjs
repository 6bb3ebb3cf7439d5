#!/usr/bin/env node
// Crash soak for the durable message store: test/store-crash.test.ts for hundreds of cycles.
// Each cycle starts `warren start` as a child process on one data directory, runs a confirm-mode
// publisher and a manual-ack consumer on a durable queue, and SIGKILLs the broker after a random
// delay; after the last cycle the queue is drained, the broker stopped cleanly and started once
// more. Exits 1 when an invariant breaks (a confirmed message lost, a redelivery without the
// redelivered flag, a message never published), and keeps the data directory for inspection.
//
//   node bench/crash-soak.mjs [--cycles 300] [--seed N] [--min-kill-ms 100] [--max-kill-ms 600]
//        [--data-dir DIR] [--keep]
// Build first: npx tsc -p tsconfig.json (the harness is dist/test/helpers/crash-harness.js).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatSummary, killAllBrokers, runSoak } from '../dist/test/helpers/crash-harness.js';

const { values: o } = parseArgs({ options: {
  cycles: { type: 'string', default: '300' },
  seed: { type: 'string' },
  'min-kill-ms': { type: 'string', default: '100' },
  'max-kill-ms': { type: 'string', default: '600' },
  'data-dir': { type: 'string' },
  keep: { type: 'boolean', default: false },
} });
const cycles = Number(o.cycles);
const seed = o.seed !== undefined ? Number(o.seed) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isInteger(cycles) || cycles < 1 || !Number.isInteger(seed)) {
  console.error('usage: node bench/crash-soak.mjs [--cycles N] [--seed N] [--min-kill-ms MS] [--max-kill-ms MS] [--data-dir DIR] [--keep]');
  process.exit(2);
}
const dataDir = o['data-dir'] ?? mkdtempSync(join(tmpdir(), 'warren-crash-soak-'));
const stamp = () => new Date().toISOString().slice(11, 19);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAllBrokers();
    console.error(`\n${sig}: stopped; data dir kept: ${dataDir}`);
    process.exit(130);
  });
}

console.log(`crash soak: ${cycles} cycles, seed ${seed} (repeat with --seed ${seed}), data dir ${dataDir}`);
let result;
try {
  result = await runSoak({
    dataDir, cycles, seed,
    minKillMs: Number(o['min-kill-ms']), maxKillMs: Number(o['max-kill-ms']),
    log: (line) => console.log(`${stamp()} ${line}`),
  });
} catch (err) {
  killAllBrokers();
  console.error(`soak aborted: ${err instanceof Error ? err.stack : err}`);
  console.error(`data dir kept: ${dataDir}`);
  process.exit(1);
}
console.log('');
for (const line of formatSummary(result, seed)) console.log(line);
const failed = result.ledger.violationTotal > 0;
if (failed || o.keep) console.log(`data dir kept: ${dataDir}`);
else rmSync(dataDir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
