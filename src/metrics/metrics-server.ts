import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { createGzip, gzip } from 'node:zlib';
import type { Broker } from '../core/broker.js';
import { createLogger } from '../log.js';
import { collectMetrics, collectPerObject } from './collect.js';
import { CONTENT_TYPE } from './exposition.js';
import { listenOn } from '../transport/listen.js';

const log = createLogger('metrics');

/**
 * The Prometheus endpoint (RabbitMQ's rabbitmq_prometheus, port 15692): `GET /metrics`
 * (aggregated, a few KB whatever the number of queues) and `GET /metrics/per-object` (one series
 * per queue, streamed in chunks, one chunk per event-loop turn). Plain node:http: two read-only
 * paths need no framework. Responses are gzipped when the scraper accepts it (Prometheus does):
 * per-object output is megabytes of very repetitive text.
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
    return listenOn(this.#server, 'metrics', port, host);
  }

  /** Stops listening and drops open connections (a scraper keeps one alive between scrapes). */
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
    const zip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    res.setHeader('Content-Type', CONTENT_TYPE);
    if (zip) res.setHeader('Content-Encoding', 'gzip');
    if (req.method === 'HEAD') return void res.end();
    try {
      if (perObject) this.#stream(res, zip);
      else this.#send(res, zip, collectMetrics(this.#broker, false));
    } catch (err) {
      log.error('could not collect metrics', { err });
      res.removeHeader('Content-Encoding');
      plain(res, 500, 'Internal Server Error\n');
    }
  }

  #send(res: ServerResponse, zip: boolean, body: string): void {
    if (!zip) {
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(body);
      return;
    }
    gzip(body, (err, zipped) => {
      if (err) return void res.destroy(err);
      res.setHeader('Content-Length', zipped.length);
      res.end(zipped);
    });
  }

  /** Writes the per-object chunks one event-loop turn apart, waiting for `drain` when the client is slow. */
  #stream(res: ServerResponse, zip: boolean): void {
    const chunks = collectPerObject(this.#broker);
    let sink: Writable = res;
    if (zip) {
      const z = createGzip();
      z.pipe(res);
      sink = z;
    }
    let gone = false;
    res.once('close', () => (gone = true));
    const pump = (): void => {
      if (gone) return void chunks.return();
      let next: IteratorResult<string>;
      try {
        next = chunks.next();
      } catch (err) {
        // Headers are out: all we can do is cut the response short, which the scraper sees as a failure.
        log.error('could not collect metrics', { err });
        return void res.destroy();
      }
      if (next.done) return void sink.end();
      if (sink.write(next.value)) setImmediate(pump);
      else sink.once('drain', pump);
    };
    pump();
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text);
}
