import { readFileSync } from 'node:fs';
import { parseByteSize } from './core/resource-alarms.js';
import type { LogLevel } from './log.js';
import { isLogLevelName } from './log.js';
import type { WarrenOptions } from './warren.js';

/** A bad configuration value: start-up stops with this one-line message. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface Config extends WarrenOptions {
  logLevel?: LogLevel;
  /**
   * `warren start` only: V8's --optimize-for-size (set before the broker loads). The heap grows
   * less between full collections, so garbage (dead message buffers above all) is freed sooner and
   * the process's RSS stays lower, at the cost of more CPU per message (docs/PERFORMANCE.md, "Backlog").
   */
  lowMemory?: boolean;
}

type Kind = 'port' | 'string' | 'seconds' | 'milliseconds' | 'frameMax' | 'channelMax' | 'logLevel' | 'boolean' | 'watermark' | 'bytes' | 'choice';

/** Every setting: its flag (--amqp-port), environment variable (WARREN_AMQP_PORT) and config-file key (amqp-port). */
const SETTINGS: { name: string; key: keyof Config; kind: Kind; choices?: Readonly<Record<string, string>> }[] = [
  { name: 'amqp-port', key: 'amqpPort', kind: 'port' },
  { name: 'management-port', key: 'managementPort', kind: 'port' },
  { name: 'metrics-port', key: 'metricsPort', kind: 'port' },
  { name: 'data-dir', key: 'dataDir', kind: 'string' },
  { name: 'host', key: 'host', kind: 'string' },
  { name: 'heartbeat', key: 'heartbeat', kind: 'seconds' },
  { name: 'frame-max', key: 'frameMax', kind: 'frameMax' },
  { name: 'channel-max', key: 'channelMax', kind: 'channelMax' },
  { name: 'log-level', key: 'logLevel', kind: 'logLevel' },
  { name: 'fsync', key: 'fsync', kind: 'boolean' },
  { name: 'memory-high-watermark', key: 'memoryHighWatermark', kind: 'watermark' },
  { name: 'disk-free-limit', key: 'diskFreeLimit', kind: 'bytes' },
  { name: 'consumer-timeout', key: 'consumerTimeout', kind: 'milliseconds' },
  { name: 'low-memory', key: 'lowMemory', kind: 'boolean' },
  // TLS: the files are read and checked when the broker starts (Warren.start), for embedders too.
  { name: 'tls-cert', key: 'tlsCert', kind: 'string' },
  { name: 'tls-key', key: 'tlsKey', kind: 'string' },
  { name: 'tls-ca', key: 'tlsCa', kind: 'string' },
  { name: 'amqps-port', key: 'amqpsPort', kind: 'port' },
  // RabbitMQ's spellings are accepted too, so its configuration translates word for word.
  { name: 'tls-verify', key: 'tlsVerify', kind: 'choice',
    choices: { none: 'none', peer: 'peer', require: 'require', verify_none: 'none', verify_peer: 'peer', fail_if_no_peer_cert: 'require' } },
  { name: 'tls-min-version', key: 'tlsMinVersion', kind: 'choice', choices: { 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3', '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' } },
  { name: 'tls-cert-login-from', key: 'tlsCertLoginFrom', kind: 'choice',
    choices: { common_name: 'common_name', distinguished_name: 'distinguished_name', cn: 'common_name', dn: 'distinguished_name' } },
  { name: 'management-tls', key: 'managementTls', kind: 'boolean' },
];

function envName(name: string): string {
  return `WARREN_${name.toUpperCase().replace(/-/g, '_')}`;
}

function parseValue(kind: Kind, raw: unknown, where: string, choices?: Readonly<Record<string, string>>): unknown {
  const text = String(raw);
  const integer = (min: number, max: number, what: string): number => {
    const n = typeof raw === 'number' ? raw : /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${where}: '${text}' is not ${what} (${min}..${max})`);
    return n;
  };
  switch (kind) {
    case 'port': return integer(0, 65535, 'a valid port');
    case 'seconds': return integer(0, 65535, 'a number of seconds');
    case 'milliseconds': return integer(0, 0xffffffff, 'a number of milliseconds');
    case 'frameMax': return integer(4096, 1 << 30, 'a valid frame size');
    case 'channelMax': return integer(1, 65535, 'a valid channel count');
    case 'logLevel':
      if (!isLogLevelName(text)) throw new ConfigError(`${where}: '${text}' is not a log level (debug, info, warn, error, silent)`);
      return text;
    case 'string':
      if (typeof raw !== 'string' || raw === '') throw new ConfigError(`${where}: expected a non-empty string`);
      return raw;
    case 'boolean':
      if (raw === true || /^(true|on|yes|1)$/i.test(text)) return true;
      if (raw === false || /^(false|off|no|0)$/i.test(text)) return false;
      throw new ConfigError(`${where}: '${text}' is not a boolean (true or false)`);
    case 'watermark': {
      // A fraction of the machine's memory (0.4, as RabbitMQ's default), or an absolute size ("512MB").
      const n = typeof raw === 'number' ? raw : /^\s*(0|1|0?\.\d+)\s*$/.test(text) ? Number(text) : parseByteSize(text);
      // 2 or 1.5 would mean "2 bytes" or "1 byte": surely a mistake, so sizes start at 1 MiB.
      if (!(n > 0) || (n > 1 && n < 1024 * 1024)) {
        throw new ConfigError(`${where}: '${text}' is neither a fraction of memory (0 < x <= 1) nor a size of at least 1MiB like 512MB`);
      }
      return n;
    }
    case 'choice': {
      const value = choices && Object.hasOwn(choices, text) ? choices[text] : undefined;
      if (value === undefined) throw new ConfigError(`${where}: '${text}' is not one of ${[...new Set(Object.values(choices ?? {}))].join(', ')}`);
      return value;
    }
    case 'bytes': {
      const n = typeof raw === 'number' ? raw : parseByteSize(text);
      if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${where}: '${text}' is not a size (bytes, or like 50MB, 1GiB)`);
      return n;
    }
  }
}

