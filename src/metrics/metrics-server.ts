import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { gzip } from 'node:zlib';
import type { Broker } from '../core/broker.js';
import { createLogger } from '../log.js';
import { collectMetrics } from './collect.js';
import { CONTENT_TYPE } from './exposition.js';

const log = createLogger('metrics');

/**
 * The Prometheus endpoint (RabbitMQ's rabbitmq_prometheus, port 15692): `GET /metrics`
 * (aggregated) and `GET /metrics/per-object` (one series per queue). Plain node:http: two read-only
 * paths need no framework. Responses are gzipped when the scraper accepts it (Prometheus does):
 * per-object output for 10k queues is megabytes of very repetitive text.
 */
export class MetricsServer {
  readonly #broker: Broker;
  readonly #server: Server;

  constructor(broker: Broker) {
    this.#broker = broker;
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** Listens; resolves with the bound port, rejects with a one-line message when the port is taken. */
  listen(port: number, host: string | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const where = `${host ?? '0.0.0.0'}:${port}`;
        if (err.code === 'EADDRINUSE') reject(new Error(`metrics port ${where} is already in use`));
        else if (err.code === 'EACCES') reject(new Error(`no permission to listen on metrics port ${where}`));
        else reject(new Error(`cannot listen on metrics port ${where}: ${err.message}`));
      };
      this.#server.once('error', onError);
      this.#server.listen({ port, host }, () => {
        this.#server.off('error', onError);
        const addr = this.#server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /** Stops listening and drops idle keep-alive connections (a scraper keeps one open). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0];
    const perObject = path === '/metrics/per-object';
    if (path !== '/metrics' && !perObject) return plain(res, 404, 'Not Found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return plain(res, 405, 'Method Not Allowed\n');
    }
    let body: string;
    try {
      body = collectMetrics(this.#broker, perObject);
    } catch (err) {
      log.error('could not collect metrics', { err });
      return plain(res, 500, 'Internal Server Error\n');
    }
    res.setHeader('Content-Type', CONTENT_TYPE);
    if (!/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    gzip(body, (err, zipped) => {
      if (err) return plain(res, 500, 'Internal Server Error\n');
      res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('Content-Length', zipped.length);
      res.end(req.method === 'HEAD' ? undefined : zipped);
    });
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text);
}
