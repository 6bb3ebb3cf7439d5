import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BrokerError } from '../broker-error.js';
import { PRECONDITION_FAILED } from '../reply-codes.js';

/**
 * Password hashes in RabbitMQ's internal format, so definitions move between RabbitMQ and Warren
 * unchanged: a 4-byte random salt followed by hash(salt ‖ utf-8 password), base64 in definitions.
 * RabbitMQ names the function by its Erlang module; we keep that name per user (`hashing_algorithm`)
 * because a hash is only checkable with the function that made it.
 */
export const SHA256 = 'rabbit_password_hashing_sha256';
export const SHA512 = 'rabbit_password_hashing_sha512';
export const MD5 = 'rabbit_password_hashing_md5';
export type HashingAlgorithm = typeof SHA256 | typeof SHA512 | typeof MD5;

/** New hashes use sha256, RabbitMQ's default since 3.6. */
export const DEFAULT_ALGORITHM: HashingAlgorithm = SHA256;

const DIGESTS: Record<HashingAlgorithm, string> = { [SHA256]: 'sha256', [SHA512]: 'sha512', [MD5]: 'md5' };
const SALT_BYTES = 4;

export function isHashingAlgorithm(name: unknown): name is HashingAlgorithm {
  return typeof name === 'string' && Object.hasOwn(DIGESTS, name);
}

/** Validates an algorithm name from an API call or a definitions file (406 for an unknown one, e.g. bcrypt). */
export function hashingAlgorithm(name: unknown): HashingAlgorithm {
  if (name === undefined || name === null || name === '') return DEFAULT_ALGORITHM;
  if (!isHashingAlgorithm(name)) throw new BrokerError(PRECONDITION_FAILED, `unsupported hashing algorithm '${String(name)}'`);
  return name;
}

export function hashPassword(password: string, algorithm: HashingAlgorithm = DEFAULT_ALGORITHM,
  salt: Buffer = randomBytes(SALT_BYTES)): Buffer {
  const digest = createHash(DIGESTS[algorithm]).update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]);
}

/**
 * True when `password` produces `hash`. An empty hash (a user without a password) never matches,
 * and neither does an empty password: RabbitMQ refuses blank passwords outright.
 */
export function passwordMatches(hash: Buffer, algorithm: HashingAlgorithm, password: string): boolean {
  if (password === '' || hash.length <= SALT_BYTES) return false;
  const actual = hashPassword(password, algorithm, hash.subarray(0, SALT_BYTES));
  return actual.length === hash.length && timingSafeEqual(actual, hash);
}

/** Decodes a base64 `password_hash`; a hash of the wrong length for its algorithm is refused (406). */
export function decodePasswordHash(base64: string, algorithm: HashingAlgorithm): Buffer {
  const hash = Buffer.from(base64, 'base64');
  if (hash.length === 0) return hash; // no password
  const expected = SALT_BYTES + createHash(DIGESTS[algorithm]).digest().length;
  if (hash.length !== expected) {
    throw new BrokerError(PRECONDITION_FAILED, `password_hash is not a base64 ${algorithm} hash`);
  }
  return hash;
}
