/**
 * The live message trace (GET /api/trace/{vhost}, Server-Sent Events): the events' shape and a
 * client that runs one stream until it ends, is refused, or its signal aborts it.
 */
import { enc, openStream } from './api.js';
import { readSse } from './sse.js';

/** What to watch; empty strings match everything. */
export interface TraceFilter {
  type: '' | 'publish' | 'deliver';
  /** "amq.default" for the default exchange, as in the API's paths. */
  exchange: string;
  queue: string;
  /** Exact, or a topic pattern with `*` and `#`. */
  routingKey: string;
  /** Payload bytes per event. */
  truncate: number;
}

/** `event: open`: the stream is running. */
export interface TraceOpen {
  vhost: string;
  /** The stream's own server-named queue. */
  queue: string;
  /** The vhost's own tracing switch (the stream traces whatever it says). */
  tracing: boolean;
}

/** One traced publish or delivery. */
export interface TraceEvent {
  type: 'publish' | 'deliver';
  timestamp: number;
  vhost: string;
  /** "" for the default exchange. */
  exchange: string;
  /** The queue delivered from (null for a publish). */
  queue: string | null;
  routed_queues?: string[];
  redelivered?: boolean;
  routing_keys: string[];
  properties: Record<string, unknown>;
  payload: string;
  payload_encoding: 'string' | 'base64';
  payload_bytes: number;
  payload_truncated: boolean;
  user: string | null;
  connection: string | null;
  channel: number | null;
  node: string | null;
}

export interface TraceHandlers {
  open(o: TraceOpen): void;
  event(e: TraceEvent): void;
}

export function tracePath(vhost: string, f: TraceFilter): string {
  const qs = new URLSearchParams();
  if (f.type) qs.set('type', f.type);
  if (f.exchange) qs.set('exchange', f.exchange);
  if (f.queue) qs.set('queue', f.queue);
  if (f.routingKey) qs.set('routing_key', f.routingKey);
  qs.set('truncate', String(f.truncate));
  return `/api/trace/${enc(vhost)}?${qs}`;
}

/**
 * Runs one trace stream. Resolves with the server's reason when the server ends it (`event: end`,
 * or "connection closed" when the body just ends); rejects with ApiError when refused, or with an
 * AbortError when `signal` aborts it.
 */
export async function runTrace(vhost: string, filter: TraceFilter, signal: AbortSignal, handlers: TraceHandlers): Promise<string> {
  const body = await openStream(tracePath(vhost, filter), signal);
  let reason = 'connection closed';
  await readSse(body, (e) => {
    if (e.event === 'open') handlers.open(JSON.parse(e.data) as TraceOpen);
    else if (e.event === 'end') reason = (JSON.parse(e.data) as { reason?: string }).reason ?? reason;
    else if (e.event === 'message') handlers.event(JSON.parse(e.data) as TraceEvent);
  });
  return reason;
}
