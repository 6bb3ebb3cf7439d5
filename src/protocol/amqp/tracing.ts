import type { Message } from '../../core/message.js';
import type { Queue } from '../../core/queue/queue.js';
import type { TraceOrigin } from '../../core/trace.js';
import { traceDeliver, tracePublish } from '../../core/trace.js';
import type { QueueEntry } from '../../store/queue-store.js';
import type { Channel } from './channel.js';

/**
 * The AMQP side of firehose tracing (core/trace.ts): who a channel's publishes and deliveries
 * come from. Called only when the channel's vhost has tracing on, so none of this runs otherwise;
 * the origin is made once per channel, while the socket still has its addresses.
 */
const origins = new WeakMap<Channel, TraceOrigin>();

function originOf(ch: Channel): TraceOrigin {
  let origin = origins.get(ch);
  if (!origin) {
    const conn = ch.conn;
    // The connection's name as the management API lists it (connection-info.ts).
    const connection = `${conn.remote} -> ${conn.socket.localAddress}:${conn.socket.localPort}`;
    origins.set(ch, (origin = { user: conn.username, connection, channel: ch.id }));
  }
  return origin;
}

/** basic.publish, routed (`routed` may be empty: unroutable publishes are traced too, as in RabbitMQ). */
export function tracePublished(ch: Channel, message: Message, routed: Iterable<Queue>): void {
  tracePublish(ch.vhost, message, routed, originOf(ch));
}

/** basic.deliver or basic.get-ok of `entry` from `queue`. */
export function traceDelivered(ch: Channel, queue: Queue, entry: QueueEntry): void {
  traceDeliver(ch.vhost, queue.name, entry.message, entry.redelivered, originOf(ch));
}