/**
 * Builds the configuration from, in rising precedence: defaults, the config file (--config FILE or
 * WARREN_CONFIG, JSON with the flag names as keys), environment variables, command-line flags.
 * Any unknown flag or key, or bad value, throws a ConfigError that names it.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const flags = new Map<string, string>();
  let configFile = env.WARREN_CONFIG;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    // A boolean flag alone (--management-tls) means true.
    const bare = eq < 0 && SETTINGS.find((s) => s.name === name)?.kind === 'boolean' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'));
    const value = eq > 0 ? arg.slice(eq + 1) : bare ? 'true' : argv[++i];
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    if (name === 'config') configFile = value;
    else if (SETTINGS.some((s) => s.name === name)) flags.set(name, value);
    else throw new ConfigError(`unknown option --${name}`);
  }
  const config: Record<string, unknown> = {};
  if (configFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${configFile}: ${(err as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${configFile}: expected a JSON object`);
    for (const [key, raw] of Object.entries(parsed)) {
      const s = SETTINGS.find((x) => x.name === key);
      if (!s) throw new ConfigError(`config file ${configFile}: unknown setting '${key}'`);
      config[s.key] = parseValue(s.kind, raw, `config file ${configFile}: ${key}`, s.choices);
    }
  }
  for (const s of SETTINGS) {
    const fromEnv = env[envName(s.name)];
    if (fromEnv !== undefined && fromEnv !== '') config[s.key] = parseValue(s.kind, fromEnv, envName(s.name), s.choices);
    const fromFlag = flags.get(s.name);
    if (fromFlag !== undefined) config[s.key] = parseValue(s.kind, fromFlag, `--${s.name}`, s.choices);
  }
  return config as Config;
}

export const USAGE = `Usage: warren start [options]

Options (each also settable as WARREN_<NAME> in the environment, or in a JSON --config file):
  --amqp-port N        AMQP 0-9-1 port (default 5672)
  --management-port N  management HTTP API port (default 15672; 0: any free port)
  --metrics-port N     Prometheus metrics port (default 15692)
  --data-dir DIR       data directory (default ./data)
  --host ADDR          interface to listen on (default: all)
  --heartbeat S        heartbeat proposed to clients, seconds (default 60)
  --frame-max N        largest frame, bytes (default 131072)
  --channel-max N      channels per connection (default 2047)
  --log-level L        debug | info | warn | error | silent (default info)
  --fsync BOOL         fsync before confirming persistent messages (default true;
                       false is unsafe: a power cut can lose confirmed messages)
  --memory-high-watermark X   block publishers above this memory use: a fraction
                       of RAM (default 0.4) or a size like 1GB
  --disk-free-limit SIZE      block publishers when the data directory's disk has
                       less free space than this (default 50MB)
  --consumer-timeout MS       close a channel whose delivery stays unacked longer
                       than this (default 1800000, 30 minutes; 0 turns it off)
  --low-memory BOOL    trade CPU for memory: V8 collects garbage sooner (default
                       false; about a quarter more broker CPU per message)
  --tls-cert FILE      PEM certificate (chain); with --tls-key, amqps listens too
  --tls-key FILE       PEM private key of --tls-cert (not encrypted)
  --tls-ca FILE        PEM CA bundle that client certificates are verified against
  --amqps-port N       AMQP over TLS port (default 5671; only with --tls-cert/--tls-key)
  --tls-verify MODE    none | peer (check a client certificate when given) |
                       require (refuse clients without one); default peer with
                       --tls-ca, else none. A verified certificate enables SASL EXTERNAL
  --tls-cert-login-from F     common_name (default) | distinguished_name: the
                       certificate field that names the EXTERNAL user
  --tls-min-version V  TLSv1.2 (default) | TLSv1.3
  --management-tls     serve the management API over HTTPS with --tls-cert/--tls-key
  --config FILE        JSON file with any of the settings above`;
