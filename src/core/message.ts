import type { BasicProperties } from '../protocol/amqp/codec/properties.js';
import {
  decodeProperties, F_CONTENT_ENCODING, F_CONTENT_TYPE, F_EXPIRATION, F_HEADERS, hasPropertyFlag, readDeliveryMode, readExpiration,
} from '../protocol/amqp/codec/properties.js';
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
  /** Per-message TTL: -2 not read yet, -1 none. */
  #ttl = -2;

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

  /**
   * The per-message TTL of the `expiration` property in ms, -1 when there is none. Read once, and
   * only the flag bit when the property is absent (the common case). The channel refuses a publish
   * whose expiration is not a valid TTL, so anything else here came from a trusted source.
   */
  get ttl(): number {
    if (this.#ttl === -2) {
      const e = hasPropertyFlag(this.rawProperties, F_EXPIRATION) ? readExpiration(this.rawProperties) : undefined;
      this.#ttl = e === undefined ? -1 : parseTtl(e) ?? -1;
    }
    return this.#ttl;
  }

  /**
   * True when the headers may carry CC or BCC (sender-selected distribution): a byte search for the
   * keys' encodings, so the publish path decodes headers only when they could matter.
   */
  get mayHaveCcOrBcc(): boolean {
    const raw = this.rawProperties;
    if (!hasPropertyFlag(raw, F_HEADERS)) return false;
    // An empty table (amqplib sends one with every message) when headers come first in the list.
    if (!hasPropertyFlag(raw, F_CONTENT_TYPE | F_CONTENT_ENCODING) && raw.length >= 6 && raw.readUInt32BE(2) === 0) return false;
    // One scan for "CC": a key is it when preceded by its length (2), or by "B" and length 3.
    for (let i = raw.indexOf(CC_BYTES, 2); i >= 0; i = raw.indexOf(CC_BYTES, i + 1)) {
      if (raw[i - 1] === 2 || (raw[i - 1] === 0x42 && raw[i - 2] === 3)) return true;
    }
    return false;
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
    this.#ttl = -2;
  }
}

const CC_BYTES = Buffer.from('CC', 'latin1');

/** The largest TTL RabbitMQ accepts (ten years, in ms). */
export const MAX_TTL_MS = 315_360_000_000;

/**
 * Why an `expiration` is not a per-message TTL, in RabbitMQ's terms, or undefined when it is one:
 * a whole-string decimal integer (sign allowed) from 0 to ten years of ms.
 */
export function expirationProblem(expiration: string): string | undefined {
  const m = /^([+-]?[0-9]+)([^]*)$/.exec(expiration);
  if (!m) return 'no_integer';
  if (m[2] !== '') return `{leftover_string,"${m[2]}"}`;
  const n = Number(m[1]);
  if (n < 0) return `{value_negative,${n}}`;
  if (n > MAX_TTL_MS) return `{value_too_large,${n}}`;
  return undefined;
}

/** The TTL in ms of a valid `expiration`, undefined for an invalid one. */
export function parseTtl(expiration: string): number | undefined {
  return expirationProblem(expiration) === undefined ? Math.abs(Number(expiration)) : undefined;
}
