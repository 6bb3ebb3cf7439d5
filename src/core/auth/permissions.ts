import { BrokerError } from '../broker-error.js';
import { PRECONDITION_FAILED } from '../reply-codes.js';

/**
 * Who may do what where: per (user, vhost) three regular expressions over resource names
 * (configure, write, read), and optional topic permissions (write, read) over routing keys per
 * topic exchange — RabbitMQ's internal authorisation backend. Matching follows RabbitMQ: the
 * expression is searched for anywhere in the name (anchors only where written), and '' means
 * '^$', i.e. nothing (no queue or exchange has an empty name: the default exchange is checked as
 * 'amq.default').
 *
 * Checks are on the publish path, so expressions are compiled once when set, and `generation`
 * changes on every change: holders of cached decisions (VhostAccess) compare it and re-read.
 */
export type Permission = 'configure' | 'write' | 'read';

export interface Permissions { configure: string; write: string; read: string }
/** RabbitMQ's definitions shape of a permission entry. */
export interface UserPermission extends Permissions { user: string; vhost: string }
export interface TopicPermissionInput { exchange: string; write: string; read: string }
export interface TopicPermission extends TopicPermissionInput { user: string; vhost: string }

export interface CompiledPermissions { readonly configure: RegExp; readonly write: RegExp; readonly read: RegExp }
export interface CompiledTopicPermission { readonly write: RegExp; readonly read: RegExp }

export interface PermissionFilter { user?: string; vhost?: string }

/** Compiles one permission expression; '' is RabbitMQ's shorthand for '^$'. 406 when it does not compile. */
export function compilePermission(source: unknown): RegExp {
  if (typeof source !== 'string') throw new BrokerError(PRECONDITION_FAILED, `permission must be a string, got ${JSON.stringify(source)}`);
  try {
    return new RegExp(source === '' ? '^$' : source);
  } catch (err) {
    throw new BrokerError(PRECONDITION_FAILED, `invalid regular expression '${source}': ${(err as Error).message}`);
  }
}

/**
 * RabbitMQ expands `{username}` and `{vhost}` in topic permissions (and `{client_id}` for MQTT,
 * which has no meaning here), without escaping, so a user name with regex characters widens the match as it does there.
 */
function expandTopicVariables(source: string, user: string, vhost: string): string {
  return source.replaceAll('{username}', user).replaceAll('{vhost}', vhost);
}

const key = (user: string, vhost: string): string => `${user}\u0000${vhost}`;

function byUserThenVhost<T extends { user: string; vhost: string }>(a: T, b: T): number {
  return a.user < b.user ? -1 : a.user > b.user ? 1 : a.vhost < b.vhost ? -1 : a.vhost > b.vhost ? 1 : 0;
}

function matches<T extends { user: string; vhost: string }>(p: T, f: PermissionFilter | undefined): boolean {
  return (f?.user === undefined || p.user === f.user) && (f?.vhost === undefined || p.vhost === f.vhost);
}

export class PermissionStore {
  readonly #entries = new Map<string, { entry: UserPermission; compiled: CompiledPermissions }>();
  /** user\0vhost → exchange → topic permission. */
  readonly #topics = new Map<string, Map<string, { entry: TopicPermission; compiled: CompiledTopicPermission }>>();
  #generation = 0;

  /** Changes on every change of any permission: cached decisions made before are stale. */
  get generation(): number {
    return this.#generation;
  }

  set(user: string, vhost: string, p: Permissions): UserPermission {
    // All three compile before anything changes: a bad expression leaves the old entry in place.
    const compiled = { configure: compilePermission(p.configure), write: compilePermission(p.write), read: compilePermission(p.read) };
    const entry = { user, vhost, configure: p.configure, write: p.write, read: p.read };
    this.#entries.set(key(user, vhost), { entry, compiled });
    this.#generation++;
    return entry;
  }

  get(user: string, vhost: string): UserPermission | undefined {
    return this.#entries.get(key(user, vhost))?.entry;
  }

  /** The compiled expressions, or undefined: the user has no access to the vhost at all. */
  compiled(user: string, vhost: string): CompiledPermissions | undefined {
    return this.#entries.get(key(user, vhost))?.compiled;
  }

  /** Returns false when there was nothing to clear. */
  clear(user: string, vhost: string): boolean {
    const removed = this.#entries.delete(key(user, vhost));
    if (removed) this.#generation++;
    return removed;
  }

  list(filter?: PermissionFilter): UserPermission[] {
    const out: UserPermission[] = [];
    for (const { entry } of this.#entries.values()) if (matches(entry, filter)) out.push(entry);
    return out.sort(byUserThenVhost);
  }

  setTopic(user: string, vhost: string, p: TopicPermissionInput): TopicPermission {
    if (typeof p.exchange !== 'string') throw new BrokerError(PRECONDITION_FAILED, 'topic permission needs an exchange name');
    compilePermission(p.write);
    compilePermission(p.read);
    const compiled = {
      write: compilePermission(expandTopicVariables(p.write, user, vhost)),
      read: compilePermission(expandTopicVariables(p.read, user, vhost)),
    };
    const entry = { user, vhost, exchange: p.exchange, write: p.write, read: p.read };
    let forVhost = this.#topics.get(key(user, vhost));
    if (!forVhost) this.#topics.set(key(user, vhost), (forVhost = new Map()));
    forVhost.set(p.exchange, { entry, compiled });
    this.#generation++;
    return entry;
  }

  /** The user's topic permissions in the vhost, by exchange name; undefined when there are none. */
  compiledTopics(user: string, vhost: string): ReadonlyMap<string, { compiled: CompiledTopicPermission }> | undefined {
    return this.#topics.get(key(user, vhost));
  }

  /** Clears one exchange's topic permission, or all of the user's in the vhost; false when there was nothing. */
  clearTopic(user: string, vhost: string, exchange?: string): boolean {
    const k = key(user, vhost);
    const forVhost = this.#topics.get(k);
    if (!forVhost) return false;
    const removed = exchange === undefined ? forVhost.size > 0 : forVhost.delete(exchange);
    if (exchange === undefined || forVhost.size === 0) this.#topics.delete(k);
    if (removed) this.#generation++;
    return removed;
  }

  listTopic(filter?: PermissionFilter & { exchange?: string }): TopicPermission[] {
    const out: TopicPermission[] = [];
    for (const forVhost of this.#topics.values()) {
      for (const { entry } of forVhost.values()) {
        if (matches(entry, filter) && (filter?.exchange === undefined || entry.exchange === filter.exchange)) out.push(entry);
      }
    }
    return out.sort((a, b) => byUserThenVhost(a, b) || (a.exchange < b.exchange ? -1 : a.exchange > b.exchange ? 1 : 0));
  }

  /** A user or a vhost was deleted: its permissions go with it, as in RabbitMQ. */
  removeAll(filter: { user: string } | { vhost: string }): void {
    for (const [k, { entry }] of this.#entries) if (matches(entry, filter)) this.#entries.delete(k);
    for (const [k, forVhost] of this.#topics) {
      for (const [exchange, { entry }] of forVhost) if (matches(entry, filter)) forVhost.delete(exchange);
      if (forVhost.size === 0) this.#topics.delete(k);
    }
    this.#generation++;
  }
}
