import type { ResourceKind } from '../../core/auth/access.js';
import type { AmqpMethod } from './codec/methods.generated.js';
import * as M from './codec/methods.generated.js';
import type { Channel } from './channel.js';
import { REPLY_TO_QUEUE } from './direct-reply-to.js';

/**
 * The exchange.* and queue.* methods (§1.6, §1.7): thin translations onto the vhost, which owns
 * topology and raises the errors (404/403/405/406) with RabbitMQ's wording.
 * Returns false for a method that is not a topology method.
 *
 * Permissions are checked where RabbitMQ's channel checks them, before the object is looked up
 * (so a missing object the user may not touch is 403, not 404): declare/delete need configure,
 * bind/unbind write on the destination and read on the source, purge read on the queue; a new
 * queue's dead-letter exchange and a new exchange's alternate exchange need write (VhostAccess).
 * Passive declares check nothing, as in RabbitMQ.
 */
export function handleTopologyMethod(ch: Channel, m: AmqpMethod): boolean {
  const vhost = ch.vhost;
  const access = ch.access;
  const out = ch.conn.outbox;
  switch (m.id) {
    case M.EXCHANGE_DECLARE: {
      vhost.declareExchange(m.exchange, m.type,
        { durable: m.durable, autoDelete: m.autoDelete, internal: m.internal, arguments: m.arguments }, m.passive,
        (name, isNew) => access.checkExchangeDeclare(name, m.arguments, isNew));
      if (!m.nowait) out.writeMethod(ch.id, { id: M.EXCHANGE_DECLARE_OK });
      return true;
    }
    case M.EXCHANGE_DELETE:
      // The default and amq.* exchanges are refused by the vhost, with RabbitMQ's text for that.
      if (m.exchange !== '' && !m.exchange.startsWith('amq.')) access.check('configure', 'exchange', m.exchange);
      vhost.deleteExchange(m.exchange, m.ifUnused);
      if (!m.nowait) out.writeMethod(ch.id, { id: M.EXCHANGE_DELETE_OK });
      return true;
    case M.EXCHANGE_BIND:
    case M.EXCHANGE_UNBIND: {
      checkBind(ch, 'exchange', m.destination, m.source, m.routingKey);
      const destination = vhost.getExchange(m.destination);
      const source = vhost.getExchange(m.source);
      if (m.id === M.EXCHANGE_BIND) vhost.bind(source, destination, m.routingKey, m.arguments);
      else vhost.unbind(source, destination, m.routingKey, m.arguments);
      if (!m.nowait) out.writeMethod(ch.id, { id: m.id === M.EXCHANGE_BIND ? M.EXCHANGE_BIND_OK : M.EXCHANGE_UNBIND_OK });
      return true;
    }
    case M.QUEUE_DECLARE: {
      if (m.queue === REPLY_TO_QUEUE && m.passive) {
        // RabbitMQ lets clients check for direct reply-to support this way.
        if (!m.nowait) out.writeMethod(ch.id, { id: M.QUEUE_DECLARE_OK, queue: m.queue, messageCount: 0, consumerCount: 0 });
        return true;
      }
      const q = vhost.declareQueue(m.queue,
        { durable: m.durable, exclusive: m.exclusive, autoDelete: m.autoDelete, arguments: m.arguments }, m.passive, ch.conn,
        (name, isNew) => access.checkQueueDeclare(name, m.arguments, isNew));
      ch.lastQueue = q.name;
      if (!m.nowait) {
        out.writeMethod(ch.id, { id: M.QUEUE_DECLARE_OK, queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount });
      }
      return true;
    }
    case M.QUEUE_BIND:
    case M.QUEUE_UNBIND: {
      const name = queueName(ch, m.queue);
      checkBind(ch, 'queue', name, m.exchange, m.routingKey);
      const q = vhost.getQueue(name, ch.conn);
      const source = vhost.getExchange(m.exchange);
      if (m.id === M.QUEUE_BIND) {
        vhost.bind(source, q, m.routingKey, m.arguments);
        if (!m.nowait) out.writeMethod(ch.id, { id: M.QUEUE_BIND_OK });
      } else {
        vhost.unbind(source, q, m.routingKey, m.arguments);
        out.writeMethod(ch.id, { id: M.QUEUE_UNBIND_OK });
      }
      return true;
    }
    case M.QUEUE_PURGE: {
      const name = queueName(ch, m.queue);
      access.check('read', 'queue', name);
      const q = vhost.getQueue(name, ch.conn);
      const messageCount = q.purge();
      if (!m.nowait) out.writeMethod(ch.id, { id: M.QUEUE_PURGE_OK, messageCount });
      return true;
    }
    case M.QUEUE_DELETE: {
      const name = queueName(ch, m.queue);
      access.check('configure', 'queue', name);
      const messageCount = vhost.deleteQueue(name, m.ifUnused, m.ifEmpty, ch.conn);
      if (!m.nowait) out.writeMethod(ch.id, { id: M.QUEUE_DELETE_OK, messageCount });
      return true;
    }
  }
  return false;
}

/**
 * queue.bind/unbind, exchange.bind/unbind: write on the destination, read on the source, and for a
 * topic source the user's topic read permission on the binding key (RabbitMQ's binding_action).
 */
function checkBind(ch: Channel, kind: ResourceKind, destination: string, source: string, routingKey: string): void {
  ch.access.check('write', kind, destination);
  ch.access.check('read', 'exchange', source);
  if (ch.vhost.exchanges.get(source)?.type === 'topic') ch.access.checkTopic('read', source, routingKey);
}

/** §1.7.2: an empty queue name means the last queue declared on the channel. */
function queueName(ch: Channel, name: string): string {
  return name === '' && ch.lastQueue !== '' ? ch.lastQueue : name;
}
