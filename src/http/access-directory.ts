import type { Broker } from '../core/broker.js';
import { BrokerError } from '../core/broker-error.js';
import { PRECONDITION_FAILED } from '../core/reply-codes.js';
import { VirtualHost } from '../core/vhost.js';
import { createLogger } from '../log.js';

const log = createLogger('http');

/** A user as the management API shows it: never a password hash, except in a definitions export. */
export interface ApiUser {
  readonly name: string;
  readonly tags: readonly string[];
}

/** RabbitMQ's definitions and API shape of a user (tags: an array, or "a,b" in files from RabbitMQ 3.x before 3.10). */
export interface UserDefinition {
  name: string;
  password_hash: string;
  hashing_algorithm: string;
  tags: string[] | string;
}

export interface PermissionDefinition {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

/**
 * Everything the management API needs from users, vhosts and permissions, in one small interface.
 * The handlers call only this, so richer cores (users and permissions managed at run time, vhost
 * deletion) plug in by implementing it, without touching a handler. `CoreAccessDirectory` is the
 * implementation over today's core.
 */
export interface AccessDirectory {
  /** Checks credentials; throws BrokerError 403 (wrong password, guest from afar) as AMQP's login does. */
  authenticate(name: string, password: string, fromLoopback: boolean): ApiUser;
  users(): ApiUser[];
  user(name: string): ApiUser | undefined;
  /** For the definitions export. */
  userDefinitions(): UserDefinition[];
  permissions(): PermissionDefinition[];
  /** Whether `user` may use `vhost` (a management user sees and acts on objects of these vhosts only). */
  canAccessVhost(user: string, vhost: string): boolean;
  /** Creates a vhost; false when it existed. */
  addVhost(name: string): boolean;
  /** Definitions import: adds or replaces a user (406 when its hash cannot be used). */
  importUser(def: UserDefinition): void;
  /** Definitions import: a permission; returns false when this core does not keep it. */
  importPermission(def: PermissionDefinition): boolean;
}

/** The only hash layout the core verifies; RabbitMQ's default. */
export const SHA256_HASHING = 'rabbit_password_hashing_sha256';
const FULL = '.*';

/**
 * The directory over today's core: users from Broker.users (no run-time user management yet),
 * vhosts from Broker.vhosts, and no permissions store: every user may use every vhost, exactly as
 * AMQP logins behave today, so permissions are reported as full and imported ones are not kept.
 */
export class CoreAccessDirectory implements AccessDirectory {
  readonly #broker: Broker;

  constructor(broker: Broker) {
    this.#broker = broker;
  }

  authenticate(name: string, password: string, fromLoopback: boolean): ApiUser {
    const u = this.#broker.users.authenticate('PLAIN', name, password, fromLoopback);
    return { name: u.name, tags: u.tags };
  }

  users(): ApiUser[] {
    return this.#broker.users.list().map((u) => ({ name: u.name, tags: u.tags }));
  }

  user(name: string): ApiUser | undefined {
    const u = this.#broker.users.get(name);
    return u && { name: u.name, tags: u.tags };
  }

  userDefinitions(): UserDefinition[] {
    return this.#broker.users.list().map((u) => ({
      name: u.name, password_hash: u.passwordHash.toString('base64'), hashing_algorithm: SHA256_HASHING, tags: [...u.tags],
    }));
  }

  permissions(): PermissionDefinition[] {
    const vhosts = [...this.#broker.vhosts.keys()].sort();
    return this.#broker.users.list().flatMap((u) => vhosts.map((vhost) => ({ user: u.name, vhost, configure: FULL, write: FULL, read: FULL })));
  }

  canAccessVhost(_user: string, vhost: string): boolean {
    return this.#broker.vhosts.has(vhost);
  }

  addVhost(name: string): boolean {
    if (this.#broker.vhosts.has(name)) return false;
    this.#broker.vhosts.set(name, new VirtualHost(name, this.#broker));
    this.#broker.definitionsChanged();
    return true;
  }

  importUser(def: UserDefinition): void {
    if (def.hashing_algorithm !== undefined && def.hashing_algorithm !== SHA256_HASHING) {
      throw new BrokerError(PRECONDITION_FAILED, `user '${def.name}': hashing algorithm '${def.hashing_algorithm}' is not supported (only ${SHA256_HASHING})`);
    }
    const hash = Buffer.from(def.password_hash ?? '', 'base64');
    const existing = this.#broker.users.get(def.name);
    // guest keeps its loopback-only rule, as RabbitMQ's loopback_users default does.
    const loopbackOnly = existing ? existing.loopbackOnly : def.name === 'guest';
    this.#broker.users.addHashed(def.name, hash, parseTags(def.tags), loopbackOnly);
  }

  importPermission(def: PermissionDefinition): boolean {
    log.debug('permission not kept: every user may use every vhost in this version', { user: def.user, vhost: def.vhost });
    return false;
  }
}

/** Tags as an array (RabbitMQ 3.10+) or a comma-separated string (older exports). */
export function parseTags(tags: unknown): string[] {
  if (Array.isArray(tags)) return tags.filter((t): t is string => typeof t === 'string' && t !== '');
  if (typeof tags === 'string') return tags.split(',').map((t) => t.trim()).filter((t) => t !== '');
  return [];
}
