import type { TestBroker } from './broker.js';

/** One management API answer: status, headers, and the body parsed as JSON (undefined when empty). */
export interface ApiResponse {
  status: number;
  headers: Headers;
  // Tests read arbitrary fields of RabbitMQ's JSON.
  body: any;
}

export interface ApiOptions {
  body?: unknown;
  /** Raw body text (for invalid JSON); wins over `body`. */
  text?: string;
  /** [user, password]; null sends no credentials. Default guest/guest. */
  auth?: [string, string] | null;
  headers?: Record<string, string>;
}

/** An HTTP client for a test broker's management API (Node's fetch, a real socket). */
export function apiClient(tb: () => TestBroker) {
  return async function api(method: string, path: string, opts: ApiOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...opts.headers };
    const auth = opts.auth === undefined ? ['guest', 'guest'] : opts.auth;
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth[0]}:${auth[1]}`).toString('base64')}`;
    let payload: string | undefined = opts.text;
    if (payload === undefined && opts.body !== undefined) payload = JSON.stringify(opts.body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`http://127.0.0.1:${tb().warren.managementPort}${path}`, { method, headers, body: payload });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
  };
}

/** encodeURIComponent, named for what it is used for here: vhost and object names in paths. */
export const enc = encodeURIComponent;
