#!/usr/bin/env node
import { ConfigError, loadConfig, USAGE } from '../config.js';
import { createLogger, setLogLevel } from '../log.js';
import { Warren } from '../warren.js';

const log = createLogger('cli');

async function start(argv: string[]): Promise<void> {
  const config = loadConfig(argv);
  if (config.logLevel) setLogLevel(config.logLevel);
  // Handlers first: a signal that arrives while the broker starts still shuts it down cleanly.
  let warren: Warren | undefined;
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    if (!warren) process.exit(0); // start() has not finished: nothing is serving yet
    warren.stop('shutdown').then(() => process.exit(0), (err: unknown) => {
      log.error('shutdown failed', { err });
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  warren = await Warren.start(config);
  const o = warren.options;
  // The one line that says the broker is ready.
  const host = o.host ?? '0.0.0.0';
  const amqps = warren.amqpsPort === undefined ? '' : `, AMQPS on ${host}:${warren.amqpsPort}`;
  const scheme = o.managementTls ? 'https' : 'http';
  process.stdout.write(`Warren ready: AMQP on ${host}:${warren.amqpPort}${amqps}, management API on ${scheme}://${host}:${warren.managementPort}/api/, Prometheus metrics on port ${warren.metricsPort}, data in ${o.dataDir}\n`);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'start') return start(rest);
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE + '\n');
    if (command === undefined) process.exitCode = 2;
    return;
  }
  throw new ConfigError(`unknown command '${command}' (try 'warren help')`);
}

main().catch((err: unknown) => {
  process.stderr.write(`warren: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
