import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import amqp from 'amqplib';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dirs: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-cli-'));
  dirs.push(d);
  return d;
}

interface Run { child: ChildProcess; stdout: string; stderr: string; exited: Promise<number | null> }

function run(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  // WARREN_METRICS_PORT=0: the default Prometheus port may be taken (tests run in parallel).
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, WARREN_LOG_LEVEL: 'warn', WARREN_METRICS_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Run = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stdout!.on('data', (d) => (r.stdout += d));
  child.stderr!.on('data', (d) => (r.stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  void r.exited.then(() => clearTimeout(timer));
  return r;
}

async function readyPort(r: Run): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = /AMQP on [^:\s]+:(\d+)/.exec(r.stdout);
    if (m) return Number(m[1]);
    if (r.child.exitCode !== null) throw new Error(`broker exited: ${r.stderr}`);
    if (Date.now() > deadline) throw new Error(`no ready line; stdout=${r.stdout} stderr=${r.stderr}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('warren command', () => {
  test('start prints one ready line; SIGTERM closes clients with 320 and exits 0', async () => {
    const r = run(['start', '--amqp-port', '0', '--management-port', '0', '--host', '127.0.0.1', '--data-dir', tempDir()]);
    const port = await readyPort(r);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.match(r.stdout, /Warren ready: AMQP on 127\.0\.0\.1:\d+/);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
    r.child.kill('SIGTERM');
    const err = await closed;
    assert.equal((err as Error & { code?: number }).code, 320);
    assert.equal(await r.exited, 0);
  });

  test('SIGINT also shuts down cleanly', async () => {
    const r = run(['start', '--amqp-port=0', '--management-port=0', '--host=127.0.0.1', `--data-dir=${tempDir()}`]);
    await readyPort(r);
    r.child.kill('SIGINT');
    assert.equal(await r.exited, 0);
  });

  test('settings come from the environment and from a --config file; flags win', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'warren.json');
    writeFileSync(cfg, JSON.stringify({ 'amqp-port': 1, 'management-port': 0, host: '127.0.0.1', 'data-dir': dir }));
    const r = run(['start', '--config', cfg], { WARREN_AMQP_PORT: '0' });
    const port = await readyPort(r);
    assert.ok(port > 1, 'the environment overrides the config file');
    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0);
  });

  test('a port already in use stops start-up with a one-line error', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = run(['start', '--amqp-port', String(port), '--management-port', '0', '--host', '127.0.0.1', '--data-dir', tempDir()]);
      const code = await r.exited;
      assert.notEqual(code, 0);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`AMQP port 127\\.0\\.0\\.1:${port} is already in use`));
    } finally {
      blocker.close();
    }
  });

  test('a metrics port already in use stops start-up with a one-line error naming it', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = run(['start', '--amqp-port', '0', '--metrics-port', String(port), '--host', '127.0.0.1', '--data-dir', tempDir()]);
      const code = await r.exited;
      assert.notEqual(code, 0);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`metrics port 127\\.0\\.0\\.1:${port} is already in use`));
    } finally {
      blocker.close();
    }
  });

  test('a bad flag value names the flag and the value', async () => {
    const r = run(['start', '--amqp-port', 'seventy']);
    assert.equal(await r.exited, 2);
    assert.match(r.stderr, /--amqp-port: 'seventy' is not a valid port/);
  });

  test('a bad environment value names the variable', async () => {
    const r = run(['start'], { WARREN_HEARTBEAT: '-5' });
    assert.equal(await r.exited, 2);
    assert.match(r.stderr, /WARREN_HEARTBEAT: '-5'/);
  });

  test('an unreadable TLS file stops start-up with exit 2, naming the flag and the file', async () => {
    const r = run(['start', '--amqp-port', '0', '--tls-cert', '/nonexistent/server.pem', '--tls-key', '/nonexistent/server.key', '--data-dir', tempDir()]);
    assert.equal(await r.exited, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--tls-cert '\/nonexistent\/server.pem': cannot read the file \(ENOENT\)/);
  });

  test('an unknown flag is refused', async () => {
    const r = run(['start', '--amqp-prot', '5672']);
    assert.equal(await r.exited, 2);
    assert.match(r.stderr, /unknown option --amqp-prot/);
  });

  test('an unknown command is refused; help prints usage', async () => {
    const bad = run(['strat']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.stderr, /unknown command 'strat'/);
    const help = run(['help']);
    assert.equal(await help.exited, 0);
    assert.match(help.stdout, /Usage: warren start/);
  });
});
