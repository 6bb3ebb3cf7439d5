import type { VhostAccess } from '../../core/auth/access.js';
import { BrokerError } from '../../core/broker-error.js';
import type { Exchange } from '../../core/exchange/exchange.js';
import type { Message } from '../../core/message.js';
import type { Queue } from '../../core/queue/queue.js';
import type { ChannelStats } from '../../core/stats/counters.js';
import type { VirtualHost } from '../../core/vhost.js';
import { AmqpError, fitReplyText } from './amqp-error.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD } from './codec/frame-types.js';
import type { AmqpMethod } from './codec/methods.generated.js';
import * as M from './codec/methods.generated.js';
import { F_EXPIRATION, F_REPLY_TO, F_USER_ID, hasPropertyFlag } from './codec/properties.js';
import { checkExpiration } from './publish-checks.js';
import { PublishArgs } from './publish-args.js';
import { ContentAssembly } from './content-assembly.js';
import type { AmqpConnection } from './connection.js';
import type { DeliveryChannel } from './deliveries.js';
import type { Unacked } from './deliveries.js';
import { ChannelConsumer, Deliveries } from './deliveries.js';
import type { ReplyTarget } from './direct-reply-to.js';
import { deliverReply, REPLY_TO_PREFIX, REPLY_TO_QUEUE, ReplyConsumer } from './direct-reply-to.js';
import { handleTopologyMethod } from './channel-topology.js';
import { onCancel, onConsume, onGet, onQos } from './channel-consuming.js';
import { traceDelivered, tracePublished } from './tracing.js';
import type { ConfirmTarget } from './publisher-confirms.js';
import { PublisherConfirms } from './publisher-confirms.js';
import type { CommitWaiter } from '../../store/segment/group-commit.js';
import type { QueueEntry } from '../../store/queue-store.js';
import type { Outbox } from './outbox.js';
import {
  ACCESS_REFUSED, CHANNEL_ERROR, COMMAND_INVALID, FRAME_ERROR, NO_ROUTE, NOT_FOUND, NOT_IMPLEMENTED,
  PRECONDITION_FAILED, RESOURCE_ERROR, UNEXPECTED_FRAME,
} from './reply-codes.js';

interface TxPublish { exchange: Exchange; message: Message; mandatory: boolean }
interface TxSettle { taken: Unacked[]; reject: boolean; requeue: boolean }

/** Queues routed to by one publish; reused across publishes (hot path, no allocation). */
const routed = new Set<Queue>();

/**
 * One AMQP channel (§2.2.5): content assembly of publishes (method → header → body frames),
 * routing, publisher confirms, transactions, consumers and acks. Errors it raises close only this
 * channel (soft, 4xx) or the whole connection (hard, 5xx), as §1.4.2.5 says.
 */
export class Channel implements DeliveryChannel, ReplyTarget, ConfirmTarget, CommitWaiter {
  readonly id: number;
  readonly conn: AmqpConnection;
  readonly vhost: VirtualHost;
  /** The connection's permissions (checked per operation, as RabbitMQ's channel does). */
  readonly access: VhostAccess;
  readonly deliveries: Deliveries;
  readonly consumers = new Map<string, ChannelConsumer>();
  /** The last queue declared on this channel, used where a method names queue "" (§1.7.2.x). */
  lastQueue = '';
  /** Message statistics: plain counters, incremented inline (core/stats/counters.ts). */
  readonly stats: ChannelStats;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #methodId = 0;
  readonly #content = new ContentAssembly();
  // confirms and transactions
  #confirms: PublisherConfirms | undefined;
  #tx: { publishes: TxPublish[]; settles: TxSettle[] } | undefined;
  /** The group-commit round a tx.commit-ok waits for (0: none). */
  #txEpoch = 0;
  /** Frames that arrived while the channel waits for the disk (tx.commit, or close with confirms owed). */
  #deferred: { type: number; payload: Buffer }[] | null = null;
  /** The direct reply-to consumer (basic.consume on amq.rabbitmq.reply-to), if any. */
  replyConsumer: ReplyConsumer | undefined;
  #publishArgs: PublishArgs | undefined;

  constructor(conn: AmqpConnection, id: number) {
    this.conn = conn;
    this.id = id;
    this.vhost = conn.vhost!;
    this.access = conn.access!;
    this.stats = conn.broker.stats.channelOpened(conn.stats); // before Deliveries, which counts on it
    this.deliveries = new Deliveries(this, conn.limits.consumerTimeout);
  }

