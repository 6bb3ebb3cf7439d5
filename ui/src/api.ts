/**
 * The management API from the browser: basic-auth credentials kept in sessionStorage (gone when
 * the tab closes, as RabbitMQ's UI keeps them), JSON in and out, and RabbitMQ's error bodies
 * turned into ApiError with their reason.
 */

const AUTH_KEY = 'warren.auth';
const USER_KEY = 'warren.user';

/** A refused or failed API call: the HTTP status and RabbitMQ's {error, reason}. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, error: string, reason: string) {
    super(status === 0 ? reason : `${status} ${error}: ${reason}`);
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
  }
}

/** Called on 401, so the app can show its login form. */
let onUnauthorised: (err: ApiError) => void = () => {};
export function setUnauthorisedHandler(fn: (err: ApiError) => void): void {
  onUnauthorised = fn;
}

export function hasCredentials(): boolean {
  return sessionStorage.getItem(AUTH_KEY) !== null;
}

export function currentUser(): string {
  return sessionStorage.getItem(USER_KEY) ?? '';
}

/** Stores `Basic base64(user:password)`, UTF-8 encoded as the server decodes it. */
export function setCredentials(user: string, password: string): void {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  sessionStorage.setItem(AUTH_KEY, `Basic ${btoa(binary)}`);
  sessionStorage.setItem(USER_KEY, user);
}

export function clearCredentials(): void {
  sessionStorage.removeItem(AUTH_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/** The headers every UI request sends: no browser password dialog on 401, and the stored credentials. */
function requestHeaders(accept: string, extra: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { 'x-requested-with': 'XMLHttpRequest', accept, ...extra };
  const auth = sessionStorage.getItem(AUTH_KEY);
  if (auth) h.authorization = auth;
  return h;
}

async function send(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, { ...init, cache: 'no-store' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The broker did not answer (is it running?)');
  }
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A refused call's error with RabbitMQ's reason; a 401 also tells the app to ask for a login. */
function refusal(res: Response, text: string): ApiError {
  const b = (parseJson(text) ?? {}) as { error?: string; reason?: string };
  const err = new ApiError(res.status, b.error ?? res.statusText, b.reason ?? (text.slice(0, 200) || res.statusText));
  if (res.status === 401) onUnauthorised(err);
  return err;
}

/** One API call; resolves with the parsed JSON body (undefined for an empty one). */
export async function api<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const h = requestHeaders('application/json', headers);
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await send(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw refusal(res, text);
  return parseJson(text) as T;
}

/**
 * A GET whose body is read as it arrives (Server-Sent Events): the open body stream, or ApiError
 * when refused. `signal` ends it. EventSource cannot send the Authorization header, hence fetch.
 */
export async function openStream(path: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  const res = await send(path, { method: 'GET', headers: requestHeaders('text/event-stream', {}), signal });
  if (!res.ok) throw refusal(res, await res.text());
  if (!res.body) throw new ApiError(0, 'stream', 'This browser cannot read a response as it arrives');
  return res.body;
}

export const get = <T>(path: string): Promise<T> => api<T>('GET', path);

/** Vhost and object names in paths: "/" is "%2F", as the API expects. */
export const enc = encodeURIComponent;

// ---- the fields of the API's objects that the UI reads ----

export interface Sample { timestamp: number; sample: number }
export interface RateDetails { rate: number; samples?: Sample[] }
export type MessageStats = Record<string, number | RateDetails | undefined>;

export interface Overview {
  product_name: string;
  product_version: string;
  node: string;
  object_totals: { connections: number; channels: number; exchanges: number; queues: number; consumers: number };
  queue_totals: { messages: number; messages_ready: number; messages_unacknowledged: number };
  message_stats?: MessageStats;
  listeners: { protocol: string; port: number; ip_address: string }[];
}

export interface NodeInfo {
  name: string;
  uptime: number;
  mem_used: number;
  mem_limit: number;
  mem_alarm: boolean;
  disk_free: number | null;
  disk_free_limit: number;
  disk_free_alarm: boolean;
  fd_used: number | null;
  fd_total: number | null;
  processors: number;
}

export interface QueueInfo {
  name: string;
  vhost: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive: boolean;
  arguments: Record<string, unknown>;
  policy?: string;
  consumers: number;
  messages: number;
  messages_ready: number;
  messages_unacknowledged: number;
  message_bytes_ready: number;
  memory: number;
  state: string;
  message_stats?: MessageStats;
}

export interface Paged<T> {
  items: T[];
  page: number;
  page_count: number;
  filtered_count: number;
  total_count: number;
}

export interface ExchangeInfo {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
  internal: boolean;
  arguments: Record<string, unknown>;
  policy?: string;
}

export interface BindingInfo {
  source: string;
  vhost: string;
  destination: string;
  destination_type: string;
  routing_key: string;
  arguments: Record<string, unknown>;
}

export interface VhostInfo {
  name: string;
  messages: number;
  messages_ready: number;
  messages_unacknowledged: number;
  message_stats?: MessageStats;
}

/** The rate of one message_stats counter (0 when absent). */
export function rate(ms: MessageStats | undefined, name: string): number {
  const d = ms?.[`${name}_details`];
  return typeof d === 'object' && d ? d.rate : 0;
}

/** A counter's samples, newest first (empty when absent). */
export function samples(ms: MessageStats | undefined, name: string): Sample[] {
  const d = ms?.[`${name}_details`];
  return typeof d === 'object' && d && d.samples ? d.samples : [];
}
