import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, GetMessage, Message } from 'amqplib';

/** amqplib's method table: its package exports only the public API, so load it by file path. */
const require = createRequire(import.meta.url);
export const defs = require(join(dirname(require.resolve('amqplib')), 'lib', 'defs.js')) as Record<string, number>;

/** amqplib internals used to send methods its promise API does not expose (tx, flow, raw publish). */
export interface RawChannel {
  rpc(method: number, fields: object, expect: number): Promise<Record<string, unknown>>;
  sendMessage(fields: object, properties: object, content: Buffer): boolean;
}
export const raw = (ch: Channel): RawChannel => ch as unknown as RawChannel;

/** What amqplib puts on errors from a server close. */
export interface AmqpError extends Error { code?: number; classId?: number; methodId?: number }

let seq = 0;
export const qname = (prefix: string): string => `${prefix}-${++seq}-${randomBytes(3).toString('hex')}`;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function closeQuietly(x: { close(): Promise<void> } | undefined): Promise<void> {
  if (!x) return;
  try {
    await x.close();
  } catch {
    // already closed (by the server, or by a connection error)
  }
}

/** The next 'error' an emitter (channel or connection) emits. */
export function nextError(emitter: EventEmitter, timeoutMs = 3000): Promise<AmqpError> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off('error', onError);
      reject(new Error(`no 'error' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (err: AmqpError): void => {
      clearTimeout(timer);
      resolve(err);
    };
    emitter.once('error', onError);
  });
}

/** Asserts a promise rejects with an AMQP error carrying `code`. */
export async function rejectsWithCode(p: Promise<unknown>, code: number): Promise<AmqpError> {
  try {
    await p;
  } catch (err) {
    assert.equal((err as AmqpError).code, code, `expected reply code ${code}, got: ${(err as Error).message}`);
    return err as AmqpError;
  }
  assert.fail(`expected a rejection with reply code ${code}`);
}

export const body = (m: Message): string => m.content.toString();

/** The queue's ready count (a passive declare). */
export async function count(ch: Channel, q: string): Promise<number> {
  return (await ch.checkQueue(q)).messageCount;
}

/** Polls the queue's ready count until it is `n`. */
export async function waitForCount(ch: Channel, q: string, n: number, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while ((last = await count(ch, q)) !== n) {
    if (Date.now() > deadline) assert.fail(`queue ${q} has ${last} ready messages, expected ${n}`);
    await sleep(10);
  }
}

export async function getOrFail(ch: Channel, q: string, options?: { noAck?: boolean }): Promise<GetMessage> {
  const m = await ch.get(q, options);
  assert.ok(m, `expected a message in ${q}`);
  return m;
}

/** Connection and channel helpers bound to a broker URL (read when called: brokers restart). */
export function clientHelpers(url: () => string) {
  async function connect(): Promise<ChannelModel> {
    const conn = await amqp.connect(url());
    conn.on('error', () => {}); // asserted through nextError where expected
    return conn;
  }
  async function channel(conn: ChannelModel): Promise<Channel> {
    const ch = await conn.createChannel();
    ch.on('error', () => {}); // asserted through nextError where expected
    return ch;
  }
  async function confirmChannel(conn: ChannelModel): Promise<ConfirmChannel> {
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    return ch;
  }
  /** Runs `fn` with a fresh connection, closed afterwards whatever happens. */
  async function withConn(fn: (conn: ChannelModel) => Promise<void>): Promise<void> {
    const conn = await connect();
    try {
      await fn(conn);
    } finally {
      await closeQuietly(conn);
    }
  }
  /** Declares a fresh non-durable queue with a unique name. */
  async function declare(ch: Channel, prefix: string): Promise<string> {
    const q = qname(prefix);
    await ch.assertQueue(q, { durable: false });
    return q;
  }
  return { connect, channel, confirmChannel, withConn, declare };
}

/** `p`, or undefined after `ms` (the timer does not outlive the race). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
