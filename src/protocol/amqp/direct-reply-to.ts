import { randomBytes } from 'node:crypto';
import type { Message } from '../../core/message.js';

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

const targets = new Map<string, ReplyTarget>();

export function registerReplyTarget(target: ReplyTarget): string {
  const token = randomBytes(18).toString('base64url');
  targets.set(token, target);
  return token;
}

export function unregisterReplyTarget(token: string): void {
  targets.delete(token);
}

/** Delivers a reply addressed to `amq.rabbitmq.reply-to.<token>`; false when nobody waits for it. */
export function deliverReply(routingKey: string, message: Message): boolean {
  const target = targets.get(routingKey.slice(REPLY_TO_PREFIX.length));
  return target ? target.deliverReply(message) : false;
}
