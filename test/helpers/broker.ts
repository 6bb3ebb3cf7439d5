import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WarrenOptions } from '../../src/index.js';
import { setLogLevel, Warren } from '../../src/index.js';

// Tests provoke protocol errors on purpose; their warnings would drown the test output.
if (!process.env.WARREN_LOG_LEVEL) setLogLevel('error');

/** A broker started in-process for one test file: port 0, its own temporary data directory. */
export interface TestBroker {
  warren: Warren;
  port: number;
  url: string;
  dataDir: string;
  /** Stops the broker (clients get 320) and removes the data directory. */
  stop(): Promise<void>;
  /** Stops and starts again on the same data directory (and a new port). */
  restart(): Promise<TestBroker>;
}

export async function startTestBroker(options: WarrenOptions = {}, dataDir?: string): Promise<TestBroker> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'warren-test-'));
  // Ports 0 for amqps, management and metrics too: test files run in parallel, and a developer may run a broker on the defaults.
  const warren = await Warren.start({ amqpPort: 0, amqpsPort: 0, managementPort: 0, metricsPort: 0, host: '127.0.0.1', ...options, dataDir: dir });
  const port = warren.amqpPort;
  const broker: TestBroker = {
    warren,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    dataDir: dir,
    async stop() {
      await warren.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await warren.stop();
      return startTestBroker(options, dir);
    },
  };
  return broker;
}

/** Resolves when `predicate` is true, polling; rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
