import type { Socket } from 'node:net';
import type { VhostAccess } from '../../core/auth/access.js';
import { vhostAccessRefused } from '../../core/auth/access.js';
import type { Broker } from '../../core/broker.js';
import { BrokerError } from '../../core/broker-error.js';
import type { ConnectionStats } from '../../core/stats/counters.js';
import type { User } from '../../core/users.js';
import type { VirtualHost } from '../../core/vhost.js';
import { createLogger } from '../../log.js';
import type { TlsPeer } from '../../transport/tls.js';
import { AmqpError, fitReplyText } from './amqp-error.js';
import { Channel } from './channel.js';
import type { FieldTable } from './codec/field-table.js';
import { FRAME_HEARTBEAT, FRAME_METHOD, FRAME_MIN_SIZE } from './codec/frame-types.js';
import type { FrameHandler } from './codec/frame-reader.js';
import { FrameReader } from './codec/frame-reader.js';
import type { AmqpMethod } from './codec/methods.generated.js';
import * as M from './codec/methods.generated.js';
import { clientCapability, EXTERNAL, mechanisms, parseSaslResponse, PROTOCOL_HEADER, serverProperties } from './handshake.js';
import { Outbox } from './outbox.js';
import {
  CHANNEL_ERROR, COMMAND_INVALID, CONNECTION_FORCED, FRAME_ERROR, INTERNAL_ERROR, NOT_ALLOWED, REPLY_SUCCESS, UNEXPECTED_FRAME,
} from './reply-codes.js';

const log = createLogger('amqp');

export interface ConnectionLimits {
  frameMax: number;
  channelMax: number;
  /** Heartbeat we propose in connection.tune, seconds (0 = none). */
  heartbeat: number;
  /** Time the peer has to complete the handshake, ms. */
  handshakeTimeout: number;
  /** A delivery unacked for longer closes its channel (406), ms; 0 = never. */
  consumerTimeout: number;
}

/** How long we wait for the peer's connection.close-ok before dropping the socket. */
const CLOSE_OK_TIMEOUT_MS = 2000;
/** Our outgoing buffer size above which consumers get no new deliveries until the socket drains. */
const WRITE_HIGH_WATER = 1024 * 1024;

type State = 'header' | 'start' | 'tune' | 'open' | 'opened' | 'closing' | 'closed';

/**
 * One AMQP 0-9-1 connection: the handshake (§2.2.4), channel 0, dispatch of frames to channels,
 * heartbeats (§4.2.7) and both directions of connection.close. Owns its channels; holds a
 * reference to its vhost. Transport-agnostic enough to take any net.Socket (TCP or TLS).
 */
export class AmqpConnection implements FrameHandler {
  readonly socket: Socket;
  readonly broker: Broker;
  readonly outbox: Outbox;
  readonly remote: string;
  readonly fromLoopback: boolean;
  /** The TLS session, on the amqps listener; undefined on plain TCP. */
  readonly tls: TlsPeer | undefined;
  vhost: VirtualHost | undefined;
  username = '';
  /** The user's permissions in `vhost` (set at connection.open); every channel checks against it. */
  access: VhostAccess | undefined;
  /** The user may set user_id to anyone (RabbitMQ's impersonator tag). */
  impersonator = false;
  clientProperties: FieldTable = {};
  consumerCancelNotify = false;
  /** For the management API's connection listing. */
  readonly connectedAt = Date.now();
  authMechanism = '';
  readonly channels = new Map<number, Channel>();
  /** Registered with the broker's stats while the socket lives (bytes are the socket's own counters). */
  readonly stats: ConnectionStats;
  #state: State = 'header';
  readonly #reader: FrameReader;
  readonly limits: ConnectionLimits;
  #frameMax: number;
  #channelMax: number;
  #heartbeat = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastReceived = Date.now();
  #lastFramesSent = 0;
  /** Not read because it published during a resource alarm; and whether it was told (connection.blocked). */
  #publishBlocked = false;
  #blockedNotified = false;
  readonly #onClosed: (c: AmqpConnection) => void;

