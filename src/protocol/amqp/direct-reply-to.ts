import { randomBytes } from 'node:crypto';
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
  deliverReply(message: Message): boolean;
}

/** Reply consumers by token, per vhost (so two brokers in one process never cross). */
const targetsByVhost = new WeakMap<VirtualHost, Map<string, ReplyTarget>>();

function targetsOf(vhost: VirtualHost): Map<string, ReplyTarget> {
  let m = targetsByVhost.get(vhost);
  if (!m) targetsByVhost.set(vhost, (m = new Map()));
  return m;
}

export function registerReplyTarget(vhost: VirtualHost, target: ReplyTarget): string {
  const token = randomBytes(18).toString('base64url');
  targetsOf(vhost).set(token, target);
  return token;
}

export function unregisterReplyTarget(vhost: VirtualHost, token: string): void {
  targetsOf(vhost).delete(token);
}

/** Delivers a reply addressed to `amq.rabbitmq.reply-to.<token>`; false when nobody waits for it. */
export function deliverReply(vhost: VirtualHost, routingKey: string, message: Message): boolean {
  const target = targetsByVhost.get(vhost)?.get(routingKey.slice(REPLY_TO_PREFIX.length));
  return target ? target.deliverReply(message) : false;
}
