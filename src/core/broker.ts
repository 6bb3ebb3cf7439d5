import type { DelayStore } from '../store/delayed/delay-store.js';
import type { QueueStore } from '../store/queue-store.js';
import type { MessageStoreOptions } from '../store/message-store.js';
import { MessageStore } from '../store/message-store.js';
import type { Definitions } from '../store/definitions-store.js';
import { DefinitionsStore } from '../store/definitions-store.js';
import { createLogger } from '../log.js';
import type { Message } from './message.js';
import type { ResourceAlarms } from './resource-alarms.js';
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

  createQueueStore(vhost: string, queue: string, durable: boolean): QueueStore {
    return this.messages.open(vhost, queue, durable);
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
    const defs: Definitions = { vhosts: [], exchanges: [], queues: [], bindings: [] };
    for (const vhost of this.vhosts.values()) {
      defs.vhosts.push({ name: vhost.name });
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
      for (const e of defs.exchanges) {
        this.vhosts.get(e.vhost)?.declareExchange(e.name, e.type,
          { durable: true, autoDelete: e.auto_delete, internal: e.internal, arguments: e.arguments }, false);
      }
      for (const q of defs.queues) {
        this.vhosts.get(q.vhost)?.declareQueue(q.name,
          { durable: true, exclusive: false, autoDelete: q.auto_delete, arguments: q.arguments }, false, null);
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
    log.info('definitions restored', { exchanges: defs.exchanges.length, queues: defs.queues.length, bindings: defs.bindings.length });
  }
}
