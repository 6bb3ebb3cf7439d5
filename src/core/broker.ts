import type { DelayStore } from '../store/delayed/delay-store.js';
import type { QueueStore } from '../store/queue-store.js';
import type { MessageStoreOptions } from '../store/message-store.js';
import { MessageStore } from '../store/message-store.js';
import type { DedupLog } from '../store/dedup-log.js';
import type { Definitions, PolicyDefinition, VhostDefinition } from '../store/definitions-store.js';
import { DefinitionsStore } from '../store/definitions-store.js';
import { createLogger } from '../log.js';
import { BrokerError } from './broker-error.js';
import type { Policy, PolicyInput } from './policy/policy.js';
import { NOT_FOUND, PRECONDITION_FAILED } from './reply-codes.js';
import type { Message } from './message.js';
import type { ResourceAlarms } from './resource-alarms.js';
import type { ResourceKind } from './auth/access.js';
import { accessRefused, isPermitted, VhostAccess, vhostAccessRefused } from './auth/access.js';
import type { Permission, PermissionFilter, Permissions, TopicPermission, TopicPermissionInput, UserPermission } from './auth/permissions.js';
import { PermissionStore } from './auth/permissions.js';
import { addGuest, collectAccess, restoreAccess } from './auth/access-definitions.js';
import type { User, UserInput } from './users.js';
import { parseTags, UserRegistry } from './users.js';
import { BrokerStats } from './stats/broker-stats.js';
import type { VhostHost } from './vhost.js';
import { VirtualHost } from './vhost.js';
import type { FieldTable } from '../protocol/amqp/codec/field-table.js';
import { checkQueueArgument } from './queue/queue-arguments.js';
import { beforeNextReply, saved } from './write-barrier.js';
import { parseDeduplicationArgs } from './queue/deduplication.js';

const log = createLogger('broker');
const DEFINITIONS_RETRY_MS = 1000;

function clearTimeoutIfAny(t: NodeJS.Timeout | undefined): undefined {
  if (t) clearTimeout(t);
  return undefined;
}

export type BrokerOptions = MessageStoreOptions;

/** Vhost metadata, as the management API takes it. */
export interface VhostInput {
  description?: string;
  tags?: readonly string[] | string;
  defaultQueueType?: string;
  /** The firehose switch (core/trace.ts); absent: unchanged (off for a new vhost). */
  tracing?: boolean;
}

/** Connections to close with 320 CONNECTION_FORCED: those of a deleted vhost or user. */
export interface ForceClose { vhost?: string; user?: string; reason: string }

/**
 * The broker core: vhosts (each owning its exchanges, queues and bindings), users, and the
 * durable definitions. Protocol front-ends talk to it; it never imports a protocol.
 */
