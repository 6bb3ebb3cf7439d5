/**
 * A live trace for the management UI (Warren extension; RabbitMQ's nearest equivalent is the
 * rabbitmq_tracing plugin, which writes trace files). One TraceStream is one HTTP client reading
 * Server-Sent Events: an internal consumer on its own server-named exclusive queue, bound to the
 * vhost's amq.rabbitmq.trace with `publish.#` and `deliver.#`, that turns each firehose copy it
 * receives into a JSON event, filtered here on the server.
 *
 * While a stream is open the vhost traces, whatever its switch says (core/trace.ts TraceSwitch):
 * the page works without an operator turning the firehose on and off around it.
 *
 * Backpressure: the consumer accepts only while the response stream has room (its high-water
 * mark); beyond that the firehose copies wait in the queue, which keeps the newest
 * MAX_BACKLOG (x-max-length, drop-head): a slow client loses the oldest events, the broker's
 * memory stays bounded.
 */
import type { Consumer } from '../core/queue/consumer.js';
import type { Queue } from '../core/queue/queue.js';
import type { Message } from '../core/message.js';
import { TRACE_EXCHANGE } from '../core/trace.js';
import type { VirtualHost } from '../core/vhost.js';
import type { FieldTable } from '../protocol/amqp/codec/field-table.js';
import type { QueueEntry } from '../store/queue-store.js';
import type { Json } from './json-values.js';
import { fieldToJson, tableToJson } from './json-values.js';

/** Copies waiting for a slow client, at most. */
const MAX_BACKLOG = 10_000;
/** Encoded events buffered in the response stream before the consumer stops accepting. */
const HIGH_WATER_EVENTS = 256;
/** An SSE comment this often keeps proxies and idle-timeouts from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

/** What a client asked to see; every field absent matches everything. */
export interface TraceFilter {
  type?: 'publish' | 'deliver';
  /** The exchange the message was published to ('' the default exchange). */
  exchange?: string;
  /** Deliveries from this queue, and publishes routed to it. */
  queue?: string;
  /** One of the message's routing keys (with CC/BCC); `*` and `#` match as in a topic binding. */
  routingKey?: string;
  /** Payload bytes shown per event. */
  truncate: number;
}

