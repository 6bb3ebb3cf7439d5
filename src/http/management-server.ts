import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { createLogger } from '../log.js';
import type { TlsSettings } from '../transport/tls.js';
import type { ApiContext, ApiEnv } from './api-context.js';
import { authenticate } from './auth.js';
import { notFound, toHttpError } from './errors.js';
import { bindingRoutes } from './routes/bindings.js';
import { connectionRoutes } from './routes/connections.js';
import { definitionRoutes } from './routes/definitions.js';
import { exchangeRoutes } from './routes/exchanges.js';
import { healthRoutes } from './routes/health.js';
import { overviewRoutes } from './routes/overview.js';
import { policyRoutes } from './routes/policies.js';
import { queueRoutes } from './routes/queues.js';
import { userRoutes } from './routes/users.js';
import { traceRoutes } from './routes/trace.js';
import { vhostRoutes } from './routes/vhosts.js';
import type { TraceStream } from './trace-stream.js';
import { staticUiRoutes } from './static-ui.js';
import { listenOn } from '../transport/listen.js';
import { writeBarrier } from '../core/write-barrier.js';

const log = createLogger('http');

/** The management API and the web UI as a Hono app (exported for tests that want to call it without a socket). */
export function createManagementApp(ctx: ApiContext, traces = new Set<TraceStream>(), uiDir?: string): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.onError((err, c) => {
    const e = toHttpError(err);
    if (e.status === 500) log.error('management API request failed', { method: c.req.method, path: c.req.path, err, stack: (err as Error).stack });
    // The web UI sends X-Requested-With and shows its own login form: no challenge, so the browser
    // does not pop up its own password dialog over it (RabbitMQ's UI avoids the dialog the same way).
    if (e.challenge && !c.req.header('x-requested-with')) c.header('WWW-Authenticate', 'Basic realm="RabbitMQ Management"');
    return c.json({ error: e.error, reason: e.reason }, e.status);
  });
  app.notFound((c) => c.json({ error: notFound().error, reason: notFound().reason }, 404));
  // A change the request made to durable definitions is on disk before its response leaves.
  app.use('/api/*', async (_c, next) => {
    await next();
    writeBarrier();
  });
  app.use('/api/*', authenticate(ctx));
  overviewRoutes(app, ctx);
  vhostRoutes(app, ctx);
  userRoutes(app, ctx);
  connectionRoutes(app, ctx);
  exchangeRoutes(app, ctx);
  queueRoutes(app, ctx);
  bindingRoutes(app, ctx);
  policyRoutes(app, ctx);
  definitionRoutes(app, ctx);
  healthRoutes(app, ctx);
  traceRoutes(app, ctx, traces);
  // Last, so every /api path is the API's (and an unknown one its JSON 404); the rest is the web UI.
  staticUiRoutes(app, uiDir);
  return app;
}

/**
 * The management HTTP listener (design.md "Operations surface"); HTTPS when given TLS settings.
 * HTTPS here authenticates the server only: API clients still log in with basic auth, so the
 * client-certificate settings of the AMQP listener do not apply (RabbitMQ configures them apart too).
 */
export class ManagementServer {
  readonly #server: Server;
  /** Live trace streams: they never end by themselves, so close() ends them. */
  readonly #traces = new Set<TraceStream>();

  constructor(ctx: ApiContext, tls?: TlsSettings) {
    const app = createManagementApp(ctx, this.#traces);
    // overrideGlobalObjects: false, so embedding Warren never swaps the host program's Request/Response.
    this.#server = (tls
      ? createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false, createServer: createHttpsServer,
        serverOptions: { cert: tls.cert, key: tls.key, minVersion: tls.minVersion } })
      : createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false })) as Server;
  }

  /** Listens; resolves with the bound port, rejects with a one-line message when the port is taken. */
  listen(port: number, host: string | undefined): Promise<number> {
    return listenOn(this.#server, 'management', port, host);
  }

  /** Stops listening and drops idle keep-alive connections, so shutdown does not wait for clients. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const streams = this.#traces.size;
      for (const t of [...this.#traces]) t.close('server stopping');
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
      // Requests still running get a moment; a client holding a socket open does not hold up
      // shutdown. A trace stream ends a tick or two after close(): its socket needs only that long.
      setTimeout(() => this.#server.closeAllConnections(), streams > 0 ? 50 : 1000).unref();
    });
  }
}
