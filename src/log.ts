/**
 * A small structured logger: one JSON object per line on stderr, quiet by default (level "info":
 * start-up, warnings and errors only; connection churn is "debug"). Level from WARREN_LOG_LEVEL.
 * Kept in-house because the broker logs little and a dependency would buy nothing here.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function parseLevel(value: string | undefined): LogLevel {
  if (value && value in ORDER) return value as LogLevel;
  return 'info';
}

let threshold = ORDER[parseLevel(process.env.WARREN_LOG_LEVEL)];

export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

export function isLogLevelName(value: string): value is LogLevel {
  return value in ORDER;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
}

export type LogSink = (line: { level: LogLevel; component: string; msg: string } & Record<string, unknown>) => void;

let sink: LogSink | null = null;

/** Also hands every line at info level or above to `fn` (tests read what the broker reported). */
export function setLogSink(fn: LogSink | null): void {
  sink = fn;
}

function write(level: LogLevel, component: string, msg: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < threshold && !(sink && ORDER[level] >= ORDER.info)) return;
  const line = { time: new Date().toISOString(), level, component, msg, ...fields };
  if (sink && ORDER[level] >= ORDER.info) sink(line);
  if (ORDER[level] < threshold) return;
  process.stderr.write(JSON.stringify(line, jsonSafe) + '\n');
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

export function createLogger(component: string): Logger {
  return {
    debug: (msg, fields) => write('debug', component, msg, fields),
    info: (msg, fields) => write('info', component, msg, fields),
    warn: (msg, fields) => write('warn', component, msg, fields),
    error: (msg, fields) => write('error', component, msg, fields),
    enabled: (level) => ORDER[level] >= threshold,
  };
}
