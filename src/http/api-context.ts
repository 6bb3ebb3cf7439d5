import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { VhostAccess } from '../core/auth/access.js';
import type { Broker } from '../core/broker.js';
import type { ConnectionRegistry } from '../core/connection-registry.js';
import type { Queue } from '../core/queue/queue.js';
import type { VirtualHost } from '../core/vhost.js';
import type { AccessDirectory } from './access-directory.js';
import type { Principal } from './auth.js';
import { badRequest, HttpError, notFound } from './errors.js';

/**
 * Message statistics (rates and counters) are not kept yet. When they are, an implementation of
 * this goes into ApiContext and the serializers add `message_stats` wherever it returns one; no
 * handler changes. Until then the field is absent, as RabbitMQ omits it for objects without traffic.
 */
export interface MessageStatsSource {
  overview(): Record<string, unknown> | undefined;
  queue(queue: Queue): Record<string, unknown> | undefined;
  vhost(vhost: VirtualHost): Record<string, unknown> | undefined;
}

/** A port the broker listens on, for /api/overview's `listeners`. */
export interface Listener {
  protocol: string;
  port: number;
  host: string | undefined;
}

/** What every handler works with: the broker core, connections, users, and node facts. */
export interface ApiContext {
  readonly broker: Broker;
  readonly connections: ConnectionRegistry;
  readonly directory: AccessDirectory;
  readonly listeners: () => Listener[];
  readonly node: string;
  readonly startedAt: number;
  readonly messageStats: MessageStatsSource | undefined;
}

/** Hono's environment for our handlers: the Node request, and the authenticated user. */
export interface ApiEnv {
  Bindings: HttpBindings;
  Variables: { principal: Principal };
}

export type ApiCtx = Context<ApiEnv>;

/** The vhost named by the `:vhost` path parameter (URL-decoded by the router: "%2F" is "/"), or 404. */
export function vhostParam(c: ApiCtx, ctx: ApiContext): VirtualHost {
  const vhost = ctx.broker.getVhost(c.req.param('vhost') ?? '');
  if (!vhost) throw notFound();
  return vhost;
}

/** RabbitMQ names the default exchange "amq.default" in paths. */
export function exchangeNameParam(raw: string | undefined): string {
  return raw === 'amq.default' ? '' : raw ?? '';
}

/**
 * A name for a new exchange or queue: AMQP clients receive names as shortstrs (at most 255 bytes),
 * so a longer one is refused with 400 rather than created unusable.
 */
export function declarableName(name: string, what: 'exchange' | 'queue'): string {
  const n = Buffer.byteLength(name);
  if (n > 255) throw badRequest(`${what} name is ${n} bytes long; the most is 255`);
  return name;
}

/** RabbitMQ's default management.http.max_body_size: definitions files and publishes up to this. */
export const MAX_BODY_BYTES = 20 * 1024 * 1024;

/**
 * The request body as text, refused with 413 past MAX_BODY_BYTES while it streams in (hono's
 * bodyLimit middleware needs the global Request that we deliberately do not override).
 */
async function bodyText(c: ApiCtx): Promise<string> {
  const tooLarge = () => new HttpError(413, 'payload_too_large', `request body larger than ${MAX_BODY_BYTES} bytes`);
  if (Number(c.req.header('content-length') ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const stream = c.req.raw.body;
  if (!stream) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The JSON object body of a request; 400 when it is not one. An empty body is `{}`. */
export async function jsonBody(c: ApiCtx): Promise<Record<string, unknown>> {
  const text = await bodyText(c);
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badRequest(`body is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** A boolean query flag, as RabbitMQ reads `?if-unused=true`. */
export function queryFlag(c: ApiCtx, name: string): boolean {
  return c.req.query(name) === 'true';
}

/** A boolean body field; 400 when present and not a boolean. */
export function boolField(body: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'boolean') return v;
  // Some tools send "true"/"false" strings (form-style); RabbitMQ accepts them.
  if (v === 'true' || v === 'false') return v === 'true';
  throw badRequest(`${key} must be a boolean, got ${JSON.stringify(v)}`);
}

export function stringField(body: Record<string, unknown>, key: string, fallback?: string): string {
  const v = body[key];
  if (v === undefined || v === null) {
    if (fallback === undefined) throw badRequest(`${key} is missing`);
    return fallback;
  }
  if (typeof v !== 'string') throw badRequest(`${key} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

/** A string body field that may be absent; 400 when present and not a string. */
export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  return v === undefined || v === null ? undefined : stringField(body, key);
}

/**
 * The acting user's AMQP permissions in a vhost: RabbitMQ's management API performs declares,
 * deletes, publishes and gets as that user, so they need the same configure/write/read rights
 * as over AMQP (403 otherwise), whatever the user's tags.
 */
export function accessOf(c: ApiCtx, ctx: ApiContext, vhost: string): VhostAccess {
  return ctx.broker.vhostAccess(c.get('principal').name, vhost);
}
