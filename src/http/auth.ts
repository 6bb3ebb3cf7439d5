import type { MiddlewareHandler } from 'hono';
import { BrokerError } from '../core/broker-error.js';
import type { AccessDirectory, ApiUser } from './access-directory.js';
import type { ApiContext, ApiEnv } from './api-context.js';
import { forbidden, unauthorised } from './errors.js';

/** Tags that grant management API access at all (RabbitMQ's user tags). */
const API_TAGS = new Set(['administrator', 'monitoring', 'management', 'policymaker']);

/**
 * The authenticated user of one request and what its tags let it do:
 *  - administrator: everything;
 *  - monitoring: reads everything (every vhost, every connection, the node), and has management's
 *    rights in its own vhosts (RabbitMQ's tags nest: monitoring includes management);
 *  - management: reads and acts on the objects of the vhosts it may use, sees its own connections;
 *  - policymaker: management, plus policies in those vhosts.
 */
export class Principal {
  readonly user: ApiUser;
  readonly #directory: AccessDirectory;
  readonly #tags: ReadonlySet<string>;

  constructor(user: ApiUser, directory: AccessDirectory) {
    this.user = user;
    this.#directory = directory;
    this.#tags = new Set(user.tags);
  }

  get name(): string {
    return this.user.name;
  }

  get isAdmin(): boolean {
    return this.#tags.has('administrator');
  }

  /** Sees everything: every vhost's objects and every user's connections. */
  get seesAll(): boolean {
    return this.isAdmin || this.#tags.has('monitoring');
  }

  get mayWrite(): boolean {
    return this.isAdmin || this.#tags.has('management') || this.#tags.has('policymaker') || this.#tags.has('monitoring');
  }

  canSeeVhost(vhost: string): boolean {
    return this.seesAll || this.#directory.canAccessVhost(this.name, vhost);
  }

  canSeeConnectionOf(user: string): boolean {
    return this.seesAll || user === this.name;
  }

  requireAdmin(): void {
    if (!this.isAdmin) throw forbidden('Not administrator user');
  }

  requireMonitor(): void {
    if (!this.seesAll) throw forbidden('Not monitor user');
  }

  requireRead(vhost: string): void {
    if (!this.canSeeVhost(vhost)) throw forbidden(`Access refused to vhost '${vhost}'`);
  }

  /** Declaring, deleting, publishing, purging, getting messages. */
  requireWrite(vhost: string): void {
    if (!this.mayWrite) throw forbidden('Not management user: this user may only read');
    if (!this.isAdmin && !this.#directory.canAccessVhost(this.name, vhost)) throw forbidden(`Access refused to vhost '${vhost}'`);
  }

  requirePolicyWrite(vhost: string): void {
    if (!this.isAdmin && !this.#tags.has('policymaker')) throw forbidden('Not policymaker user');
    this.requireWrite(vhost);
  }
}

/**
 * HTTP basic authentication against the broker's users, with AMQP's rules (guest only from a
 * loopback address). Missing or wrong credentials: 401 with a challenge; a user without any
 * management tag: 401 "Not management user", as RabbitMQ answers.
 */
export function authenticate(ctx: ApiContext): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) throw unauthorised('Login failed');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw unauthorised('Login failed');
    const name = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    let user: ApiUser;
    try {
      user = ctx.directory.authenticate(name, password, isLoopback(c.env.incoming.socket.remoteAddress));
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      throw unauthorised(err.text.includes('localhost') ? 'User can only log in via localhost' : 'Login failed');
    }
    if (!user.tags.some((t) => API_TAGS.has(t))) throw unauthorised('Not management user');
    c.set('principal', new Principal(user, ctx.directory));
    await next();
  };
}

/** The same rule as the AMQP listener's: IPv4 loopback, IPv6 loopback, and IPv4-mapped loopback. */
function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
