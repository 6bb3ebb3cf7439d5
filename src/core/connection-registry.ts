import type { FieldTable } from '../protocol/amqp/codec/field-table.js';
import type { Queue } from './queue/queue.js';

/**
 * What a protocol front-end tells the operations surface (management API, CLI) about its client
 * connections, in protocol-neutral terms: the management API lists and closes connections through
 * this, so it depends on the core only, never on a protocol's connection classes.
 */
export interface ConnectionRegistry {
  /** A snapshot of every open connection (cheap: no message data). */
  list(): ConnectionInfo[];
  /** Force-closes a connection by name (RabbitMQ: 320 CONNECTION_FORCED with `reason`); false when there is none. */
  close(name: string, reason: string): boolean;
}

export interface ConnectionInfo {
  /** Unique while open, as RabbitMQ names them: "peer_host:peer_port -> host:port". */
  readonly name: string;
  readonly protocol: string;
  /** Undefined until the client opened a vhost. */
  readonly vhost: string | undefined;
  readonly user: string;
  readonly state: 'starting' | 'running' | 'blocked' | 'closing';
  readonly peerHost: string;
  readonly peerPort: number;
  readonly host: string;
  readonly port: number;
  readonly connectedAt: number;
  /** Negotiated heartbeat, seconds. */
  readonly timeout: number;
  readonly frameMax: number;
  readonly channelMax: number;
  readonly authMechanism: string;
  readonly clientProperties: FieldTable;
  readonly recvOct: number;
  readonly sendOct: number;
  readonly channels: ChannelInfo[];
  /** The TLS session, for connections that have one. */
  readonly tls?: TlsInfo | undefined;
}

export interface TlsInfo {
  readonly protocol: string;
  readonly cipher: string;
  /** The client certificate's subject and issuer (RFC 4514), when it presented one. */
  readonly peerCertSubject: string | undefined;
  readonly peerCertIssuer: string | undefined;
}

export interface ChannelInfo {
  readonly number: number;
  readonly prefetchCount: number;
  readonly globalPrefetchCount: number;
  readonly unacknowledged: number;
  readonly confirm: boolean;
  readonly transactional: boolean;
  readonly state: 'running' | 'closing';
  readonly consumers: ConsumerInfo[];
}

export interface ConsumerInfo {
  readonly tag: string;
  readonly queue: Queue;
  readonly ackRequired: boolean;
  readonly exclusive: boolean;
  readonly prefetchCount: number;
  readonly priority: number;
  /** False for a waiting consumer of a single-active-consumer queue. */
  readonly active: boolean;
}
