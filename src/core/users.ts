import { BrokerError } from './broker-error.js';
import type { HashingAlgorithm } from './auth/password.js';
import { decodePasswordHash, DEFAULT_ALGORITHM, hashingAlgorithm, hashPassword, passwordMatches } from './auth/password.js';
import { ACCESS_REFUSED, NOT_FOUND, PRECONDITION_FAILED } from './reply-codes.js';

export { hashPassword } from './auth/password.js';

/** The tags RabbitMQ gives meaning to (management UI and HTTP API access); any other tag is kept as given. */
export const KNOWN_TAGS = ['administrator', 'monitoring', 'management', 'policymaker', 'impersonator', 'none'] as const;

export interface User {
  readonly name: string;
  /** RabbitMQ's layout: 4-byte salt, then hash(salt ‖ password). Empty: the user has no password. */
  readonly passwordHash: Buffer;
  readonly hashingAlgorithm: HashingAlgorithm;
  readonly tags: readonly string[];
  /** Per-user limits (`max-connections`, `max-channels`) as RabbitMQ stores them; kept, not enforced yet. */
  readonly limits: Readonly<Record<string, unknown>>;
}

/** What the management API and definitions give: a password, or a hash made elsewhere (RabbitMQ). */
export interface UserInput {
  password?: string;
  /** base64 of salt ‖ hash, as in RabbitMQ's definitions; '' makes a user without a password. */
  passwordHash?: string;
  /** `rabbit_password_hashing_sha256` (default), `…_sha512` or `…_md5`. */
  hashingAlgorithm?: string;
  /** A list, or RabbitMQ's comma-separated string. */
  tags?: readonly string[] | string;
  limits?: Record<string, unknown>;
}

/** A user in RabbitMQ's definitions shape. */
export interface UserDefinition {
  name: string; password_hash: string; hashing_algorithm: string; tags: string[] | string; limits?: Record<string, unknown>;
}

function loginRefused(mechanism: string): BrokerError {
  return new BrokerError(ACCESS_REFUSED, `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`);
}

export function parseTags(tags: readonly string[] | string | undefined): string[] {
  const list = typeof tags === 'string' ? tags.split(',') : [...(tags ?? [])];
  return [...new Set(list.map((t) => String(t).trim()).filter((t) => t !== ''))];
}

/**
 * Users and their credentials (RabbitMQ's internal authentication backend). Which users may log
 * in from loopback only is a list of names, as RabbitMQ's `loopback_users` (default: guest), so a
 * re-created guest is still restricted.
 */
export class UserRegistry {
  readonly #users = new Map<string, User>();
  readonly loopbackUsers = new Set<string>(['guest']);

  get(name: string): User | undefined {
    return this.#users.get(name);
  }

  has(name: string): boolean {
    return this.#users.has(name);
  }

  /** Every user, by name. */
  list(): User[] {
    return [...this.#users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Creates a user; 406 when it exists (rabbitmqctl add_user refuses too). */
  add(name: string, input: UserInput): User {
    if (this.#users.has(name)) throw new BrokerError(PRECONDITION_FAILED, `user '${name}' already exists`);
    return this.put(name, input);
  }

  /**
   * Creates or replaces a user, as RabbitMQ's put_user: a password or a hash (not both: 406);
   * neither makes (or turns an existing user into) a user without a password, who cannot log in
   * with a password at all. Tags and limits are replaced.
   */
  put(name: string, input: UserInput): User {
    if (typeof name !== 'string' || name === '') throw new BrokerError(PRECONDITION_FAILED, 'user name must be a non-empty string');
    if (input.password !== undefined && input.passwordHash !== undefined) {
      throw new BrokerError(PRECONDITION_FAILED, 'both password and password_hash are provided');
    }
    const algorithm = hashingAlgorithm(input.hashingAlgorithm);
    let passwordHash: Buffer;
    if (input.password !== undefined) passwordHash = hashPassword(String(input.password), algorithm);
    else if (input.passwordHash !== undefined) passwordHash = decodePasswordHash(input.passwordHash, algorithm);
    else passwordHash = Buffer.alloc(0);
    const user: User = { name, passwordHash, hashingAlgorithm: algorithm, tags: parseTags(input.tags), limits: { ...input.limits } };
    this.#users.set(name, user);
    return user;
  }

  /** Deletes a user; 404 when there is none. */
  delete(name: string): void {
    if (!this.#users.delete(name)) throw new BrokerError(NOT_FOUND, `no user '${name}'`);
  }

  /** Checks credentials; throws 403 ACCESS_REFUSED with RabbitMQ's wording when refused. */
  authenticate(mechanism: string, name: string, password: string, fromLoopback: boolean): User {
    const user = this.#users.get(name);
    if (!user || !passwordMatches(user.passwordHash, user.hashingAlgorithm, password)) throw loginRefused(mechanism);
    return this.#checkLoopback(user, fromLoopback);
  }

  /**
   * SASL EXTERNAL: a verified client certificate already proved who this is, so the user only has
   * to exist (no password is checked; users without one may log in this way), as RabbitMQ's
   * internal backend does for EXTERNAL. The loopback-only rule still applies.
   */
  authenticateExternal(name: string | undefined, fromLoopback: boolean): User {
    const user = name === undefined ? undefined : this.#users.get(name);
    if (!user) throw loginRefused('EXTERNAL');
    return this.#checkLoopback(user, fromLoopback);
  }

  #checkLoopback(user: User, fromLoopback: boolean): User {
    if (this.loopbackUsers.has(user.name) && !fromLoopback) {
      throw new BrokerError(ACCESS_REFUSED, `user '${user.name}' can only connect via localhost`);
    }
    return user;
  }

  toDefinitions(): UserDefinition[] {
    return this.list().map((u) => ({ name: u.name, password_hash: u.passwordHash.toString('base64'),
      hashing_algorithm: u.hashingAlgorithm, tags: [...u.tags], limits: { ...u.limits } }));
  }

  /** A user from a definitions file; no algorithm means RabbitMQ's default (files from before 3.6 are not read). */
  restore(d: UserDefinition): User {
    return this.put(d.name, { passwordHash: d.password_hash ?? '', hashingAlgorithm: d.hashing_algorithm ?? DEFAULT_ALGORITHM,
      tags: d.tags, limits: d.limits });
  }
}