const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class TraceStream implements Consumer {
  readonly tag = 'warren.trace-stream';
  readonly noAck = true;
  readonly exclusive = true;
  readonly priority = 0;
  /** The response body. */
  readonly body: ReadableStream<Uint8Array>;
  readonly #vhost: VirtualHost;
  readonly #filter: TraceFilter;
  readonly #queue: Queue;
  readonly #matchKey: ((key: string) => boolean) | undefined;
  readonly #unwatch: () => void;
  readonly #onClose: (s: TraceStream) => void;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  #seq = 0;

  constructor(vhost: VirtualHost, filter: TraceFilter, onClose: (s: TraceStream) => void) {
    this.#vhost = vhost;
    this.#filter = filter;
    this.#onClose = onClose;
    this.#matchKey = filter.routingKey === undefined ? undefined : keyMatcher(filter.routingKey);
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      // The client read: there is room again for what waits in the queue.
      pull: () => this.#queue.drain(),
      cancel: () => this.close(),
    }, new CountQueuingStrategy({ highWaterMark: HIGH_WATER_EVENTS }));
    // Owned by this stream (exclusive): it goes when the stream closes, and never into the definitions.
    this.#queue = vhost.declareQueue('', {
      durable: false, exclusive: true, autoDelete: false, arguments: { 'x-max-length': MAX_BACKLOG },
    }, false, this);
    const ex = vhost.getExchange(TRACE_EXCHANGE);
    // Only the kinds of event asked for reach the queue; the other filters need the headers.
    if (filter.type !== 'deliver') vhost.bind(ex, this.#queue, 'publish.#', {});
    if (filter.type !== 'publish') vhost.bind(ex, this.#queue, 'deliver.#', {});
    this.#unwatch = vhost.trace.watch();
    this.#send(`: warren trace stream\nretry: 5000\nevent: open\ndata: ${JSON.stringify({
      vhost: vhost.name, queue: this.#queue.name, tracing: vhost.trace.switchedOn, filter: filterJson(filter),
    })}\n\n`);
    this.#heartbeat = setInterval(() => this.#send(': keep-alive\n\n'), HEARTBEAT_MS);
    this.#heartbeat.unref();
    this.#queue.addConsumer(this);
  }

  get queueName(): string {
    return this.#queue.name;
  }

  canAccept(): boolean {
    return !this.#closed && (this.#controller.desiredSize ?? 0) > 0;
  }

  deliver(_queue: Queue, entry: QueueEntry): void {
    const event = this.#event(entry.message);
    if (event) this.#send(`id: ${++this.#seq}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  /** The queue was deleted under us (vhost deleted, or an operator deleted it): the stream ends. */
  cancelledByServer(): void {
    this.close('queue deleted');
  }

  /** Ends the stream (client gone, broker stopping): the queue goes, the vhost's tracing need too. */
  close(reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#unwatch();
    this.#queue.removeConsumer(this);
    this.#vhost.removeQueue(this.#queue);
    if (reason !== undefined) this.#send(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`, true);
    try {
      this.#controller.close();
    } catch {
      // Cancelled by the reader already.
    }
    this.#onClose(this);
  }

  #send(text: string, evenIfClosed = false): void {
    if (this.#closed && !evenIfClosed) return;
    try {
      this.#controller.enqueue(encoder.encode(text));
    } catch {
      // The reader cancelled; close() follows from cancel().
    }
  }

  /** The firehose copy as the event the client sees, or undefined when the filter says no. */
  #event(copy: Message): { [key: string]: Json } | undefined {
    const f = this.#filter;
    const h: FieldTable = copy.headers ?? {};
    const isPublish = copy.routingKey.startsWith('publish.');
    const exchange = String(fieldToJson(h.exchange_name ?? ''));
    const routingKeys = Array.isArray(h.routing_keys) ? h.routing_keys.map((k) => String(fieldToJson(k))) : [];
    const routed = isPublish && Array.isArray(h.routed_queues) ? h.routed_queues.map((q) => String(fieldToJson(q))) : undefined;
    const queue = isPublish ? null : copy.routingKey.slice('deliver.'.length);
    if (f.exchange !== undefined && exchange !== f.exchange) return undefined;
    if (f.queue !== undefined && (isPublish ? !routed!.includes(f.queue) : queue !== f.queue)) return undefined;
    if (this.#matchKey && !routingKeys.some(this.#matchKey)) return undefined;
    const body = copy.body;
    const shown = body.length > f.truncate ? body.subarray(0, f.truncate) : body;
    const payload = payloadText(shown, shown.length < body.length);
    const event: { [key: string]: Json } = {
      type: isPublish ? 'publish' : 'deliver',
      timestamp: copy.timestamp,
      vhost: this.#vhost.name,
      exchange,
      queue,
      routing_keys: routingKeys,
      properties: h.properties && typeof h.properties === 'object' ? tableToJson(h.properties as FieldTable) : {},
      payload: payload ?? shown.toString('base64'),
      payload_encoding: payload === undefined ? 'base64' : 'string',
      payload_bytes: body.length,
      payload_truncated: shown.length < body.length,
      user: str(h.user),
      connection: str(h.connection),
      channel: typeof h.channel === 'number' ? h.channel : null,
      node: str(h.node),
    };
    if (isPublish) event.routed_queues = routed!;
    else event.redelivered = h.redelivered === 1;
    return event;
  }
}

function str(v: FieldTable[string] | undefined): string | null {
  return v === undefined ? null : String(fieldToJson(v));
}

/** UTF-8 text when the bytes are valid UTF-8 (truncation in the middle of a character is trimmed), else undefined. */
function payloadText(bytes: Buffer, truncated: boolean): string | undefined {
  for (let cut = 0; cut <= (truncated ? 3 : 0) && cut <= bytes.length; cut++) {
    try {
      return utf8.decode(bytes.subarray(0, bytes.length - cut));
    } catch {
      // Try without a partial trailing character (only a truncated payload ends in one).
    }
  }
  return undefined;
}

function filterJson(f: TraceFilter): { [key: string]: Json } {
  const out: { [key: string]: Json } = { truncate: f.truncate };
  if (f.type !== undefined) out.type = f.type;
  if (f.exchange !== undefined) out.exchange = f.exchange;
  if (f.queue !== undefined) out.queue = f.queue;
  if (f.routingKey !== undefined) out.routing_key = f.routingKey;
  return out;
}

/** Exact match, or topic-binding semantics when the pattern has a `*` or `#` word. */
export function keyMatcher(pattern: string): (key: string) => boolean {
  const words = pattern.split('.');
  if (!words.includes('*') && !words.includes('#')) return (key) => key === pattern;
  return (key) => matchWords(words, 0, key.split('.'), 0);
}

function matchWords(p: string[], i: number, k: string[], j: number): boolean {
  if (i === p.length) return j === k.length;
  const w = p[i]!;
  if (w === '#') {
    for (let n = j; n <= k.length; n++) if (matchWords(p, i + 1, k, n)) return true;
    return false;
  }
  if (j === k.length) return false;
  return (w === '*' || w === k[j]) && matchWords(p, i + 1, k, j + 1);
}
