export { Warren, DEFAULTS } from './warren.js';
export type { WarrenOptions } from './warren.js';
export { Broker } from './core/broker.js';
export { BrokerError } from './core/broker-error.js';
export { loadConfig, ConfigError } from './config.js';
export { setLogLevel, setLogSink } from './log.js';
export type { LogSink } from './log.js';
