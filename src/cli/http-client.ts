/**
 * The admin commands' client for the management HTTP API (Node's global fetch). It turns every
 * way a request can fail into an error whose message an operator can act on: the API's own
 * `reason`, or which URL could not be reached and why.
 */
import { UsageError } from './args.js';

/** The API answered with an error status; `reason` is its RabbitMQ-style explanation. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, reason: string, what: string | undefined) {
    super(`${what ? `${what}: ` : ''}${reason} (HTTP ${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
  }
}

/** The broker could not be reached at all (refused, unknown host, timeout). */
export class ConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectError';
  }
}

export interface Connection {
  /** The API's base, without a trailing slash: `http://localhost:15672` (a path prefix is kept). */
  url: string;
  user: string;
  password: string;
}

export const DEFAULT_URL = 'http://localhost:15672';

/**
 * Where and as whom to connect, in rising precedence: defaults (guest/guest on localhost, as
 * rabbitmqadmin), WARREN_URL / WARREN_USER / WARREN_PASSWORD, flags. Credentials written into the
 * URL (`http://ops:secret@host:15672`) are taken from it, since fetch refuses such URLs.
 */
export function resolveConnection(flags: { url?: string; user?: string; password?: string }, env: NodeJS.ProcessEnv): Connection {
  const raw = flags.url ?? (env.WARREN_URL || DEFAULT_URL);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new UsageError(`--url: '${raw}' is not a URL like ${DEFAULT_URL}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url: '${raw}' must start with http:// or https://`);
  const fromUrlUser = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const fromUrlPassword = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  parsed.username = '';
  parsed.password = '';
  const url = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
  return {
    url,
    user: flags.user ?? fromUrlUser ?? (env.WARREN_USER || 'guest'),
    password: flags.password ?? fromUrlPassword ?? (env.WARREN_PASSWORD || 'guest'),
  };
}

export interface RequestOptions {
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** What the request is about, prefixed to an error's reason: "queue 'jobs' in vhost '/'". */
  what?: string;
}

/** A whole request must finish in this time; a definitions import of a large broker is the slowest. */
const TIMEOUT_MS = 60_000;

export class AdminClient {
  readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  /** The parsed JSON answer, or undefined for an empty one (204). Throws ApiError or ConnectError. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    return (await this.send(method, path, options)).body;
  }

  /** As request, with the status too: 201 and 204 tell "created" from "updated". */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<{ status: number; body: unknown }> {
    const { url, user, password } = this.connection;
    const headers: Record<string, string> = {
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      accept: 'application/json',
      ...options.headers,
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${url}${path}`, { method, headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
      text = await res.text();
    } catch (err) {
      throw new ConnectError(`cannot reach the management API at ${url}: ${describeFetchError(err)}`);
    }
    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not the management API (a proxy's HTML error page, another service on the port).
        if (res.ok) throw new ConnectError(`${url}${path} did not answer JSON: is ${url} Warren's management API?`);
      }
    }
    if (!res.ok) throw new ApiError(res.status, errorReason(parsed, res), options.what);
    return { status: res.status, body: parsed };
  }
}

/** RabbitMQ's error body is {error, reason}; fall back to the status text when it is missing. */
function errorReason(parsed: unknown, res: Response): string {
  if (parsed && typeof parsed === 'object') {
    const { reason, error } = parsed as { reason?: unknown; error?: unknown };
    if (typeof reason === 'string' && reason !== '') return reason;
    if (typeof error === 'string' && error !== '') return error;
  }
  return res.statusText || 'request failed';
}

/** fetch says only "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND, …) is in its cause. */
function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} seconds`;
  switch (e?.cause?.code) {
    case 'ECONNREFUSED': return 'connection refused (is the broker running, and is this its --management-port?)';
    case 'ENOTFOUND': return 'unknown host';
    case 'ECONNRESET': return 'the connection was reset';
    case 'ETIMEDOUT': return 'the connection timed out';
  }
  // fetch refuses ports on the WHATWG "bad ports" list (1, 6000, …) without trying them.
  if (e?.cause?.message === 'bad port') return 'fetch refuses this port number (on its list of unsafe ports); use another';
  return e?.cause?.message ?? e?.message ?? String(err);
}

/** Names in paths: the vhost `/` is `%2F`, as in RabbitMQ's API. */
export const enc = encodeURIComponent;

/** The default exchange's name in paths: the empty name cannot be a path segment. */
export function exchangePath(name: string): string {
  return name === '' ? 'amq.default' : enc(name);
}
