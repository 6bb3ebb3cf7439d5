import { BrokerError } from '../broker-error.js';
import { COMMAND_INVALID } from '../reply-codes.js';
import type { DelayedExchangeHost } from './delayed.js';
import { DELAYED_TYPE, DelayedExchange, delayedTypeOf } from './delayed.js';
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
  return Object.hasOwn(TYPES, type) || type === DELAYED_TYPE;
}

/** `delayed` is what an x-delayed-message exchange needs from its vhost (the other types need nothing). */
export function createExchange(type: string, vhost: string, name: string, options: ExchangeOptions,
  delayed?: DelayedExchangeHost): Exchange {
  if (type === DELAYED_TYPE && delayed) {
    // The inner exchange holds the routing index of the delayed type (406 for a bad x-delayed-type).
    const inner = createExchange(delayedTypeOf(options.arguments), vhost, name, options);
    return new DelayedExchange(vhost, name, options, inner, delayed);
  }
  const cls = Object.hasOwn(TYPES, type) ? TYPES[type] : undefined;
  // RabbitMQ treats an unknown type as a connection error (503 COMMAND_INVALID).
  if (!cls) throw new BrokerError(COMMAND_INVALID, `unknown exchange type '${type}'`);
  return new cls(vhost, name, options);
}
