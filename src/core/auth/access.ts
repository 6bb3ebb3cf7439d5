import type { FieldTable } from '../../protocol/amqp/codec/field-table.js';
import { BrokerError } from '../broker-error.js';
import { stringArg } from '../queue/queue-arguments.js';
import { ACCESS_REFUSED, NOT_ALLOWED } from '../reply-codes.js';
import type { CompiledPermissions, CompiledTopicPermission, Permission, PermissionStore } from './permissions.js';

/** What a permission is checked on. Topic permissions have their own check (routing keys). */
export type ResourceKind = 'queue' | 'exchange';

/** RabbitMQ checks the default exchange under the name 'amq.default' (and names it so in errors). */
export function resourceName(kind: ResourceKind, name: string): string {
  return kind === 'exchange' && name === '' ? 'amq.default' : name;
}

/** RabbitMQ's text: "configure access to queue 'q' in vhost '/' refused for user 'u'" (403). */
export function accessRefused(permission: Permission, kind: ResourceKind, name: string, vhost: string, user: string): BrokerError {
  return new BrokerError(ACCESS_REFUSED,
    `${permission} access to ${kind} '${resourceName(kind, name)}' in vhost '${vhost}' refused for user '${user}'`);
}

/** connection.open to a vhost the user has no permissions in: 530 NOT_ALLOWED, as RabbitMQ (rabbit_access_control). */
export function vhostAccessRefused(vhost: string, user: string): BrokerError {
  return new BrokerError(NOT_ALLOWED, `access to vhost '${vhost}' refused for user '${user}'`);
}

function topicAccessRefused(permission: 'write' | 'read', routingKey: string, exchange: string, vhost: string, user: string): BrokerError {
  return new BrokerError(ACCESS_REFUSED,
    `${permission} access to topic '${routingKey}' in exchange '${exchange}' in vhost '${vhost}' refused for user '${user}'`);
}

/** One uncached check, for callers outside a connection (the management API). */
export function isPermitted(compiled: CompiledPermissions | undefined, permission: Permission, kind: ResourceKind, name: string): boolean {
  return compiled !== undefined && compiled[permission].test(resourceName(kind, name));
}

/**
 * One user's access to one vhost, as an AMQP connection holds it (a connection is bound to one
 * user and one vhost, so its channels share it; the event loop makes sharing safe). It keeps the
 * compiled expressions and the exchanges already found writable until the permission store's
 * generation changes, so a publish costs a generation compare and a Set lookup, and changed
 * permissions apply to the very next operation (RabbitMQ's per-channel cache can lag).
 */
export class VhostAccess {
  readonly user: string;
  readonly vhost: string;
  readonly #store: PermissionStore;
  #generation = -1;
  #compiled: CompiledPermissions | undefined;
  #topics: ReadonlyMap<string, { compiled: CompiledTopicPermission }> | undefined;
  /** Exchange names found writable at #generation (only successes: a refusal closes the channel). */
  readonly #writable = new Set<string>();

  constructor(store: PermissionStore, user: string, vhost: string) {
    this.#store = store;
    this.user = user;
    this.vhost = vhost;
  }

  #refresh(): void {
    if (this.#generation === this.#store.generation) return;
    this.#generation = this.#store.generation;
    this.#compiled = this.#store.compiled(this.user, this.vhost);
    this.#topics = this.#store.compiledTopics(this.user, this.vhost);
    this.#writable.clear();
  }

  /** The user has some permissions in the vhost (RabbitMQ's vhost access check at connection.open). */
  get hasVhostAccess(): boolean {
    this.#refresh();
    return this.#compiled !== undefined;
  }

  /** Throws 530 NOT_ALLOWED unless the user may use the vhost. */
  checkVhostAccess(): void {
    if (!this.hasVhostAccess) throw vhostAccessRefused(this.vhost, this.user);
  }

  allowed(permission: Permission, kind: ResourceKind, name: string): boolean {
    this.#refresh();
    return isPermitted(this.#compiled, permission, kind, name);
  }

  /** Throws 403 ACCESS_REFUSED with RabbitMQ's text unless permitted. */
  check(permission: Permission, kind: ResourceKind, name: string): void {
    if (!this.allowed(permission, kind, name)) throw accessRefused(permission, kind, name, this.vhost, this.user);
  }

  /** basic.publish: write on the exchange, cached per exchange name. */
  checkPublish(exchange: string): void {
    this.#refresh();
    if (this.#writable.has(exchange)) return;
    this.check('write', 'exchange', exchange);
    this.#writable.add(exchange);
  }

  /**
   * Topic authorisation (RabbitMQ: topic exchanges only): the routing key against the user's topic
   * permission for this exchange; no topic permission for it means allowed, as in RabbitMQ.
   */
  checkTopic(permission: 'write' | 'read', exchange: string, routingKey: string): void {
    this.#refresh();
    if (this.#topics === undefined) return; // the usual case: no topic permissions at all
    const p = this.#topics.get(exchange);
    if (p && !p.compiled[permission].test(routingKey)) {
      throw topicAccessRefused(permission, routingKey, exchange, this.vhost, this.user);
    }
  }

  /**
   * queue.declare (not passive): configure on the queue. A new queue with x-dead-letter-exchange
   * also needs read on itself and write on the DLX (RabbitMQ's check_dlx), or dead-lettering would
   * let anyone route into an exchange they may not publish to. Policies are the operator's and not
   * checked; a DLX of the wrong type is left to the argument validation (406).
   */
  checkQueueDeclare(name: string, args: FieldTable, isNew: boolean): void {
    this.check('configure', 'queue', name);
    const dlx = isNew ? stringArg(args['x-dead-letter-exchange']) : undefined;
    if (dlx === undefined) return;
    this.check('read', 'queue', name);
    this.check('write', 'exchange', dlx);
  }

  /**
   * exchange.declare (not passive): configure on the exchange; a new one with an alternate-exchange
   * also needs read on itself and write on the AE, for the same reason as the DLX.
   */
  checkExchangeDeclare(name: string, args: FieldTable, isNew: boolean): void {
    this.check('configure', 'exchange', name);
    const ae = isNew ? stringArg(args['alternate-exchange']) : undefined;
    if (ae === undefined) return;
    this.check('read', 'exchange', name);
    this.check('write', 'exchange', ae);
  }
}
