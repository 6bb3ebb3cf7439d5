import type { BasicProperties } from '../protocol/amqp/codec/properties.js';
import { decodeProperties, readDeliveryMode } from '../protocol/amqp/codec/properties.js';
import type { FieldTable } from '../protocol/amqp/codec/field-table.js';

/**
 * A published message as the core keeps it.
 *
 * Warren's internal message format is AMQP 0-9-1 content, like LavinMQ's: the content header's
 * raw property bytes (flags + property list) are kept exactly as the publisher sent them and go out
 * again unchanged on delivery. They are decoded lazily, only when the broker needs a property
 * (headers for the headers exchange, reply-to for direct reply-to). That codec is the one part of
 * the AMQP front-end the core imports; other protocols map their messages onto these properties.
 *
 * `properties` and `body` usually share one allocation (see the channel's content assembly).
 */
export class Message {
  readonly exchange: string;
  readonly routingKey: string;
  rawProperties: Buffer;
  readonly body: Buffer;
  /** When the message arrived (ms since the epoch): TTLs count from it. Kept in the store's records. */
  timestamp: number;
  #decoded: BasicProperties | undefined;
  #deliveryMode = -1;

  constructor(exchange: string, routingKey: string, rawProperties: Buffer, body: Buffer, timestamp = Date.now()) {
    this.exchange = exchange;
    this.timestamp = timestamp;
    this.routingKey = routingKey;
    this.rawProperties = rawProperties;
    this.body = body;
  }

  get bodySize(): number {
    return this.body.length;
  }

  /** delivery_mode 2: kept across restarts when in a durable queue. Read once, without decoding the rest. */
  get persistent(): boolean {
    if (this.#deliveryMode < 0) this.#deliveryMode = readDeliveryMode(this.rawProperties);
    return this.#deliveryMode === 2;
  }

  /** The decoded basic properties (decoded once, on first use). Treat as read-only. */
  get properties(): BasicProperties {
    return (this.#decoded ??= decodeProperties(this.rawProperties));
  }

  get headers(): FieldTable | undefined {
    return this.properties.headers;
  }

  /** Replace the properties (rare: direct reply-to rewrites reply_to). */
  setProperties(raw: Buffer, decoded: BasicProperties): void {
    this.rawProperties = raw;
    this.#decoded = decoded;
    this.#deliveryMode = -1;
  }
}
