/**
 * Helpers for the queue-feature tests (TTL, dead-lettering, limits, consumers, routing extras):
 * expecting a channel close with RabbitMQ's reply text, collecting deliveries, and reading a
 * message's headers with their exact AMQP field types (amqplib decodes every integer to a number
 * and loses the wire type, so x-death is also read through a raw AMQP client and our own codec).
 */
import assert from 'node:assert/strict';
import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import * as M from '../../src/protocol/amqp/codec/methods.generated.js';
import { decodeProperties } from '../../src/protocol/amqp/codec/properties.js';
import type { BasicProperties } from '../../src/protocol/amqp/codec/properties.js';
import type { FieldTable, FieldValue } from '../../src/protocol/amqp/codec/field-table.js';
import type { AmqpError } from './amqp-client.js';
import { closeQuietly, nextError, qname } from './amqp-client.js';
import { waitFor } from './broker.js';
import { RawClient } from './raw-client.js';

/**
 * Opens a channel on `conn`, runs `fn` on it, and asserts the server closes the channel with
 * `code` and a reply text containing `text` (RPCs reject; publishes only emit 'error').
 */
export async function expectChannelClose(conn: ChannelModel, fn: (ch: Channel) => unknown, code: number, text: string, timeoutMs = 3000): Promise<AmqpError> {
  const ch = await conn.createChannel();
  const errored = nextError(ch, timeoutMs);
  errored.catch(() => {});
  try {
    await fn(ch);
  } catch {
    // an RPC rejected: the 'error' event carries the same close
  }
  const err = await errored;
  assert.equal(err.code, code, `expected reply code ${code}, got: ${err.message}`);
  assert.ok(err.message.includes(text), `reply text\n  ${err.message}\nshould contain\n  ${text}`);
  await closeQuietly(ch);
  return err;
}

/** Consumes from `q` into an array (the consumer tag is returned too). */
export async function collect(ch: Channel, q: string, options: Options.Consume = {}): Promise<{ got: ConsumeMessage[]; tag: string }> {
  const got: ConsumeMessage[] = [];
  const { consumerTag } = await ch.consume(q, (m) => { if (m) got.push(m); }, options);
  return { got, tag: consumerTag };
}

export const bodies = (ms: { content: Buffer }[]): string[] => ms.map((m) => m.content.toString());

/** Waits until `arr` has `n` elements. */
export async function waitLength(arr: unknown[], n: number, timeoutMs = 3000, what = 'messages'): Promise<void> {
  try {
    await waitFor(() => arr.length >= n, timeoutMs, what);
  } catch {
    assert.fail(`timed out waiting for ${n} ${what}: have ${arr.length}`);
  }
}

/** A message fetched with basic.get through a raw client: properties decoded with their wire types. */
export interface TypedMessage {
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  properties: BasicProperties;
  headers: FieldTable;
  body: string;
}

/**
 * basic.get (no-ack) of the head of `queue` over a fresh raw connection; undefined when empty.
 * Integers decode as the codec documents: long → bigint, signedint → number, timestamp → Date.
 */
export async function typedGet(port: number, queue: string): Promise<TypedMessage | undefined> {
  const c = await RawClient.open(port);
  try {
    c.send(1, { id: M.BASIC_GET, queue, noAck: true });
    const f = await c.next((f) => f.method?.id === M.BASIC_GET_OK || f.method?.id === M.BASIC_GET_EMPTY || f.method?.id === M.CHANNEL_CLOSE);
    if (f.method!.id === M.CHANNEL_CLOSE) throw new Error(`basic.get failed: ${(f.method as M.ChannelClose).replyText}`);
    if (f.method!.id === M.BASIC_GET_EMPTY) return undefined;
    const ok = f.method as M.BasicGetOk;
    const header = await c.next((f) => f.type === 2, 3000, 'content header');
    const size = Number(header.payload.readBigUInt64BE(4));
    const chunks: Buffer[] = [];
    let have = 0;
    while (have < size) {
      const b = await c.next((f) => f.type === 3, 3000, 'content body');
      chunks.push(b.payload);
      have += b.payload.length;
    }
    const properties = decodeProperties(header.payload.subarray(12));
    return {
      exchange: ok.exchange, routingKey: ok.routingKey, redelivered: ok.redelivered,
      properties, headers: properties.headers ?? {}, body: Buffer.concat(chunks).toString(),
    };
  } finally {
    c.destroy();
  }
}

/** The x-death entries of a typed message (asserting it is an array of tables). */
export function xDeath(m: TypedMessage): FieldTable[] {
  const d = m.headers['x-death'];
  assert.ok(Array.isArray(d), `x-death should be an array, got ${String(d)}`);
  return d as FieldTable[];
}

/**
 * Asserts one x-death entry field by field with RabbitMQ's types: count long (bigint), reason /
 * queue / exchange longstr, time a timestamp within [from, to] (whole seconds), routing-keys an
 * array of longstr, original-expiration present only when expected; and no other key.
 */
export function assertDeath(entry: FieldValue, want: {
  count: number; reason: string; queue: string; exchange: string; routingKeys: string[];
  originalExpiration?: string; from?: number; to?: number;
}): void {
  assert.ok(entry !== null && typeof entry === 'object' && !Array.isArray(entry), 'an x-death entry is a table');
  const e = entry as FieldTable;
  const keys = ['count', 'exchange', 'queue', 'reason', 'routing-keys', 'time'];
  if (want.originalExpiration !== undefined) keys.push('original-expiration');
  assert.deepEqual(Object.keys(e).sort(), keys.sort(), 'x-death entry keys');
  assert.equal(e['count'], BigInt(want.count), 'count (a long)');
  assert.equal(e['reason'], want.reason, 'reason');
  assert.equal(e['queue'], want.queue, 'queue');
  assert.equal(e['exchange'], want.exchange, 'exchange');
  assert.deepEqual(e['routing-keys'], want.routingKeys, 'routing-keys');
  if (want.originalExpiration !== undefined) assert.equal(e['original-expiration'], want.originalExpiration, 'original-expiration');
  assert.ok(e['time'] instanceof Date, 'time is a timestamp');
  if (want.from !== undefined && want.to !== undefined) {
    const s = (e['time'] as Date).getTime() / 1000;
    assert.ok(s >= Math.floor(want.from / 1000) && s <= Math.ceil(want.to / 1000), `time ${s} within the test's run`);
  }
}

/** Reply codes. */
export const PRECONDITION_FAILED = 406;
export const ACCESS_REFUSED = 403;
export const NOT_FOUND = 404;

/** Declares a fresh non-durable queue named from `prefix`, with `args`. */
export async function queue(ch: Channel, prefix: string, args: Record<string, unknown> = {}): Promise<string> {
  const q = qname(prefix);
  await ch.assertQueue(q, { durable: false, arguments: args });
  return q;
}

/** A fanout dead-letter exchange with one queue bound: returns [exchange, queue]. */
export async function dlxWithQueue(ch: Channel, prefix: string): Promise<[string, string]> {
  const ex = qname(`${prefix}-dlx`);
  await ch.assertExchange(ex, 'fanout', { durable: false });
  const dq = await queue(ch, `${prefix}-dead`);
  await ch.bindQueue(dq, ex, '');
  return [ex, dq];
}
