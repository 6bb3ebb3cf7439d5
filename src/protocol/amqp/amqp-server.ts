import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Broker } from '../../core/broker.js';
import type { ConnectionLimits } from './connection.js';
import { AmqpConnection } from './connection.js';
import { CONNECTION_FORCED } from './reply-codes.js';

/** The AMQP 0-9-1 TCP listener: accepts sockets and tracks their connections for shutdown. */
export class AmqpServer {
  readonly #broker: Broker;
  readonly #limits: ConnectionLimits;
  readonly #server: Server;
  readonly connections = new Set<AmqpConnection>();

  constructor(broker: Broker, limits: ConnectionLimits) {
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
    this.#server = createServer((socket) => this.#accept(socket));
  }

  #accept(socket: Socket): void {
    const conn = new AmqpConnection(socket, this.#broker, this.#limits, (c) => this.connections.delete(c));
    this.connections.add(conn);
  }

  /** Listens; resolves with the bound port, rejects with a one-line message when the port is taken. */
  listen(port: number, host: string | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const where = `${host ?? '0.0.0.0'}:${port}`;
        if (err.code === 'EADDRINUSE') reject(new Error(`AMQP port ${where} is already in use`));
        else if (err.code === 'EACCES') reject(new Error(`no permission to listen on AMQP port ${where}`));
        else reject(new Error(`cannot listen on AMQP port ${where}: ${err.message}`));
      };
      this.#server.once('error', onError);
      this.#server.listen({ port, host }, () => {
        this.#server.off('error', onError);
        const addr = this.#server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /**
   * Graceful stop: no new connections; every client gets connection.close 320 CONNECTION_FORCED
   * and a moment to answer close-ok before its socket is dropped.
   */
  async close(reason: string): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const text = forcedText(reason);
    const waits: Promise<void>[] = [];
    for (const conn of this.connections) {
      conn.close(CONNECTION_FORCED, text);
      waits.push(conn.closed());
    }
    await Promise.all(waits);
    await serverClosed;
  }
}

function forcedText(reason: string): string {
  return `CONNECTION_FORCED - broker forced connection closure with reason '${reason}'`;
}
