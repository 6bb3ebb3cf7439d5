import { randomBytes } from 'node:crypto';
import { BrokerError } from '../../core/broker-error.js';
import { AmqpError } from './amqp-error.js';
import * as M from './codec/methods.generated.js';
import type { Channel } from './channel.js';
import { ChannelConsumer } from './deliveries.js';
import { REPLY_TO_QUEUE, ReplyConsumer } from './direct-reply-to.js';
import { consumerPriority } from './publish-checks.js';
import { traceDelivered } from './tracing.js';
import { NOT_ALLOWED, NOT_IMPLEMENTED, PRECONDITION_FAILED } from './reply-codes.js';

/*
 * The consuming side of a channel: basic.consume, basic.cancel, basic.get and basic.qos
 * (§1.8.3.1–.11). Acks and the delivery bookkeeping are in deliveries.ts; the channel dispatches
 * here from its method switch.
 */

export function onConsume(ch: Channel, m: M.BasicConsume): void {
  const queueName = ch.queueNameOrLast(m.queue);
  const tag = m.consumerTag === '' ? `amq.ctag-${randomBytes(16).toString('base64url')}` : m.consumerTag;
  if (ch.consumers.has(tag) || ch.replyConsumer?.tag === tag) {
    throw new AmqpError(NOT_ALLOWED, `attempt to reuse consumer tag '${tag}'`);
  }
  if (queueName === REPLY_TO_QUEUE) {
    if (ch.replyConsumer) throw new BrokerError(PRECONDITION_FAILED, 'reply consumer already set');
    ch.replyConsumer = new ReplyConsumer(ch.vhost, ch, tag, m.noAck);
    if (!m.nowait) ch.conn.outbox.writeMethod(ch.id, { id: M.BASIC_CONSUME_OK, consumerTag: tag });
    return;
  }
  ch.access.check('read', 'queue', queueName);
  const queue = ch.vhost.getQueue(queueName, ch.conn);
  queue.assertCanConsume(m.exclusive);
  const consumer = new ChannelConsumer(ch.deliveries, queue, tag, m.noAck, m.exclusive, consumerPriority(m.arguments, `queue '${queue.name}' in vhost '${ch.vhost.name}'`));
  ch.consumers.set(tag, consumer);
  // consume-ok goes out before the first delivery (§1.8.3.3)
  if (!m.nowait) ch.conn.outbox.writeMethod(ch.id, { id: M.BASIC_CONSUME_OK, consumerTag: tag });
  queue.addConsumer(consumer);
}

export function onCancel(ch: Channel, m: M.BasicCancel): void {
  const consumer = ch.consumers.get(m.consumerTag);
  if (consumer) {
    ch.consumers.delete(m.consumerTag);
    consumer.queue.removeConsumer(consumer);
  } else if (ch.replyConsumer?.tag === m.consumerTag) {
    ch.replyConsumer.cancel();
    ch.replyConsumer = undefined;
  }
  if (!m.nowait) ch.conn.outbox.writeMethod(ch.id, { id: M.BASIC_CANCEL_OK, consumerTag: m.consumerTag });
}

export function onGet(ch: Channel, m: M.BasicGet): void {
  const queueName = ch.queueNameOrLast(m.queue);
  ch.access.check('read', 'queue', queueName);
  const queue = ch.vhost.getQueue(queueName, ch.conn);
  const entry = queue.get();
  if (!entry) {
    ch.conn.outbox.writeMethod(ch.id, { id: M.BASIC_GET_EMPTY });
    return;
  }
  const tag = ch.deliveries.trackGet(queue, entry, m.noAck);
  const msg = entry.message;
  ch.conn.outbox.writeGetOk(ch.id, tag, entry.redelivered, msg.exchange, msg.routingKey,
    queue.messageCount, msg.rawProperties, msg.body);
  if (ch.vhost.tracing) traceDelivered(ch, queue, entry);
}

export function onQos(ch: Channel, m: M.BasicQos): void {
  if (m.prefetchSize !== 0) throw new AmqpError(NOT_IMPLEMENTED, `prefetch_size!=0 (${m.prefetchSize})`);
  if (m.global) ch.deliveries.channelPrefetch = m.prefetchCount;
  else ch.deliveries.consumerPrefetch = m.prefetchCount;
  ch.conn.outbox.writeMethod(ch.id, { id: M.BASIC_QOS_OK });
  ch.resumeDeliveries();
}
