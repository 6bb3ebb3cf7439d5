import type { ChannelInfo, ConnectionInfo, ConnectionRegistry, ConsumerInfo } from '../../core/connection-registry.js';
import type { Channel } from './channel.js';
import type { AmqpConnection } from './connection.js';
import { CONNECTION_FORCED } from './reply-codes.js';

/**
 * The AMQP front-end's connections as the management API sees them (core/connection-registry.ts).
 * Built on demand from the live objects: nothing is tracked on the hot path for it.
 */
export class AmqpConnectionRegistry implements ConnectionRegistry {
  readonly #connections: ReadonlySet<AmqpConnection>;
  /** Names are computed once: a socket's addresses are gone once it is destroyed. */
  readonly #names = new WeakMap<AmqpConnection, string>();

  constructor(connections: ReadonlySet<AmqpConnection>) {
    this.#connections = connections;
  }

  list(): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    for (const conn of this.#connections) if (conn.state !== 'closed') out.push(this.#describe(conn));
    return out;
  }

  close(name: string, reason: string): boolean {
    for (const conn of this.#connections) {
      if (conn.state === 'closed' || this.#name(conn) !== name) continue;
      // RabbitMQ's wording for a connection closed by an operator.
      conn.close(CONNECTION_FORCED, `CONNECTION_FORCED - ${reason}`);
      return true;
    }
    return false;
  }

  #name(conn: AmqpConnection): string {
    let name = this.#names.get(conn);
    if (name === undefined) {
      name = `${conn.remote} -> ${conn.socket.localAddress}:${conn.socket.localPort}`;
      this.#names.set(conn, name);
    }
    return name;
  }

  #describe(conn: AmqpConnection): ConnectionInfo {
    const s = conn.socket;
    const state = conn.state === 'opened' ? (conn.publishBlocked ? 'blocked' : 'running') : conn.state === 'closing' ? 'closing' : 'starting';
    return {
      name: this.#name(conn),
      protocol: 'AMQP 0-9-1',
      vhost: conn.vhost?.name,
      user: conn.username,
      state,
      peerHost: s.remoteAddress ?? '',
      peerPort: s.remotePort ?? 0,
      host: s.localAddress ?? '',
      port: s.localPort ?? 0,
      connectedAt: conn.connectedAt,
      timeout: conn.heartbeat,
      frameMax: conn.frameMax,
      channelMax: conn.channelMax,
      authMechanism: conn.authMechanism,
      clientProperties: conn.clientProperties,
      recvOct: s.bytesRead,
      sendOct: s.bytesWritten,
      channels: [...conn.channels.values()].map(describeChannel),
      tls: conn.tls && { protocol: conn.tls.protocol, cipher: conn.tls.cipher, peerCertSubject: conn.tls.subject, peerCertIssuer: conn.tls.issuer },
    };
  }
}

function describeChannel(ch: Channel): ChannelInfo {
  const consumers: ConsumerInfo[] = [];
  for (const c of ch.consumers.values()) {
    const list = c.queue.consumerList;
    consumers.push({
      tag: c.tag, queue: c.queue, ackRequired: !c.noAck, exclusive: c.exclusive, prefetchCount: c.prefetch,
      priority: c.priority, active: !list.singleActive || list.active === c,
    });
  }
  return {
    number: ch.id,
    prefetchCount: ch.deliveries.consumerPrefetch,
    globalPrefetchCount: ch.deliveries.channelPrefetch,
    unacknowledged: ch.deliveries.unackedCount,
    confirm: ch.confirmMode,
    transactional: ch.transactional,
    state: ch.open ? 'running' : 'closing',
    consumers,
  };
}
