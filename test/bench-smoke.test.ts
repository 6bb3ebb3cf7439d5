// Smoke test of the side-by-side benchmark (issue "Performance"): the scenarios S1–S4 with the raw
// load generator against Warren alone, one short run each, so the bench code keeps working. It
// checks that messages flowed and latencies were measured; it does not judge any rate (benchmarks
// print numbers, they do not pass or fail).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

const SIDE_BY_SIDE = fileURLToPath(new URL('../../bench/side-by-side.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'warren-bench-smoke-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

interface BrokerSummary { delivered: number; published: number; p50?: number; p99?: number }
interface Row { scenario: string; variant: number; warren: BrokerSummary }

describe('bench/side-by-side.mjs (smoke)', () => {
  test('S1, S2, S3 and S4 run against Warren with the raw generator and report rates and latencies', { timeout: 120_000 }, async () => {
    const out = join(dir, 'result.json');
    const args = [SIDE_BY_SIDE, '--brokers', 'warren', '--scenarios', 'S1,S2,S3,S4', '--sizes', '16', '--rates', '500',
      '--runs', '1', '--seconds', '1', '--warmup', '0.3', '--quiet', '0', '--max-other', '100000',
      '--warren-port', String(await freePort()), '--out', out];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d) => (output += d));
    proc.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((res) => proc.once('exit', res));
    assert.equal(code, 0, output);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { summary: Row[] };
    const byId = new Map(result.summary.map((r) => [r.scenario, r]));
    assert.deepEqual([...byId.keys()].sort(), ['S1', 'S2', 'S3', 'S4']);
    for (const id of ['S1', 'S2', 'S4']) {
      const w = byId.get(id)!.warren;
      assert.ok(w.delivered > 0 && w.published > 0, `${id} moved messages: ${JSON.stringify(w)}`);
    }
    // S4 fans each message out to 10 queues: deliveries are about 10 x publishes.
    const s4 = byId.get('S4')!.warren;
    assert.ok(s4.delivered > 5 * s4.published, `S4 fans out: ${JSON.stringify(s4)}`);
    const s3 = byId.get('S3')!.warren;
    // Loose: a busy CI machine may starve the producer for a while (it catches up, the window may not).
    assert.ok(s3.published > 100 && s3.published < 1000, `S3 publishes at about the fixed rate: ${s3.published}`);
    assert.ok(Number.isFinite(s3.p50) && Number.isFinite(s3.p99) && s3.p50! > 0 && s3.p99! >= s3.p50!, `S3 latencies: ${JSON.stringify(s3)}`);
    assert.match(output, /S1 16 B warren run 1: delivered/);
  });
});
