export { Warren, DEFAULTS } from './warren.js';
export type { WarrenOptions } from './warren.js';
export { Broker } from './core/broker.js';
export { BrokerError } from './core/broker-error.js';
export type { Policy, PolicyApplyTo, PolicyInput, PolicyValue } from './core/policy/policy.js';
export type { PolicyDefinition } from './store/definitions-store.js';
export { loadConfig, ConfigError } from './config.js';
export { setLogLevel, setLogSink } from './log.js';
export type { LogSink } from './log.js';
