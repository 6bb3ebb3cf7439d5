import type { DelayStore } from '../store/delayed/delay-store.js';
import type { QueueStore } from '../store/queue-store.js';
import type { MessageStoreOptions } from '../store/message-store.js';
import { MessageStore } from '../store/message-store.js';
import type { DedupLog } from '../store/dedup-log.js';
import type { Definitions, PolicyDefinition } from '../store/definitions-store.js';
import { DefinitionsStore } from '../store/definitions-store.js';
import { createLogger } from '../log.js';
import { BrokerError } from './broker-error.js';
import type { Policy, PolicyInput } from './policy/policy.js';
import { NOT_FOUND } from './reply-codes.js';
import type { Message } from './message.js';
import type { ResourceAlarms } from './resource-alarms.js';
import { BrokerStats } from './stats/broker-stats.js';
import { UserRegistry } from './users.js';
import type { VhostHost } from './vhost.js';
import { VirtualHost } from './vhost.js';

const log = createLogger('broker');
const DEFINITIONS_RETRY_MS = 1000;

function clearTimeoutIfAny(t: NodeJS.Timeout | undefined): undefined {
  if (t) clearTimeout(t);
  return undefined;
}

export type BrokerOptions = MessageStoreOptions;

/**
 * The broker core: vhosts (each owning its exchanges, queues and bindings), users, and the
 * durable definitions. Protocol front-ends talk to it; it never imports a protocol.
 */
export class Broker implements VhostHost {
  readonly vhosts = new Map<string, VirtualHost>();
  readonly users = new UserRegistry();
  readonly messages: MessageStore;
  /** Message statistics and the registry of live connections (core/stats/). */
  readonly stats = new BrokerStats(this.vhosts);
  /** Memory and disk alarms (set by whoever runs the broker; absent in bare unit tests). */
  alarms: ResourceAlarms | undefined;
  readonly #definitions: DefinitionsStore;
  #loading = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(options: BrokerOptions) {
    this.#definitions = new DefinitionsStore(options.dataDir);
    this.messages = new MessageStore(options);
    this.vhosts.set('/', new VirtualHost('/', this));
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
    this.#retry = clearTimeoutIfAny(this.#retry);
    await this.messages.close();
  }

  /**
   * Durable topology changed: write it now. A failed write (disk full, I/O error) must not crash
   * the broker or undo the change in memory: it is logged and retried until it succeeds.
   */
  definitionsChanged(): void {
    if (this.#loading) return;
    try {
      this.#definitions.save(this.#collectDefinitions());
      this.#retry = clearTimeoutIfAny(this.#retry);
    } catch (err) {
      log.error('could not write definitions; retrying', { path: this.#definitions.path, err });
      this.#retry ??= setTimeout(() => {
        this.#retry = undefined;
        this.definitionsChanged();
      }, DEFINITIONS_RETRY_MS).unref();
    }
  }

  #collectDefinitions(): Definitions {
    const defs: Definitions = { vhosts: [], exchanges: [], queues: [], bindings: [], policies: [] };
    for (const vhost of this.vhosts.values()) {
      defs.vhosts.push({ name: vhost.name });
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
    if (!defs) return;
    this.#loading = true;
    try {
      for (const v of defs.vhosts) if (!this.vhosts.has(v.name)) this.vhosts.set(v.name, new VirtualHost(v.name, this));
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
          log.error('queue restored without its arguments: they are invalid', { vhost: q.vhost, queue: q.name, err });
          this.vhosts.get(q.vhost)?.declareQueue(q.name, { ...options, arguments: {} }, false, null);
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
    log.info('definitions restored', { exchanges: defs.exchanges.length, queues: defs.queues.length,
      bindings: defs.bindings.length, policies: defs.policies.length });
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
