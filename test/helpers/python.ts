import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Debian's python3 (where python3-pika lives); the `python3` on PATH may be a build without it. */
export const PYTHON = '/usr/bin/python3';

/** Why pika tests can't run here, or undefined when `import pika` works. */
export function pikaMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import pika'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status === 0) return undefined;
  return 'python3-pika not installed: apt-get install -y python3-pika';
}

export interface PythonResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A long-running python process: its output so far, line waiting, exit. */
export interface PythonProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout split into complete lines. */
  lines(): string[];
  /** Resolves with the first stdout line satisfying `match` (a string is an exact line). */
  waitForLine(match: string | RegExp | ((line: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Resolves when the process exits; kills it and rejects after `timeoutMs`. */
  done(timeoutMs?: number): Promise<PythonResult>;
  kill(): void;
}

const running = new Set<ChildProcess>();

/** Kills every python process started by this module that is still alive. */
export function killAllPython(): void {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  running.clear();
}

export function startPython(script: string, env: Record<string, string> = {}, args: string[] = []): PythonProcess {
  const child = spawn(PYTHON, ['-u', script, ...args], {
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  let result: PythonResult | undefined;
  const waiters = new Set<() => void>();
  const notify = () => { for (const w of [...waiters]) w(); };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; notify(); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  child.on('error', (e) => { stderr += `\nspawn error: ${e.message}`; });
  child.on('close', (code, signal) => {
    running.delete(child);
    result = { code, signal, stdout, stderr };
    notify();
  });
  const lines = () => stdout.split('\n').slice(0, -1);
  const describe = () => `${script}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;

  const proc: PythonProcess = {
    child,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    lines,
    waitForLine(match, timeoutMs = 10_000) {
      const pred = typeof match === 'string' ? (l: string) => l === match
        : match instanceof RegExp ? (l: string) => match.test(l) : match;
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines().find(pred);
          if (hit !== undefined) { cleanup(); resolve(hit); }
          else if (result) { cleanup(); reject(new Error(`process exited (code ${result.code}) before printing ${String(match)}: ${describe()}`)); }
        };
        const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(match)}: ${describe()}`)); }, timeoutMs);
        const cleanup = () => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
    done(timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => { if (result) { cleanup(); resolve(result); } };
        const timer = setTimeout(() => {
          cleanup();
          child.kill('SIGKILL');
          reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
        }, timeoutMs);
        const cleanup = () => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
    kill() { if (result === undefined) child.kill('SIGKILL'); },
  };
  return proc;
}

/** Runs a python script to completion (killed and rejected after `timeoutMs`). */
export function runPython(script: string, env: Record<string, string> = {}, timeoutMs = 20_000, args: string[] = []): Promise<PythonResult> {
  return startPython(script, env, args).done(timeoutMs);
}
