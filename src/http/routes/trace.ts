import type { Hono } from 'hono';
import type { ApiContext, ApiCtx, ApiEnv } from '../api-context.js';
import { exchangeNameParam, vhostParam } from '../api-context.js';
import { badRequest } from '../errors.js';
import type { TraceFilter } from '../trace-stream.js';
import { TraceStream } from '../trace-stream.js';

const DEFAULT_TRUNCATE = 2048;
const MAX_TRUNCATE = 1024 * 1024;

/**
 * GET /api/trace/{vhost}?type=&exchange=&queue=&routing_key=&truncate= (Warren extension): a live
 * firehose trace of the vhost as Server-Sent Events, for as long as the client stays connected
 * (http/trace-stream.ts has the event format). Administrator or monitoring users only: events
 * carry message contents. `streams` are the open ones, closed when the server stops.
 */
export function traceRoutes(app: Hono<ApiEnv>, ctx: ApiContext, streams: Set<TraceStream>): void {
  app.get('/api/trace/:vhost', (c) => {
    const principal = c.get('principal');
    principal.requireMonitor();
    const v = vhostParam(c, ctx);
    const stream = new TraceStream(v, traceFilter(c), (s) => streams.delete(s));
    streams.add(stream);
    return c.body(stream.body, 200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      // Reverse proxies (nginx) would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    });
  });
}

function traceFilter(c: ApiCtx): TraceFilter {
  const q = (name: string): string | undefined => {
    const v = c.req.query(name);
    return v === undefined || v === '' ? undefined : v;
  };
  const type = q('type');
  if (type !== undefined && type !== 'publish' && type !== 'deliver') throw badRequest('type must be "publish" or "deliver"');
  const truncate = q('truncate') === undefined ? DEFAULT_TRUNCATE : Number(q('truncate'));
  if (!Number.isInteger(truncate) || truncate < 0 || truncate > MAX_TRUNCATE) {
    throw badRequest(`truncate must be an integer from 0 to ${MAX_TRUNCATE}`);
  }
  const exchange = q('exchange');
  return {
    type, truncate, queue: q('queue'), routingKey: q('routing_key'),
    // The default exchange is "amq.default" in RabbitMQ's paths; an empty value means no filter.
    exchange: exchange === undefined ? undefined : exchangeNameParam(exchange),
  };
}