export class Broker implements VhostHost {
  readonly vhosts = new Map<string, VirtualHost>();
  readonly users = new UserRegistry();
  readonly permissions = new PermissionStore();
  readonly #forceCloseListeners: ((target: ForceClose) => void)[] = [];
  readonly messages: MessageStore;
  /** Message statistics and the registry of live connections (core/stats/). */
  readonly stats = new BrokerStats(this.vhosts);
  /** Memory and disk alarms (set by whoever runs the broker; absent in bare unit tests). */
  alarms: ResourceAlarms | undefined;
  readonly #definitions: DefinitionsStore;
  /** A change not saved yet (topologyChanged saves at the end of the turn or before a reply). */
  #definitionsDirty = false;
  #loading = false;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(options: BrokerOptions) {
    this.#definitions = new DefinitionsStore(options.dataDir);
    this.messages = new MessageStore(options);
    const started = performance.now();
    this.#restoreDefinitions();
    this.messages.removeOrphans();
    let messages = 0;
    for (const vhost of this.vhosts.values()) for (const q of vhost.queues.values()) messages += q.messageCount;
    log.info('recovery finished', { messages, ms: Math.round(performance.now() - started) });
  }

  getVhost(name: string): VirtualHost | undefined {
    return this.vhosts.get(name);
  }

  // ---- policies (what the management API and CLI call) ----

  /** Creates or replaces a policy in `vhost`; 404 when the vhost does not exist, 406 when the policy is invalid. */
  setPolicy(vhost: string, policy: PolicyInput): Policy {
    return this.#vhostOrThrow(vhost).setPolicy(policy);
  }

  /** Deletes a policy; 404 when the vhost or the policy does not exist. */
  deletePolicy(vhost: string, name: string): void {
    this.#vhostOrThrow(vhost).deletePolicy(name);
  }

  /** The policies of one vhost, or of all vhosts, ordered by vhost then name. */
  listPolicies(vhost?: string): Policy[] {
    if (vhost !== undefined) return this.#vhostOrThrow(vhost).listPolicies();
    const names = [...this.vhosts.keys()].sort();
    return names.flatMap((n) => this.vhosts.get(n)!.listPolicies());
  }

  // ---- users, vhosts and permissions (what the management API and CLI call) ----

  /** Creates a user; 406 when it exists or the input is invalid (see UserRegistry.put). */
  addUser(name: string, input: UserInput): User {
    return this.#changed(this.users.add(name, input));
  }

  /** Creates or replaces a user, as RabbitMQ's PUT /api/users/{name}. */
  putUser(name: string, input: UserInput): User {
    return this.#changed(this.users.put(name, input));
  }

  /** Deletes a user (404 when missing) with its permissions, and closes its connections, as RabbitMQ does. */
  deleteUser(name: string): void {
    this.users.delete(name);
    this.permissions.removeAll({ user: name });
    this.definitionsChanged();
    this.#forceClose({ user: name, reason: `user '${name}' is deleted` });
  }

  getUser(name: string): User | undefined {
    return this.users.get(name);
  }

  listUsers(): User[] {
    return this.users.list();
  }

  /** Creates a vhost with its amq.* exchanges; 406 when it exists. */
  addVhost(name: string, input: VhostInput = {}): VirtualHost {
    if (this.vhosts.has(name)) throw new BrokerError(PRECONDITION_FAILED, `vhost '${name}' already exists`);
    return this.putVhost(name, input);
  }

  /** Creates a vhost, or updates an existing one's metadata (RabbitMQ's PUT /api/vhosts/{name}). */
  putVhost(name: string, input: VhostInput = {}): VirtualHost {
    if (typeof name !== 'string' || name === '') throw new BrokerError(PRECONDITION_FAILED, 'vhost name must be a non-empty string');
    let vhost = this.vhosts.get(name);
    if (!vhost) this.vhosts.set(name, (vhost = new VirtualHost(name, this)));
    if (input.description !== undefined) vhost.description = String(input.description);
    if (input.tags !== undefined) vhost.tags = parseTags(input.tags);
    if (input.defaultQueueType !== undefined) vhost.defaultQueueType = input.defaultQueueType;
    if (input.tracing !== undefined) vhost.trace.set(input.tracing);
    return this.#changed(vhost);
  }

  /** Turns firehose tracing of a vhost on or off (404 when missing); kept in the definitions. */
  setTracing(vhost: string, on: boolean): void {
    this.#vhostOrThrow(vhost).setTracing(on);
  }

  /**
   * Deletes a vhost (404 when missing) as RabbitMQ does: its connections are closed with 320, its
   * queues deleted with their messages, its exchanges, policies and permissions removed. It leaves
   * the definitions first, so a crash part-way never brings back half a vhost.
   */
  deleteVhost(name: string): void {
    const vhost = this.#vhostOrThrow(name);
    this.vhosts.delete(name);
    this.permissions.removeAll({ vhost: name });
    this.definitionsChanged();
    this.#forceClose({ vhost: name, reason: `vhost '${name}' is deleted` });
    this.#loading = true; // the teardown changes nothing more in the definitions
    try {
      vhost.destroy();
    } finally {
      this.#loading = false;
    }
  }

  /** Every vhost, by name. */
  listVhosts(): VirtualHost[] {
    return [...this.vhosts.keys()].sort().map((n) => this.vhosts.get(n)!);
  }

  /** Sets a user's configure/write/read expressions in a vhost; 404 for an unknown user or vhost, 406 for a bad expression. */
  setPermissions(user: string, vhost: string, permissions: Permissions): UserPermission {
    this.#userAndVhostOrThrow(user, vhost);
    return this.#changed(this.permissions.set(user, vhost, permissions));
  }

  /** Removes a user's permissions in a vhost (they can no longer open it); 404 when there are none. */
  clearPermissions(user: string, vhost: string): void {
    if (!this.permissions.clear(user, vhost)) throw new BrokerError(NOT_FOUND, `no permissions for user '${user}' in vhost '${vhost}'`);
    this.definitionsChanged();
  }

  getPermissions(user: string, vhost: string): UserPermission | undefined {
    return this.permissions.get(user, vhost);
  }

  /** Permission entries, optionally of one user and/or vhost, by user then vhost. */
  listPermissions(filter?: PermissionFilter): UserPermission[] {
    return this.permissions.list(filter);
  }

  /** Sets a user's topic permission (routing-key expressions) for one exchange of a vhost. */
  setTopicPermissions(user: string, vhost: string, permission: TopicPermissionInput): TopicPermission {
    this.#userAndVhostOrThrow(user, vhost);
    return this.#changed(this.permissions.setTopic(user, vhost, permission));
  }

  /** Clears a user's topic permission for one exchange, or all of them in the vhost; 404 when there is none. */
  clearTopicPermissions(user: string, vhost: string, exchange?: string): void {
    if (!this.permissions.clearTopic(user, vhost, exchange)) {
      throw new BrokerError(NOT_FOUND, `no topic permissions for user '${user}' in vhost '${vhost}'`);
    }
    this.definitionsChanged();
  }

  listTopicPermissions(filter?: PermissionFilter & { exchange?: string }): TopicPermission[] {
    return this.permissions.listTopic(filter);
  }

  /**
   * Throws 403 ACCESS_REFUSED with RabbitMQ's text ("write access to exchange 'x' in vhost '/'
   * refused for user 'u'") unless `user` holds `permission` on the resource.
   */
  checkPermission(user: string, vhost: string, permission: Permission, kind: ResourceKind, name: string): void {
    if (!isPermitted(this.permissions.compiled(user, vhost), permission, kind, name)) {
      throw accessRefused(permission, kind, name, vhost, user);
    }
  }

  /** Throws 530 NOT_ALLOWED ("access to vhost '/' refused for user 'u'") unless the user has permissions in the vhost. */
  checkVhostAccess(user: string, vhost: string): void {
    if (!this.vhosts.has(vhost) || !this.permissions.compiled(user, vhost)) throw vhostAccessRefused(vhost, user);
  }

  /** A connection's cached view of one user's permissions in one vhost. */
  vhostAccess(user: string, vhost: string): VhostAccess {
    return new VhostAccess(this.permissions, user, vhost);
  }

  /** Protocol servers subscribe: connections of a deleted vhost or user must be closed (320). */
  onForceClose(listener: (target: ForceClose) => void): void {
    this.#forceCloseListeners.push(listener);
  }

  #forceClose(target: ForceClose): void {
    for (const listener of this.#forceCloseListeners) listener(target);
  }

  #changed<T>(result: T): T {
    this.definitionsChanged();
    return result;
  }

  #userAndVhostOrThrow(user: string, vhost: string): void {
    if (!this.users.has(user)) throw new BrokerError(NOT_FOUND, `no user '${user}'`);
    this.#vhostOrThrow(vhost);
  }

  #vhostOrThrow(name: string): VirtualHost {
    const vhost = this.vhosts.get(name);
    if (!vhost) throw new BrokerError(NOT_FOUND, `no vhost '${name}'`);
    return vhost;
  }

  createQueueStore(vhost: string, queue: string, durable: boolean, maxPriority = 0): QueueStore {
    if (maxPriority > 0) return this.messages.openPriority(vhost, queue, durable, maxPriority);
    return this.messages.open(vhost, queue, durable);
  }

  /** A durable queue's deduplication journal; the message store closes it at stop. */
  openDedupJournal(vhost: string, queue: string): DedupLog {
    return this.messages.openDedupLog(vhost, queue);
  }

  openDelayStore(vhost: string, exchange: string, durable: boolean, onDue: (message: Message) => void): DelayStore {
    return this.messages.openDelayStore(vhost, exchange, durable, onDue);
  }

  /** Shutdown (after the protocol front-ends closed): pending writes synced, files closed. */
  async close(): Promise<void> {
    // Stopped for good: no timer of this broker's queues may act later (an in-process restart on
    // the same data directory must not see a stale x-expires delete its queue from the definitions).
    this.#saveDefinitions(); // a change of this turn not saved yet
    this.#closed = true;
    for (const vhost of this.vhosts.values()) vhost.stopTimers();
    this.#retry = clearTimeoutIfAny(this.#retry);
    await this.messages.close();
  }

  /**
   * Users, vhosts, permissions or policies changed (rare, and callers in this process read the
   * file back): saved now, with any topology change still pending. A failed write (disk full, I/O
   * error) must not crash the broker or undo the change in memory: it is logged and retried until
   * it succeeds.
   */
  definitionsChanged(): void {
    if (this.#loading || this.#closed) return;
    this.#definitionsDirty = true;
    this.#saveDefinitions();
  }

  /**
   * A durable exchange, queue or binding changed: saved at the end of this event-loop turn, once
   * for every change made in it, and in any case before a reply leaves (write-barrier.ts), so a
   * client pipelining thousands of declares costs a few saves, not one each.
   */
  topologyChanged(): void {
    if (this.#loading || this.#closed || this.#definitionsDirty) return;
    this.#definitionsDirty = true;
    beforeNextReply(this.#saveDefinitions);
    process.nextTick(this.#saveDefinitions);
  }

  readonly #saveDefinitions = (): void => {
    if (!this.#definitionsDirty) return;
    this.#definitionsDirty = false;
    saved(this.#saveDefinitions);
    if (this.#closed) return;
    try {
      this.#definitions.save(this.#collectDefinitions());
      this.#retry = clearTimeoutIfAny(this.#retry);
    } catch (err) {
      log.error('could not write definitions; retrying', { path: this.#definitions.path, err });
      this.#retry ??= setTimeout(() => {
        this.#retry = undefined;
        this.topologyChanged();
      }, DEFINITIONS_RETRY_MS).unref();
    }
  };

  #collectDefinitions(): Definitions {
    const defs: Definitions = { vhosts: [], exchanges: [], queues: [], bindings: [], policies: [], ...collectAccess(this.users, this.permissions) };
    for (const vhost of this.vhosts.values()) {
      defs.vhosts.push(vhostDefinition(vhost));
      for (const p of vhost.listPolicies()) defs.policies.push(p.toJSON());
      for (const ex of vhost.exchanges.values()) {
        if (!ex.durable || ex.name === '' || ex.name.startsWith('amq.')) continue;
        defs.exchanges.push({ vhost: vhost.name, name: ex.name, type: ex.type, durable: true,
          auto_delete: ex.autoDelete, internal: ex.internal, arguments: ex.arguments });
      }
      for (const q of vhost.queues.values()) {
        if (!q.durable || q.exclusive) continue;
        defs.queues.push({ vhost: vhost.name, name: q.name, durable: true, auto_delete: q.autoDelete, arguments: q.arguments });
      }
      for (const ex of vhost.exchanges.values()) {
        if (!ex.durable) continue;
        for (const b of ex.bindings()) {
          const d = b.destination;
          const durable = d.kind === 'queue' ? d.durable && !d.exclusive : d.durable;
          if (!durable) continue;
          defs.bindings.push({ vhost: vhost.name, source: ex.name, destination: d.name, destination_type: d.kind,
            routing_key: b.routingKey, arguments: b.arguments });
        }
      }
    }
    return defs;
  }

  #restoreDefinitions(): void {
    const defs = this.#definitions.load();
    this.#loading = true;
    try {
      if (!defs) return this.#createDefaults();
      for (const v of defs.vhosts) this.#restoreVhost(v);
      restoreAccess(defs, this.users, this.permissions, this.vhosts);
      // Policies before exchanges and queues, so each gets its policy as it is declared.
      for (const p of defs.policies) this.#restorePolicy(p);
      for (const e of defs.exchanges) {
        this.vhosts.get(e.vhost)?.declareExchange(e.name, e.type,
          { durable: true, autoDelete: e.auto_delete, internal: e.internal, arguments: e.arguments }, false);
      }
      for (const q of defs.queues) {
        const options = { durable: true, exclusive: false, autoDelete: q.auto_delete, arguments: q.arguments };
        try {
          this.vhosts.get(q.vhost)?.declareQueue(q.name, options, false, null);
        } catch (err) {
          // Arguments stored by a version that did not validate them must not stop the start or
          // lose the queue's messages: it comes back without them.
          const valid = validArgumentsOnly(q.arguments);
          log.error('queue restored without its invalid arguments', { vhost: q.vhost, queue: q.name, kept: Object.keys(valid), err });
          try {
            this.vhosts.get(q.vhost)?.declareQueue(q.name, { ...options, arguments: valid }, false, null);
          } catch {
            this.vhosts.get(q.vhost)?.declareQueue(q.name, { ...options, arguments: {} }, false, null);
          }
        }
      }
      for (const b of defs.bindings) {
        const vhost = this.vhosts.get(b.vhost);
        const source = vhost?.exchanges.get(b.source);
        const dest = b.destination_type === 'queue' ? vhost?.queues.get(b.destination) : vhost?.exchanges.get(b.destination);
        if (vhost && source && dest) vhost.bind(source, dest, b.routing_key, b.arguments);
      }
    } finally {
      this.#loading = false;
    }
    if (!defs) return;
    log.info('definitions restored', { vhosts: defs.vhosts.length, users: this.users.list().length,
      exchanges: defs.exchanges.length, queues: defs.queues.length, bindings: defs.bindings.length, policies: defs.policies.length });
  }

  /** A fresh data directory: vhost '/' and guest/guest with full permissions on it, as RabbitMQ starts. */
  #createDefaults(): void {
    this.putVhost('/', { description: 'Default virtual host' });
    addGuest(this.users, this.permissions, ['/']);
  }

  #restoreVhost(v: VhostDefinition): void {
    this.putVhost(v.name, { description: v.description ?? v.metadata?.description,
      tags: v.tags ?? v.metadata?.tags, defaultQueueType: v.metadata?.default_queue_type, tracing: v.tracing === true });
  }

  /** A stored policy that no longer validates (a hand-edited file) is logged and skipped: the broker still starts. */
  #restorePolicy(p: PolicyDefinition): void {
    const vhost = this.vhosts.get(p.vhost);
    try {
      if (!vhost) throw new Error(`no vhost '${p.vhost}'`);
      vhost.setPolicy({ name: p.name, pattern: p.pattern, applyTo: p['apply-to'], priority: p.priority, definition: p.definition });
    } catch (err) {
      log.error('stored policy not restored', { vhost: p.vhost, policy: p.name, err });
    }
  }
}

/** The arguments of a stored queue that pass today's checks (deduplication's are dropped whole when any is bad). */
function validArgumentsOnly(args: FieldTable): FieldTable {
  const out: FieldTable = {};
  for (const [k, v] of Object.entries(args)) if (checkQueueArgument(k, v) === undefined) out[k] = v;
  try {
    parseDeduplicationArgs(out, '', '');
  } catch {
    for (const k of Object.keys(out)) if (k === 'x-message-deduplication' || k.startsWith('x-cache-')) delete out[k];
  }
  return out;
}

function vhostDefinition(v: VirtualHost): VhostDefinition {
  const metadata: NonNullable<VhostDefinition['metadata']> = { description: v.description, tags: v.tags };
  if (v.defaultQueueType !== undefined) metadata.default_queue_type = v.defaultQueueType;
  const def: VhostDefinition = { name: v.name, description: v.description, tags: v.tags, metadata };
  // Written only when on: the entry keeps RabbitMQ's definitions shape otherwise.
  if (v.trace.switchedOn) def.tracing = true;
  return def;
}