  get open(): boolean {
    return this.#state === 'open';
  }

  /** Publisher confirms are on (confirm.select), for the management API. */
  get confirmMode(): boolean {
    return this.#confirms !== undefined;
  }

  get transactional(): boolean {
    return this.#tx !== undefined;
  }

  get outbox(): Outbox {
    return this.conn.outbox;
  }

  get canDeliver(): boolean {
    return this.#state === 'open' && this.conn.writable;
  }

  /**
   * One frame for this channel, its payload `buf[start, end)` (valid during the call only). Soft
   * errors close the channel; hard ones propagate to the connection. The publish path (publish
   * method, content header, body) reads the range in place; other methods get a view and the
   * generic decoder.
   */
  onFrame(type: number, buf: Buffer, start: number, end: number): void {
    if (this.#state !== 'open') {
      // §1.5.2.5: after channel.close, only close / close-ok matter.
      if (type === FRAME_METHOD) this.#onMethodWhileClosing(M.decodeMethod(buf.subarray(start, end)));
      return;
    }
    if (this.#deferred) {
      this.#deferred.push({ type, payload: Buffer.from(buf.subarray(start, end)) });
      return;
    }
    try {
      if (type === FRAME_BODY) {
        if (this.#content.body(buf, start, end)) this.#completePublish();
      } else if (type === FRAME_HEADER) {
        if (this.#content.header(buf, start, end)) this.#completePublish();
      } else if (type === FRAME_METHOD) {
        if (this.#content.awaiting !== 'method') {
          throw new AmqpError(UNEXPECTED_FRAME, `expected content ${this.#content.awaiting} frame, got a method frame`);
        }
        const id = end - start >= 4 ? buf.readUInt32BE(start) : 0;
        if (id === M.BASIC_PUBLISH && (this.#publishArgs ??= new PublishArgs()).decode(buf, start, end)) {
          const a = this.#publishArgs;
          this.#methodId = id;
          return this.#onPublish(a.exchange, a.routingKey, a.mandatory, a.immediate);
        }
        if (id === M.BASIC_ACK && end - start >= 13 && buf.readUInt32BE(start + 4) <= 0x1f_ffff) { // delivery-tag u64, multiple bit (§1.8.3.13)
          this.#methodId = id;
          return this.#settle(readDeliveryTag(buf, start + 4), (buf[start + 12]! & 1) !== 0, false, false);
        }
        const payload = buf.subarray(start, end);
        const m = M.decodeMethod(payload);
        if (m.id === M.CHANNEL_CLOSE && this.#confirms && this.#confirms.pending > 0) {
          // Confirms owed go out before close-ok (else a retrying publisher duplicates them): wait for the disk.
          this.#deferred = [{ type, payload: Buffer.from(payload) }];
          return;
        }
        this.#methodId = m.id;
        this.#onMethod(m);
      }
      else throw new AmqpError(FRAME_ERROR, `unknown frame type ${type}`);
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      if (err.isConnectionError) this.conn.connectionError(err, this.#methodId);
      else this.closeWithError(err);
    }
  }

  #onMethodWhileClosing(m: AmqpMethod): void {
    if (m.id === M.CHANNEL_CLOSE_OK) this.#finish();
    else if (m.id === M.CHANNEL_CLOSE) {
      this.conn.outbox.writeMethod(this.id, { id: M.CHANNEL_CLOSE_OK });
      this.#finish();
    }
  }

  #onMethod(m: AmqpMethod): void {
    const out = this.conn.outbox;
    switch (m.id) {
      case M.BASIC_PUBLISH: return this.#onPublish(m.exchange, m.routingKey, m.mandatory, m.immediate);
      case M.BASIC_ACK: return this.#settle(m.deliveryTag, m.multiple, false, false);
      case M.BASIC_NACK: return this.#settle(m.deliveryTag, m.multiple, true, m.requeue);
      case M.BASIC_REJECT: return this.#settle(m.deliveryTag, false, true, m.requeue);
      case M.BASIC_CONSUME: return onConsume(this, m);
      case M.BASIC_CANCEL: return onCancel(this, m);
      case M.BASIC_GET: return onGet(this, m);
      case M.BASIC_QOS: return onQos(this, m);
      case M.BASIC_RECOVER:
        this.deliveries.recover(m.requeue);
        out.writeMethod(this.id, { id: M.BASIC_RECOVER_OK });
        return this.resumeDeliveries();
      case M.BASIC_RECOVER_ASYNC:
        return this.deliveries.recover(m.requeue);
      case M.CHANNEL_FLOW:
        // RabbitMQ does not implement client-initiated flow control; only active=true is a no-op.
        if (!m.active) throw new AmqpError(NOT_IMPLEMENTED, 'active=false');
        return out.writeMethod(this.id, { id: M.CHANNEL_FLOW_OK, active: true });
      case M.CHANNEL_FLOW_OK: return;
      case M.CHANNEL_CLOSE:
        this.release();
        out.writeMethod(this.id, { id: M.CHANNEL_CLOSE_OK });
        return this.#finish();
      case M.CHANNEL_OPEN:
        throw new AmqpError(CHANNEL_ERROR, `second 'channel.open' seen on channel ${this.id}`);
      case M.ACCESS_REQUEST:
        return out.writeMethod(this.id, { id: M.ACCESS_REQUEST_OK, ticket: 1 });
      case M.CONFIRM_SELECT:
        if (this.#tx) throw new BrokerError(PRECONDITION_FAILED, 'cannot switch from tx to confirm mode');
        this.#confirms ??= new PublisherConfirms(this, this.conn.broker.messages.commit);
        if (!m.nowait) out.writeMethod(this.id, { id: M.CONFIRM_SELECT_OK });
        return;
      case M.TX_SELECT:
        if (this.#confirms) throw new BrokerError(PRECONDITION_FAILED, 'cannot switch from confirm to tx mode');
        this.#tx ??= { publishes: [], settles: [] };
        return out.writeMethod(this.id, { id: M.TX_SELECT_OK });
      case M.TX_COMMIT: return this.#commit();
      case M.TX_ROLLBACK:
        if (!this.#tx) throw new BrokerError(PRECONDITION_FAILED, 'channel is not transactional');
        for (const held of this.#tx.settles) this.deliveries.restoreHeld(held.taken);
        this.#tx = { publishes: [], settles: [] };
        return out.writeMethod(this.id, { id: M.TX_ROLLBACK_OK });
    }
    if (handleTopologyMethod(this, m)) return;
    throw new AmqpError(COMMAND_INVALID, `method '${M.methodName(m.id)}' is not allowed from a client`);
  }

  // ---- publishing ----

  #onPublish(exchange: string, routingKey: string, mandatory: boolean, immediate: boolean): void {
    if (immediate) throw new AmqpError(NOT_IMPLEMENTED, 'immediate=true');
    // RabbitMQ's order: write permission (cached per exchange), existence, internal, topic permission.
    this.access.checkPublish(exchange);
    const ex = this.vhost.getExchange(exchange);
    if (ex.internal) {
      throw new BrokerError(ACCESS_REFUSED, `cannot publish to internal exchange '${exchange}' in vhost '${this.vhost.name}'`);
    }
    if (ex.type === 'topic') this.access.checkTopic('write', ex.name, routingKey);
    this.#content.start(exchange, routingKey, mandatory, ex);
    this.conn.publishing();
  }

  #completePublish(): void {
    const content = this.#content;
    const mandatory = content.mandatory;
    const ex = content.exchange!;
    const message = content.take();
    if (hasPropertyFlag(message.rawProperties, F_USER_ID)) this.#checkUserId(message);
    if (hasPropertyFlag(message.rawProperties, F_EXPIRATION)) checkExpiration(message);
    if (hasPropertyFlag(message.rawProperties, F_REPLY_TO)) this.#rewriteReplyTo(message);
    if (this.#tx) {
      this.#tx.publishes.push({ exchange: ex, message, mandatory });
      return;
    }
    const commit = this.conn.broker.messages.commit;
    const writes = commit.writes;
    this.#route(ex, message, mandatory);
    // A persistent message written to a durable queue is confirmed once the disk has it.
    this.#confirms?.published(commit.writes !== writes ? commit.epoch : 0);
  }

  #route(ex: Exchange, message: Message, mandatory: boolean): void {
    // stats: received from a publisher, routable or not
    const vs = this.vhost.stats;
    this.stats.publish++;
    vs.publishIn++;
    if (this.#confirms !== undefined) vs.publishInConfirm++;
    if (ex === this.vhost.defaultExchange && message.routingKey.startsWith(REPLY_TO_PREFIX)) {
      if (this.vhost.tracing) tracePublished(this, message, routed); // routed: empty (a reply goes to a channel)
      if (!deliverReply(this.vhost, message.routingKey, message)) this.#unroutable(message, mandatory);
      return;
    }
    try {
      this.vhost.route(ex, message, routed);
      // Traced before the queues take it, so a trace shows the publish before its deliveries.
      if (this.vhost.tracing) tracePublished(this, message, routed);
      if (routed.size === 0) return this.#unroutable(message, mandatory);
      let refused = false;
      for (const q of routed) {
        if (!q.enqueue(message)) refused = true;
        if (!q.internal) vs.routed++; // a delayed message counts when it is routed on, when due
      }
      // A queue at its length limit with x-overflow reject-publish(-dlx): the publisher gets a nack.
      if (refused) this.#confirms?.refused();
    } finally {
      // The set is shared by every channel: it must be empty again whatever happened.
      routed.clear();
    }
  }

  /** Mandatory: basic.return; otherwise dropped (RabbitMQ counts both). */
  #unroutable(message: Message, mandatory: boolean): void {
    if (mandatory) {
      this.stats.returnUnroutable++;
      this.vhost.stats.returnUnroutable++;
      this.#return(message);
    } else {
      this.stats.dropUnroutable++;
      this.vhost.stats.dropUnroutable++;
    }
  }

  #return(message: Message): void {
    this.conn.outbox.writeReturn(this.id, NO_ROUTE, 'NO_ROUTE', message.exchange, message.routingKey, message.rawProperties, message.body);
  }

  /** basic.ack confirms went out for `count` publishes (stats). */
  confirmsSent(count: number): void {
    this.stats.confirm += count;
    this.vhost.stats.confirm += count;
  }

  /** Every confirm owed went out: a close that waited for them can go on. */
  confirmsSettled(): void {
    if (this.#txEpoch === 0) this.#resumeDeferred();
  }

  #commit(): void {
    const tx = this.#tx;
    if (!tx) throw new BrokerError(PRECONDITION_FAILED, 'channel is not transactional');
    this.#tx = { publishes: [], settles: [] };
    const commit = this.conn.broker.messages.commit;
    const writes = commit.writes;
    for (const p of tx.publishes) this.#route(p.exchange, p.message, p.mandatory);
    for (const s of tx.settles) this.deliveries.settleHeld(s.taken, s.reject, s.requeue);
    this.resumeDeliveries();
    if (commit.writes === writes) return this.conn.outbox.writeMethod(this.id, { id: M.TX_COMMIT_OK });
    // commit-ok only once the disk has the persistent messages; later frames wait behind it.
    this.#txEpoch = commit.epoch;
    this.#deferred ??= [];
    commit.wait(this);
  }

  /** A group-commit round finished: the awaited one ends the pending tx.commit. */
  committed(round: number, ok: boolean): void {
    if (this.#txEpoch === 0 || this.#state !== 'open') return;
    if (round < this.#txEpoch) return this.conn.broker.messages.commit.wait(this);
    this.#txEpoch = 0;
    if (ok) this.conn.outbox.writeMethod(this.id, { id: M.TX_COMMIT_OK });
    else this.closeWithError(new BrokerError(RESOURCE_ERROR, 'could not write the transaction\'s messages to disk'));
    this.#resumeDeferred();
  }

  /** Processes, in order, the frames that arrived while the channel waited. */
  #resumeDeferred(): void {
    const frames = this.#deferred;
    if (!frames || this.#txEpoch !== 0) return;
    this.#deferred = null;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      this.onFrame(f.type, f.payload, 0, f.payload.length);
      if (this.#deferred) {
        (this.#deferred as { type: number; payload: Buffer }[]).push(...frames.slice(i + 1));
        return;
      }
    }
  }

  /** RabbitMQ validates user_id: a publisher may not claim to be someone else (unless tagged impersonator). */
  #checkUserId(message: Message): void {
    const userId = message.properties.userId;
    if (userId !== undefined && userId !== this.conn.username && !this.conn.impersonator) {
      throw new BrokerError(PRECONDITION_FAILED, `user_id property set to '${userId}' but authenticated user was '${this.conn.username}'`);
    }
  }

  // ---- direct reply-to ----

  /** A request asks for a direct reply (reply_to = amq.rabbitmq.reply-to): needs our reply consumer. */
  #rewriteReplyTo(message: Message): void {
    if (message.properties.replyTo !== REPLY_TO_QUEUE) return;
    if (!this.replyConsumer) throw new BrokerError(PRECONDITION_FAILED, 'fast reply consumer does not exist');
    this.replyConsumer.rewriteReplyTo(message);
  }

  nextDeliveryTag(): number {
    return this.deliveries.nextTag();
  }

  // ---- consumers and acks ----

  #settle(tag: number, multiple: boolean, reject: boolean, requeue: boolean): void {
    if (this.#tx) {
      const taken = this.deliveries.take(tag, multiple);
      this.deliveries.hold(taken);
      this.#tx.settles.push({ taken, reject, requeue });
      return;
    }
    if (reject) this.deliveries.reject(tag, multiple, requeue);
    else this.deliveries.ack(tag, multiple);
    this.resumeDeliveries();
  }

  writeDeliver(consumerTag: string, deliveryTag: number, redelivered: boolean, message: Message): void {
    this.conn.outbox.writeDeliver(this.id, consumerTag, deliveryTag, redelivered, message.exchange,
      message.routingKey, message.rawProperties, message.body);
  }

  /** Deliveries calls this for each basic.deliver while the vhost traces. */
  traceDelivery(queue: Queue, entry: QueueEntry): void {
    traceDelivered(this, queue, entry);
  }

  /** Capacity came back (ack, qos, socket drained): let our consumers' queues deliver. */
  resumeDeliveries(): void {
    if (!this.canDeliver) return;
    for (const c of this.consumers.values()) c.queue.drain();
  }

  consumerCancelledByServer(consumer: ChannelConsumer): void {
    this.consumers.delete(consumer.tag);
    if (this.#state === 'open' && this.conn.consumerCancelNotify) {
      this.conn.outbox.writeMethod(this.id, { id: M.BASIC_CANCEL, consumerTag: consumer.tag, nowait: true });
    }
  }

  /** The queue a method names, or for "" the last one declared on this channel (404 when none). */
  queueNameOrLast(name: string): string {
    if (name !== '') return name;
    if (this.lastQueue === '') throw new BrokerError(NOT_FOUND, 'no previously declared queue');
    return this.lastQueue;
  }

  // ---- closing ----

  /** Server-initiated channel.close for a soft error (§1.5.2.5). */
  closeWithError(err: BrokerError): void {
    if (this.#state !== 'open') return;
    this.release();
    this.#state = 'closing';
    const classId = err instanceof AmqpError && err.classId ? err.classId : this.#methodId >>> 16;
    const methodId = err instanceof AmqpError && err.classId ? err.methodId : this.#methodId & 0xffff;
    this.conn.outbox.writeMethod(this.id, { id: M.CHANNEL_CLOSE, replyCode: err.replyCode, replyText: fitReplyText(err.message), classId, methodId });
  }

  /** Gives back everything the channel holds: consumers cancelled, unacked messages requeued. */
  release(): void {
    if (this.#state === 'closed') return;
    this.conn.broker.stats.channelClosed(this.conn.stats, this.stats);
    // Publishes routed before the close are confirmed before it (else a retrying publisher duplicates them).
    this.#confirms?.flush();
    if (this.#state === 'open') this.#state = 'closing';
    this.deliveries.stopTimeout();
    // Unacked messages go back first (an uncommitted transaction's acks never happened: those
    // too), while our consumers can take nothing: then, when they go, the next consumer (single
    // active consumer) finds the queue in its original order.
    for (const held of this.#tx?.settles ?? []) this.deliveries.restoreHeld(held.taken);
    this.#tx = undefined;
    this.deliveries.requeueAll();
    for (const c of this.consumers.values()) c.queue.removeConsumer(c);
    this.consumers.clear();
    this.replyConsumer?.cancel();
    this.replyConsumer = undefined;
  }

  #finish(): void {
    this.#state = 'closed';
    this.conn.channelClosed(this.id);
  }
}

/** A delivery-tag (u64, high word checked by the caller to keep it under 2^53) as a number. */
function readDeliveryTag(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}
