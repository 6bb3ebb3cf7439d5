#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { ConfigError, loadConfig, USAGE as START_USAGE } from '../config.js';
import { createLogger, setLogLevel } from '../log.js';
import type { Warren } from '../warren.js';
import { ADMIN_USAGE, ADMIN_VERBS, helpFor, runAdmin } from './admin.js';
import { UsageError } from './args.js';

const log = createLogger('cli');

const USAGE = `${START_USAGE}\n\n${ADMIN_USAGE}`;

async function start(argv: string[]): Promise<void> {
  const config = loadConfig(argv);
  if (config.logLevel) setLogLevel(config.logLevel);
  // Before the broker is loaded: V8 then sizes the heap for memory, not speed, from the start.
  if (config.lowMemory) setFlagsFromString('--optimize-for-size');
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
  // Loaded here, not at the top: the admin commands never need the broker, and loading it costs
  // more than the rest of a `warren list queues` run.
  const { Warren } = await import('../warren.js');
  warren = await Warren.start(config);
  const o = warren.options;
  // The one line that says the broker is ready.
  const host = o.host ?? '0.0.0.0';
  const amqps = warren.amqpsPort === undefined ? '' : `, AMQPS on ${host}:${warren.amqpsPort}`;
  const scheme = o.managementTls ? 'https' : 'http';
  process.stdout.write(`Warren ready: AMQP on ${host}:${warren.amqpPort}${amqps}, management API on ${scheme}://${host}:${warren.managementPort}/api/, Prometheus metrics on port ${warren.metricsPort}, data in ${o.dataDir}\n`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const [command, ...rest] = argv;
  if (command === 'start') return start(rest);
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    // `warren help declare` narrows the text to one command group.
    const narrowed = command === 'help' && rest.length > 0 ? helpFor(rest) : undefined;
    if (command === 'help' && rest.length > 0 && narrowed === undefined) throw new UsageError(`no command '${rest.join(' ')}' (try 'warren help')`);
    process.stdout.write(`${narrowed ?? USAGE}\n`);
    if (command === undefined) process.exitCode = 2;
    return;
  }
  // Admin commands may start with options (`warren --url U list queues`): the dispatcher finds the words.
  if (ADMIN_VERBS.has(command) || command.startsWith('--')) {
    await runAdmin(argv, process.env, (text) => process.stdout.write(text));
    // fetch's idle keep-alive socket would hold the process open a while longer; exit once stdout
    // has taken everything written (the callback runs after the earlier writes are flushed).
    process.stdout.write('', () => process.exit(0));
    return;
  }
  throw new UsageError(`unknown command '${command}' (try 'warren help')`);
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  const usage = err instanceof UsageError && err.usage ? `\nUsage: ${err.usage.split('\n').join('\n       ')}` : '';
  process.stderr.write(`warren: ${message}${usage}\n`);
  process.exit(err instanceof ConfigError || err instanceof UsageError ? 2 : 1);
});
