import type { Broker } from '../core/broker.js';

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
  /** Creates a vhost or updates its metadata; false when it existed. */
  putVhost(name: string, meta: { description?: string; tags?: string[] | string; defaultQueueType?: string; tracing?: boolean }): boolean;
  deleteVhost(name: string): void;
  /** Creates or replaces a user (RabbitMQ's PUT /api/users/{name}); false when it existed. */
  putUser(name: string, input: { password?: string; passwordHash?: string; hashingAlgorithm?: string; tags?: string[] | string }): boolean;
  deleteUser(name: string): void;
  /** Sets a user's permissions in a vhost; false when there were some already. */
  setPermissions(vhost: string, user: string, p: { configure: string; write: string; read: string }): boolean;
  clearPermissions(vhost: string, user: string): void;
  /** Definitions import: adds or replaces a user (406 when its hash cannot be used). */
  importUser(def: UserDefinition): void;
  /** Definitions import: a permission; returns false when this core does not keep it. */
  importPermission(def: PermissionDefinition): boolean;
}

/**
 * The directory over the core's users, vhosts and permissions (src/core/auth/): the management
 * API reads and changes them through the same Broker calls a CLI or an embedding program uses.
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
    return this.#broker.listUsers().map((u) => ({ name: u.name, tags: u.tags }));
  }

  user(name: string): ApiUser | undefined {
    const u = this.#broker.getUser(name);
    return u && { name: u.name, tags: u.tags };
  }

  userDefinitions(): UserDefinition[] {
    return this.#broker.listUsers().map((u) => ({
      name: u.name, password_hash: u.passwordHash.toString('base64'), hashing_algorithm: u.hashingAlgorithm, tags: [...u.tags],
    }));
  }

  permissions(): PermissionDefinition[] {
    return this.#broker.listPermissions().map((p) => ({ user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read }));
  }

  /** RabbitMQ: a management user sees the vhosts it has permissions in. */
  canAccessVhost(user: string, vhost: string): boolean {
    return this.#broker.vhosts.has(vhost) && this.#broker.getPermissions(user, vhost) !== undefined;
  }

  putVhost(name: string, meta: { description?: string; tags?: string[] | string; defaultQueueType?: string; tracing?: boolean }): boolean {
    const existed = this.#broker.vhosts.has(name);
    this.#broker.putVhost(name, meta);
    return !existed;
  }

  deleteVhost(name: string): void {
    this.#broker.deleteVhost(name);
  }

  putUser(name: string, input: { password?: string; passwordHash?: string; hashingAlgorithm?: string; tags?: string[] | string }): boolean {
    const existed = this.#broker.getUser(name) !== undefined;
    this.#broker.putUser(name, input);
    return !existed;
  }

  deleteUser(name: string): void {
    this.#broker.deleteUser(name);
  }

  setPermissions(vhost: string, user: string, p: { configure: string; write: string; read: string }): boolean {
    const existed = this.#broker.getPermissions(user, vhost) !== undefined;
    this.#broker.setPermissions(user, vhost, p);
    return !existed;
  }

  clearPermissions(vhost: string, user: string): void {
    this.#broker.clearPermissions(user, vhost);
  }

  importUser(def: UserDefinition): void {
    this.#broker.putUser(def.name, { passwordHash: def.password_hash ?? '', hashingAlgorithm: def.hashing_algorithm, tags: def.tags });
  }

  importPermission(def: PermissionDefinition): boolean {
    this.#broker.setPermissions(def.user, def.vhost, { configure: def.configure, write: def.write, read: def.read });
    return true;
  }
}
