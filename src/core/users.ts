import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BrokerError } from './broker-error.js';
import { ACCESS_REFUSED } from './reply-codes.js';

export interface User {
  readonly name: string;
  /** RabbitMQ's rabbit_password_hashing_sha256 layout: 4-byte salt, then sha256(salt ‖ password). */
  readonly passwordHash: Buffer;
  readonly tags: readonly string[];
  /** Like RabbitMQ's guest: may only log in over a loopback connection. */
  readonly loopbackOnly: boolean;
}

export function hashPassword(password: string, salt: Buffer = randomBytes(4)): Buffer {
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]);
}

function passwordMatches(user: User, password: string): boolean {
  const expected = user.passwordHash;
  const actual = hashPassword(password, expected.subarray(0, 4));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Users and their credentials. guest/guest exists by default and is usable from loopback only. */
export class UserRegistry {
  readonly #users = new Map<string, User>();

  constructor() {
    this.add('guest', 'guest', ['administrator'], true);
  }

  add(name: string, password: string, tags: string[] = [], loopbackOnly = false): User {
    const user: User = { name, passwordHash: hashPassword(password), tags, loopbackOnly };
    this.#users.set(name, user);
    return user;
  }

  /**
   * Adds or replaces a user whose password is known only as a hash in this registry's layout
   * (salt ‖ sha256(salt ‖ password), RabbitMQ's rabbit_password_hashing_sha256): definitions import.
   */
  addHashed(name: string, passwordHash: Buffer, tags: string[] = [], loopbackOnly = false): User {
    const user: User = { name, passwordHash, tags, loopbackOnly };
    this.#users.set(name, user);
    return user;
  }

  /** Every user, by name. */
  list(): User[] {
    return [...this.#users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): User | undefined {
    return this.#users.get(name);
  }

  /** Checks credentials; throws 403 ACCESS_REFUSED with RabbitMQ's wording when refused. */
  authenticate(mechanism: string, name: string, password: string, fromLoopback: boolean): User {
    const user = this.#users.get(name);
    if (!user || !passwordMatches(user, password)) {
      throw new BrokerError(ACCESS_REFUSED, `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`);
    }
    if (user.loopbackOnly && !fromLoopback) {
      throw new BrokerError(ACCESS_REFUSED, `user '${name}' can only connect via localhost`);
    }
    return user;
  }
}
