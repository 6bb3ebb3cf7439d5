import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { Broker } from '../../core/broker.js';
import { createLogger } from '../../log.js';
import type { TlsPeer, TlsSettings } from '../../transport/tls.js';
import { acceptsPeer, tlsPeer, tlsServerOptions } from '../../transport/tls.js';
import type { ConnectionLimits } from './connection.js';
import { AmqpConnection } from './connection.js';
import { CONNECTION_FORCED } from './reply-codes.js';
import { listenOn } from '../../transport/listen.js';

const log = createLogger('amqp');

/**
 * The AMQP 0-9-1 listeners: plain TCP, and TLS (amqps) when a certificate is configured. Both feed
 * the same connection handling and one set of connections, tracked for shutdown and the
 * management API. RabbitMQ also keeps 5672 open next to 5671.
 */
export class AmqpServer {
  readonly #broker: Broker;
  readonly #limits: ConnectionLimits;
  readonly #server: Server;
  readonly #tlsServer: Server | undefined;
  /** Raw sockets of the TLS listener, so shutdown can drop those still in the TLS handshake. */
  readonly #tlsRaw = new Set<Socket>();
  readonly connections = new Set<AmqpConnection>();

  constructor(broker: Broker, limits: ConnectionLimits, tls?: TlsSettings) {
    broker.alarms?.onChange((blocked, reason) => {
      for (const conn of this.connections) conn.alarmChanged(blocked, reason);
    });
    // A deleted vhost or user takes its connections with it (RabbitMQ closes them with 320 too).
    broker.onForceClose(({ vhost, user, reason }) => {
      for (const conn of this.connections) {
        if ((vhost === undefined || conn.vhost?.name === vhost) && (user === undefined || conn.username === user)) {
          conn.close(CONNECTION_FORCED, forcedText(reason));
        }
      }
    });
    this.#broker = broker;
    this.#limits = limits;
    this.#server = createServer((socket) => this.#accept(socket, undefined));
    if (tls) {
      // The TLS handshake gets the same time limit as the AMQP one that follows.
      const server = createTlsServer(tlsServerOptions(tls, limits.handshakeTimeout), (socket: TLSSocket) => {
        if (!acceptsPeer(socket, tls.verify)) return void socket.destroy();
        this.#accept(socket, tlsPeer(socket, tls.certLoginFrom));
      });
      server.on('connection', (raw: Socket) => {
        this.#tlsRaw.add(raw);
        raw.once('close', () => this.#tlsRaw.delete(raw));
      });
      server.on('tlsClientError', (err, socket) => {
        log.debug('TLS handshake failed', { remote: socket.remoteAddress, err: err.message });
        // Node reports a handshake timeout here but leaves the socket open (a client that never
        // sends a ClientHello would hold it forever): drop it.
        socket.destroy();
      });
      this.#tlsServer = server;
    }
  }

  #accept(socket: Socket, tls: TlsPeer | undefined): void {
    const conn = new AmqpConnection(socket, this.#broker, this.#limits, (c) => this.connections.delete(c), tls);
    this.connections.add(conn);
  }

  /** Listens on TCP; resolves with the bound port, rejects with a one-line message when the port is taken. */
  listen(port: number, host: string | undefined): Promise<number> {
    return listenOn(this.#server, 'AMQP', port, host);
  }

  /** Listens for amqps (only when constructed with TLS settings). */
  listenTls(port: number, host: string | undefined): Promise<number> {
    if (!this.#tlsServer) throw new Error('AMQP server has no TLS settings');
    return listenOn(this.#tlsServer, 'AMQPS', port, host);
  }

  /**
   * Graceful stop: no new connections; every client gets connection.close 320 CONNECTION_FORCED
   * and a moment to answer close-ok before its socket is dropped.
   */
  async close(reason: string): Promise<void> {
    const closing = [this.#server, this.#tlsServer].filter((s): s is Server => s !== undefined && s.listening)
      .map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    const text = forcedText(reason);
    const waits: Promise<void>[] = [];
    for (const conn of this.connections) {
      conn.close(CONNECTION_FORCED, text);
      waits.push(conn.closed());
    }
    await Promise.all(waits);
    // A client still in (or stalled in) the TLS handshake has no AMQP connection to close; without
    // this, server.close() would wait for the handshake timeout.
    for (const raw of this.#tlsRaw) raw.destroy();
    await Promise.all(closing);
  }
}

function forcedText(reason: string): string {
  return `CONNECTION_FORCED - broker forced connection closure with reason '${reason}'`;
}
