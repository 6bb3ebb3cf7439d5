/**
 * Reply codes, as AMQP 0-9-1 defines them and RabbitMQ uses them (spec section 1.9 "Constants").
 * They are the core's error vocabulary too: every protocol front-end maps them onto its own errors.
 * Soft errors (3xx/4xx) close the channel; hard errors (5xx and 320/402) close the connection.
 */
export const REPLY_SUCCESS = 200;
export const CONTENT_TOO_LARGE = 311;
export const NO_ROUTE = 312;
export const NO_CONSUMERS = 313;
export const CONNECTION_FORCED = 320;
export const INVALID_PATH = 402;
export const ACCESS_REFUSED = 403;
export const NOT_FOUND = 404;
export const RESOURCE_LOCKED = 405;
export const PRECONDITION_FAILED = 406;
export const FRAME_ERROR = 501;
export const SYNTAX_ERROR = 502;
export const COMMAND_INVALID = 503;
export const CHANNEL_ERROR = 504;
export const UNEXPECTED_FRAME = 505;
export const RESOURCE_ERROR = 506;
export const NOT_ALLOWED = 530;
export const NOT_IMPLEMENTED = 540;
export const INTERNAL_ERROR = 541;

const NAMES: Record<number, string> = {
  200: 'REPLY_SUCCESS', 311: 'CONTENT_TOO_LARGE', 312: 'NO_ROUTE', 313: 'NO_CONSUMERS',
  320: 'CONNECTION_FORCED', 402: 'INVALID_PATH', 403: 'ACCESS_REFUSED', 404: 'NOT_FOUND',
  405: 'RESOURCE_LOCKED', 406: 'PRECONDITION_FAILED', 501: 'FRAME_ERROR', 502: 'SYNTAX_ERROR',
  503: 'COMMAND_INVALID', 504: 'CHANNEL_ERROR', 505: 'UNEXPECTED_FRAME', 506: 'RESOURCE_ERROR',
  530: 'NOT_ALLOWED', 540: 'NOT_IMPLEMENTED', 541: 'INTERNAL_ERROR',
};

/** The symbolic name RabbitMQ prefixes reply texts with, e.g. `NOT_FOUND`. */
export function replyCodeName(code: number): string {
  return NAMES[code] ?? 'UNKNOWN';
}

/** A connection-level (hard) error closes the whole connection; the rest close one channel. */
export function isHardError(code: number): boolean {
  return code === CONNECTION_FORCED || code === INVALID_PATH || code >= 500;
}
