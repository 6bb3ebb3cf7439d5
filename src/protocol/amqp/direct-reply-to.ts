import { randomBytes } from 'node:crypto';
import { BrokerError } from '../../core/broker-error.js';
import { PRECONDITION_FAILED } from '../../core/reply-codes.js';
import { encodeProperties } from './codec/properties.js';
import type { Message } from '../../core/message.js';
import type { VirtualHost } from '../../core/vhost.js';

/**
 * Direct reply-to (RabbitMQ's `amq.rabbitmq.reply-to`): an RPC client consumes from the
 * pseudo-queue in no-ack mode and publishes requests with reply_to = `amq.rabbitmq.reply-to`;
 * the broker rewrites reply_to to `amq.rabbitmq.reply-to.<token>`, and a reply published to the
 * default exchange with that routing key goes straight to the consumer, with no queue in between.
 */
export const REPLY_TO_QUEUE = 'amq.rabbitmq.reply-to';
export const REPLY_TO_PREFIX = 'amq.rabbitmq.reply-to.';

/** Implemented by the channel that holds the reply consumer. */
export interface ReplyTarget {
  readonly open: boolean;
  writeDeliver(consumerTag: string, deliveryTag: number, redelivered: boolean, message: Message): void;
  nextDeliveryTag(): number;
}

/**
 * A channel's consumer of `amq.rabbitmq.reply-to` (at most one per channel, no-ack only).
 * Registered under a random token; replies to `amq.rabbitmq.reply-to.<token>` come here directly.
 */
export class ReplyConsumer {
  readonly tag: string;
  readonly token: string;
  readonly #vhost: VirtualHost;
  readonly #channel: ReplyTarget;

  constructor(vhost: VirtualHost, channel: ReplyTarget, tag: string, noAck: boolean) {
    if (!noAck) throw new BrokerError(PRECONDITION_FAILED, 'reply consumer cannot acknowledge');
    this.#vhost = vhost;
    this.#channel = channel;
    this.tag = tag;
    this.token = randomBytes(18).toString('base64url');
    targetsOf(vhost).set(this.token, this);
  }

  /** A request asks for a direct reply: point its reply_to at this consumer. */
  rewriteReplyTo(message: Message): void {
    const next = { ...message.properties, replyTo: REPLY_TO_PREFIX + this.token };
    message.setProperties(encodeProperties(next), next);
  }

  deliver(message: Message): boolean {
    if (!this.#channel.open) return false;
    this.#channel.writeDeliver(this.tag, this.#channel.nextDeliveryTag(), false, message);
    return true;
  }

  cancel(): void {
    targetsOf(this.#vhost).delete(this.token);
  }
}

/** Reply consumers by token, per vhost (so two brokers in one process never cross). */
const targetsByVhost = new WeakMap<VirtualHost, Map<string, ReplyConsumer>>();

function targetsOf(vhost: VirtualHost): Map<string, ReplyConsumer> {
  let m = targetsByVhost.get(vhost);
  if (!m) targetsByVhost.set(vhost, (m = new Map()));
  return m;
}

/** Delivers a reply addressed to `amq.rabbitmq.reply-to.<token>`; false when nobody waits for it. */
export function deliverReply(vhost: VirtualHost, routingKey: string, message: Message): boolean {
  const target = targetsByVhost.get(vhost)?.get(routingKey.slice(REPLY_TO_PREFIX.length));
  return target ? target.deliver(message) : false;
}
