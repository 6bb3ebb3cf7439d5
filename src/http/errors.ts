import { BrokerError } from '../core/broker-error.js';
import { ACCESS_REFUSED, NOT_FOUND, RESOURCE_LOCKED } from '../core/reply-codes.js';

/** An HTTP failure with RabbitMQ's JSON error body: `{"error": …, "reason": …}`. */
export class HttpError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 500 | 503;
  readonly error: string;
  readonly reason: string;
  /** Sent with 401 so that browsers and tools ask for credentials. */
  readonly challenge: boolean;

  constructor(status: HttpError['status'], error: string, reason: string, challenge = false) {
    super(`${status} ${error}: ${reason}`);
    this.name = 'HttpError';
    this.status = status;
    this.error = error;
    this.reason = reason;
    this.challenge = challenge;
  }
}

export const notFound = (): HttpError => new HttpError(404, 'Object Not Found', 'Not Found');
export const badRequest = (reason: string): HttpError => new HttpError(400, 'bad_request', reason);
export const unauthorised = (reason: string): HttpError => new HttpError(401, 'not_authorised', reason, true);
export const forbidden = (reason: string): HttpError => new HttpError(403, 'not_authorised', reason);

/**
 * The HTTP form of any error a handler raised. A BrokerError keeps its meaning: 404 and 403 and
 * 405 as they are, and every other refusal (406 PRECONDITION_FAILED, 503 unknown exchange type,
 * 530 …) is the request's fault, so 400. Anything else is a bug: 500, without internals.
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof BrokerError) {
    switch (err.replyCode) {
      case NOT_FOUND: return new HttpError(404, 'Object Not Found', err.text);
      case ACCESS_REFUSED: return new HttpError(403, 'access_refused', err.text);
      case RESOURCE_LOCKED: return new HttpError(405, 'resource_locked', err.text);
      default: return badRequest(err.text);
    }
  }
  return new HttpError(500, 'internal_server_error', 'internal error; see the broker log');
}
