import { BrokerError } from '../broker-error.js';
import { COMMAND_INVALID } from '../reply-codes.js';
import { DirectExchange } from './direct.js';
import type { Exchange, ExchangeOptions } from './exchange.js';
import { FanoutExchange } from './fanout.js';
import { HeadersExchange } from './headers.js';
import { TopicExchange } from './topic.js';

type ExchangeClass = new (vhost: string, name: string, options: ExchangeOptions) => Exchange;

/** The exchange types a client may declare, by AMQP type name. */
const TYPES: Record<string, ExchangeClass> = {
  direct: DirectExchange,
  fanout: FanoutExchange,
  topic: TopicExchange,
  headers: HeadersExchange,
};

export function isExchangeType(type: string): boolean {
  return Object.hasOwn(TYPES, type);
}

export function createExchange(type: string, vhost: string, name: string, options: ExchangeOptions): Exchange {
  const cls = Object.hasOwn(TYPES, type) ? TYPES[type] : undefined;
  // RabbitMQ treats an unknown type as a connection error (503 COMMAND_INVALID).
  if (!cls) throw new BrokerError(COMMAND_INVALID, `unknown exchange type '${type}'`);
  return new cls(vhost, name, options);
}