  constructor(socket: Socket, broker: Broker, limits: ConnectionLimits, onClosed: (c: AmqpConnection) => void, tls?: TlsPeer) {
    this.socket = socket;
    this.tls = tls;
    this.broker = broker;
    this.limits = limits;
    this.#frameMax = limits.frameMax;
    this.#channelMax = limits.channelMax;
    this.#onClosed = onClosed;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.fromLoopback = isLoopback(socket.remoteAddress);
    this.outbox = new Outbox(socket);
    this.stats = broker.stats.connectionOpened(socket);
    this.#reader = new FrameReader(this, limits.frameMax);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('error', (err) => log.debug('socket error', { remote: this.remote, err }));
    socket.on('close', () => this.#cleanup());
    this.#timer = setTimeout(() => this.#handshakeTimedOut(), limits.handshakeTimeout);
  }

  get state(): State {
    return this.#state;
  }

  /** Consumers on this connection may get more deliveries only while the socket keeps up. */
  get writable(): boolean {
    return this.socket.writableLength + this.outbox.pendingBytes < WRITE_HIGH_WATER;
  }

  get frameMax(): number {
    return this.#frameMax;
  }

  get channelMax(): number {
    return this.#channelMax;
  }

  /** Negotiated heartbeat, seconds. */
  get heartbeat(): number {
    return this.#heartbeat;
  }

  /** Not read because it published during a resource alarm. */
  get publishBlocked(): boolean {
    return this.#publishBlocked;
  }

  #onData(chunk: Buffer): void {
    this.#lastReceived = Date.now();
    if (this.#state === 'closed') return;
    try {
      this.#reader.push(chunk);
    } catch (err) {
      try {
        this.#fail(err);
      } catch (failure) {
        // Reporting the error failed too: never let it escape into the event loop.
        log.error('could not report a connection error, dropping the connection', { remote: this.remote, err: failure });
        this.socket.destroy();
      }
    }
    // A peer that does not read what we send (returns, confirms, deliveries) is not read either.
    if (!this.writable && !this.socket.isPaused()) this.socket.pause();
  }

  #onDrain(): void {
    if (this.socket.isPaused() && this.#state !== 'closed' && !this.#publishBlocked) this.socket.resume();
    for (const ch of this.channels.values()) ch.resumeDeliveries();
  }

  /**
   * A channel got basic.publish. During a memory or disk alarm the connection stops being read
   * (after the data at hand) and, if the client understands it, is told with connection.blocked,
   * as RabbitMQ does; its consumers keep receiving.
   */
  publishing(): void {
    const alarms = this.broker.alarms;
    if (!alarms?.blocked || this.#publishBlocked) return;
    this.#publishBlocked = true;
    if (clientCapability(this.clientProperties, 'connection.blocked')) {
      this.#blockedNotified = true;
      this.outbox.writeMethod(0, { id: M.CONNECTION_BLOCKED, reason: alarms.reason });
    }
    this.socket.pause();
  }

  /** Every alarm cleared: a blocked publisher is read again (and told, if it was told it was blocked). */
  alarmChanged(blocked: boolean, _reason: string): void {
    if (blocked || !this.#publishBlocked) return;
    this.#publishBlocked = false;
    if (this.#blockedNotified && this.#state !== 'closed') this.outbox.writeMethod(0, { id: M.CONNECTION_UNBLOCKED });
    this.#blockedNotified = false;
    if (this.writable && this.#state !== 'closed') this.socket.resume();
  }

  onProtocolHeader(header: Buffer): void {
    if (!header.equals(PROTOCOL_HEADER)) {
      // §4.2.2: answer with the protocol header we do support, then close.
      this.socket.end(PROTOCOL_HEADER);
      this.#state = 'closed';
      return;
    }
    this.#state = 'start';
    this.outbox.writeMethod(0, {
      id: M.CONNECTION_START, versionMajor: 0, versionMinor: 9, serverProperties: serverProperties(),
      mechanisms: mechanisms(this.tls?.verified === true), locales: 'en_US',
    });
  }

  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    if (this.#state === 'closed') return;
    if (type === FRAME_HEARTBEAT) {
      if (channel !== 0) throw new AmqpError(FRAME_ERROR, 'heartbeat frame on a non-zero channel');
      return;
    }
    if (channel === 0) {
      if (type !== FRAME_METHOD) throw new AmqpError(UNEXPECTED_FRAME, `content frame (type ${type}) on channel 0`);
      this.#onConnectionMethod(M.decodeMethod(buf.subarray(start, end)));
      return;
    }
    if (this.#state === 'closing') return; // §2.2.4: after close, ignore all but close/close-ok
    if (this.#state !== 'opened') throw new AmqpError(COMMAND_INVALID, `frame on channel ${channel} before connection.open`);
    let ch = this.channels.get(channel);
    if (!ch) {
      if (type !== FRAME_METHOD) throw new AmqpError(CHANNEL_ERROR, `content frame on unopened channel ${channel}`);
      const m = M.decodeMethod(buf.subarray(start, end));
      if (m.id !== M.CHANNEL_OPEN) {
        throw new AmqpError(CHANNEL_ERROR, `expected 'channel.open' on channel ${channel}, got '${M.methodName(m.id)}'`, m.id >>> 16, m.id & 0xffff);
      }
      if (channel > this.#channelMax) {
        throw new AmqpError(NOT_ALLOWED, `channel ${channel} is above the negotiated channel_max ${this.#channelMax}`, m.id >>> 16, m.id & 0xffff);
      }
      ch = new Channel(this, channel);
      this.channels.set(channel, ch);
      this.outbox.writeMethod(channel, { id: M.CHANNEL_OPEN_OK });
      return;
    }
    ch.onFrame(type, buf, start, end);
  }

  #onConnectionMethod(m: AmqpMethod): void {
    switch (m.id) {
      case M.CONNECTION_START_OK: return this.#onStartOk(m);
      case M.CONNECTION_TUNE_OK: return this.#onTuneOk(m);
      case M.CONNECTION_OPEN: return this.#onOpen(m);
      case M.CONNECTION_CLOSE:
        this.#closeChannels();
        this.outbox.writeMethod(0, { id: M.CONNECTION_CLOSE_OK });
        this.outbox.flush();
        this.#finishClose();
        return;
      case M.CONNECTION_CLOSE_OK:
        if (this.#state === 'closing') {
          this.#finishClose();
          return;
        }
        break;
      case M.CONNECTION_UPDATE_SECRET:
        if (this.#state === 'opened') {
          this.outbox.writeMethod(0, { id: M.CONNECTION_UPDATE_SECRET_OK });
          return;
        }
        break;
      case M.CONNECTION_BLOCKED:
      case M.CONNECTION_UNBLOCKED:
        return; // a client may announce it is blocked; nothing for us to do
    }
    if (this.#state === 'closing') return;
    throw new AmqpError(COMMAND_INVALID, `unexpected '${M.methodName(m.id)}' on channel 0 in state '${this.#state}'`, m.id >>> 16, m.id & 0xffff);
  }

  #onStartOk(m: M.ConnectionStartOk): void {
    if (this.#state !== 'start') throw new AmqpError(COMMAND_INVALID, 'connection.start-ok out of order', 10, 11);
    this.clientProperties = m.clientProperties;
    this.consumerCancelNotify = clientCapability(m.clientProperties, 'consumer_cancel_notify');
    let user: User;
    if (m.mechanism === EXTERNAL) user = this.#externalLogin();
    else {
      const creds = parseSaslResponse(m.mechanism, m.response);
      user = this.broker.users.authenticate(creds.mechanism, creds.username, creds.password, this.fromLoopback);
    }
    this.username = user.name;
    this.impersonator = user.tags.includes('impersonator');
    this.authMechanism = m.mechanism;
    this.#state = 'tune';
    this.outbox.writeMethod(0, {
      id: M.CONNECTION_TUNE, channelMax: this.limits.channelMax, frameMax: this.limits.frameMax,
      heartbeat: this.limits.heartbeat,
    });
  }

  /**
   * SASL EXTERNAL (RabbitMQ's rabbitmq_auth_mechanism_ssl): the user is named by the verified
   * client certificate, and the client's response is ignored. Only offered on such connections;
   * asked for elsewhere it is refused as RabbitMQ refuses a mechanism it did not offer.
   */
  #externalLogin(): User {
    if (!this.tls?.verified) throw new AmqpError(COMMAND_INVALID, `invalid authentication mechanism '${EXTERNAL}'`, 10, 11);
    try {
      return this.broker.users.authenticateExternal(this.tls.login, this.fromLoopback);
    } catch (err) {
      // The 403 text is generic on purpose; the name taken from the certificate is what an operator needs.
      log.warn('EXTERNAL login refused', { remote: this.remote, user: this.tls.login ?? null, subject: this.tls.subject });
      throw err;
    }
  }

  #onTuneOk(m: M.ConnectionTuneOk): void {
    if (this.#state !== 'tune') throw new AmqpError(COMMAND_INVALID, 'connection.tune-ok out of order', 10, 31);
    const frameMax = m.frameMax === 0 ? this.limits.frameMax : m.frameMax;
    if (frameMax < FRAME_MIN_SIZE || frameMax > this.limits.frameMax) {
      throw new AmqpError(NOT_ALLOWED, `frame_max=${m.frameMax} outside ${FRAME_MIN_SIZE}..${this.limits.frameMax}`, 10, 31);
    }
    const channelMax = m.channelMax === 0 ? this.limits.channelMax : m.channelMax;
    if (channelMax > this.limits.channelMax) {
      throw new AmqpError(NOT_ALLOWED, `channel_max=${m.channelMax} > ${this.limits.channelMax} max`, 10, 31);
    }
    this.#frameMax = frameMax;
    this.#channelMax = channelMax;
    this.#reader.maxFrameSize = frameMax;
    this.outbox.frameMax = frameMax;
    this.#heartbeat = m.heartbeat;
    this.#state = 'open';
  }

  #onOpen(m: M.ConnectionOpen): void {
    if (this.#state !== 'open') throw new AmqpError(COMMAND_INVALID, 'connection.open out of order', 10, 40);
    const vhost = this.broker.getVhost(m.virtualHost);
    if (!vhost) throw new AmqpError(NOT_ALLOWED, `vhost '${m.virtualHost}' not found`, 10, 40);
    // RabbitMQ's first level of access control: some permissions in the vhost, or 530.
    const access = this.broker.vhostAccess(this.username, vhost.name);
    if (!access.hasVhostAccess) {
      const refused = vhostAccessRefused(vhost.name, this.username);
      throw new AmqpError(refused.replyCode, refused.text, 10, 40);
    }
    this.access = access;
    this.vhost = vhost;
    this.#state = 'opened';
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#heartbeat > 0) {
      this.#lastFramesSent = this.outbox.framesSent;
      this.#timer = setInterval(() => this.#heartbeatTick(), (this.#heartbeat * 1000) / 2);
      this.#timer.unref();
    }
    this.outbox.writeMethod(0, { id: M.CONNECTION_OPEN_OK });
    log.debug('connection opened', { remote: this.remote, user: this.username, vhost: vhost.name });
  }

  /** Every half interval: send a heartbeat if we sent nothing; drop a peer silent for two intervals. */
  #heartbeatTick(): void {
    // While we are not reading the socket (backpressure), the peer's heartbeats sit unread.
    if (this.socket.isPaused()) this.#lastReceived = Date.now();
    if (Date.now() - this.#lastReceived > this.#heartbeat * 2000) {
      log.warn('missed heartbeats from client, closing', { remote: this.remote, timeout_s: this.#heartbeat });
      this.socket.destroy();
      return;
    }
    if (this.outbox.framesSent === this.#lastFramesSent) this.outbox.writeHeartbeat();
    this.#lastFramesSent = this.outbox.framesSent;
  }

  #handshakeTimedOut(): void {
    if (this.#state === 'opened' || this.#state === 'closed') return;
    log.warn('handshake timed out', { remote: this.remote, state: this.#state });
    this.socket.destroy();
  }

  /** An error escaped frame handling: a hard error (or an unexpected exception) closes the connection. */
  #fail(err: unknown): void {
    if (err instanceof BrokerError) {
      const classId = err instanceof AmqpError ? err.classId : 0;
      const methodId = err instanceof AmqpError ? err.methodId : 0;
      this.close(err.replyCode, err.message, classId, methodId);
      return;
    }
    log.error('internal error, closing connection', { remote: this.remote, err, stack: (err as Error)?.stack });
    this.close(INTERNAL_ERROR, `INTERNAL_ERROR - ${(err as Error)?.message ?? String(err)}`, 0, 0);
  }

  /** Channel-level code reports a connection error through here. */
  connectionError(err: BrokerError, methodFullId: number): void {
    const classId = err instanceof AmqpError && err.classId ? err.classId : methodFullId >>> 16;
    const methodId = err instanceof AmqpError && err.classId ? err.methodId : methodFullId & 0xffff;
    this.close(err.replyCode, err.message, classId, methodId);
  }

  /**
   * Server-initiated connection.close (§1.4.2.5): channels are closed at once (unacked messages
   * go back to their queues), then we wait for close-ok, ignoring everything else.
   */
  close(replyCode: number, replyText: string, classId = 0, methodId = 0): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    const beforeHandshake = this.#state === 'header';
    if (replyCode !== REPLY_SUCCESS && replyCode !== CONNECTION_FORCED) {
      log.warn('closing connection', { remote: this.remote, reply_code: replyCode, reply_text: replyText });
    }
    this.#closeChannels();
    if (beforeHandshake) {
      this.#state = 'closed';
      this.socket.destroy();
      return;
    }
    this.#state = 'closing';
    this.#armCloseTimeout();
    this.outbox.writeMethod(0, { id: M.CONNECTION_CLOSE, replyCode, replyText: fitReplyText(replyText), classId, methodId });
    this.outbox.flush();
  }

  /** Whatever the peer does next, the socket goes away within CLOSE_OK_TIMEOUT_MS. */
  #armCloseTimeout(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    this.#timer = setTimeout(() => this.socket.destroy(), CLOSE_OK_TIMEOUT_MS);
    this.#timer.unref();
  }

  /** Resolves once the socket is gone (used by a graceful broker shutdown). */
  closed(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /** The AMQP connection is over (close/close-ok exchanged): free its resources, end the socket. */
  #finishClose(): void {
    this.#state = 'closed';
    this.vhost?.removeQueuesOwnedBy(this);
    this.#armCloseTimeout(); // a peer that keeps the socket half-open is dropped
    this.socket.end();
  }

  #closeChannels(): void {
    for (const ch of this.channels.values()) ch.release();
    this.channels.clear();
  }

  channelClosed(id: number): void {
    this.channels.delete(id);
  }

  #cleanup(): void {
    this.#state = 'closed';
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    this.#closeChannels();
    this.vhost?.removeQueuesOwnedBy(this);
    this.broker.stats.connectionClosed(this.stats);
    this.#onClosed(this);
    log.debug('connection closed', { remote: this.remote });
  }
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
