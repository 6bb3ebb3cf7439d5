import { Message } from '../message.js';
import { encodeProperties } from '../../protocol/amqp/codec/properties.js';

/**
 * The message as redelivered by a queue with a delivery limit: the `x-delivery-count` header says
 * how many times it came back before (as RabbitMQ's quorum queues do). A new Message, because the
 * one the queue holds may be shared with other queues the publish was routed to.
 */
export function withDeliveryCount(message: Message, count: number): Message {
  const props = { ...message.properties, headers: { ...message.properties.headers, 'x-delivery-count': BigInt(count) } };
  return new Message(message.exchange, message.routingKey, encodeProperties(props), message.body, message.timestamp);
}
